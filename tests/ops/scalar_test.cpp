// Tensor∘scalar and scalar∘tensor arithmetic and comparisons with PyTorch's result dtypes, an
// explicit promotion table, and to(dtype) for every pair of dtypes.
#include <cmath>
#include <functional>
#include <limits>

#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// PyTorch's dtype for tensor∘scalar: a scalar never raises a tensor within its category; a
/// float scalar makes an integer/bool tensor f32 (the default dtype), an int scalar makes a
/// bool tensor i64.
DType with_scalar(DType t, const Scalar& s) {
    if (s.is_floating() && !is_floating(t)) return kFloat32;
    if (s.is_integral() && t == kBool) return kInt64;
    return t;
}

struct ScalarOp {
    std::string name;
    std::function<Tensor(const Tensor&, Scalar)> right;  ///< t ∘ s
    std::function<Tensor(Scalar, const Tensor&)> left;   ///< s ∘ t
    std::function<double(double, double)> ref;
};

const std::vector<ScalarOp>& scalar_ops() {
    static const std::vector<ScalarOp> ops = {
        {"+", [](const Tensor& t, Scalar s) { return t + s; },
         [](Scalar s, const Tensor& t) { return s + t; }, std::plus<double>()},
        {"-", [](const Tensor& t, Scalar s) { return t - s; },
         [](Scalar s, const Tensor& t) { return s - t; }, std::minus<double>()},
        {"*", [](const Tensor& t, Scalar s) { return t * s; },
         [](Scalar s, const Tensor& t) { return s * t; }, std::multiplies<double>()},
        {"/", [](const Tensor& t, Scalar s) { return t / s; },
         [](Scalar s, const Tensor& t) { return s / t; }, std::divides<double>()},
    };
    return ops;
}

std::string scalar_str(const Scalar& s) {
    switch (s.kind()) {
    case Scalar::Kind::Bool: return s.to_int() ? "true" : "false";
    case Scalar::Kind::Int: return std::to_string(s.to_int());
    case Scalar::Kind::Float: return std::to_string(s.to_double());
    }
    return "?";
}

}  // namespace

TEST_CASE("tensor∘scalar and scalar∘tensor: every dtype and scalar kind", "[ops][scalar]") {
    const std::vector<Scalar> scalars{Scalar(3),     Scalar(-2),   Scalar(2.5),
                                      Scalar(-0.75), Scalar(true), Scalar(false)};
    for (const ScalarOp& op : scalar_ops()) {
        for (DType dt : kAllDTypes) {
            for (const Scalar& s : scalars) {
                Tensor t = random_of({2, 3}, dt);
                DType out = with_scalar(dt, s);
                bool is_div = op.name == "/";
                if (is_div && !is_floating(out)) out = kFloat32;
                for (bool scalar_first : {false, true}) {
                    std::string what = scalar_first ? scalar_str(s) + " " + op.name + " " + desc(t)
                                                    : desc(t) + " " + op.name + " " + scalar_str(s);
                    auto run = [&] { return scalar_first ? op.left(s, t) : op.right(t, s); };
                    if (out == kBool && op.name == "-") {
                        CHECK_THROWS_AS(run(), TypeError);
                        continue;
                    }
                    RefTensor ht = host::cast(values_of(t), out);
                    double sv = out == kBool ? (s.to_int() != 0) : s.to_double();
                    RefTensor want = host::map(ht, out, [&](double x) {
                        if (out == kBool) {  // bool arithmetic is logic: + is or, * is and
                            bool a = x != 0, b = sv != 0;
                            return (op.name == "+" ? (a || b) : (a && b)) ? 1.0 : 0.0;
                        }
                        return scalar_first ? op.ref(sv, x) : op.ref(x, sv);
                    });
                    Tensor r = run();
                    CHECK(r.dtype() == out);
                    check(r, want, what);
                }
            }
        }
    }
}

TEST_CASE("tensor∘scalar on views, size 0 and rank 0", "[ops][scalar]") {
    Tensor x = uniform({4, 3});
    RefTensor hx = values_of(x);
    check(x.t() * 2 + 1,
          host::map(host::permute(hx, {1, 0}), kFloat32, [](double v) { return v * 2 + 1; }),
          "x.t() * 2 + 1");
    check(1.0 - x.slice(0, 1, 4, 2),
          host::map(host::slice(hx, 0, 1, 4, 2), kFloat32, [](double v) { return 1 - v; }),
          "1.0 - x.slice");
    check(uniform({0, 3}) * 5, ref(kFloat32, {0, 3}, {}), "size-0 * 5");
    Tensor r0 = make({4}, {}, kInt32);
    check(10 / r0, ref(kFloat32, {}, {2.5}), "10 / i32[]");
    check(r0 * r0 - 1, ref(kInt32, {}, {15}), "i32[] * i32[] - 1");
}

TEST_CASE("comparisons with a scalar: int, float and bool scalars", "[ops][compare]") {
    using Cmp = std::function<Tensor(const Tensor&, Scalar)>;
    using Ref = std::function<bool(double, double)>;
    const std::vector<std::tuple<std::string, Cmp, Ref>> ops = {
        {"==", [](const Tensor& a, Scalar s) { return a == s; }, std::equal_to<double>()},
        {"!=", [](const Tensor& a, Scalar s) { return a != s; }, std::not_equal_to<double>()},
        {"<", [](const Tensor& a, Scalar s) { return a < s; }, std::less<double>()},
        {"<=", [](const Tensor& a, Scalar s) { return a <= s; }, std::less_equal<double>()},
        {">", [](const Tensor& a, Scalar s) { return a > s; }, std::greater<double>()},
        {">=", [](const Tensor& a, Scalar s) { return a >= s; }, std::greater_equal<double>()},
    };
    for (const auto& [name, op, cmp] : ops) {
        bool all_cases = name == "==" || name == "<";  // the others: a sample
        for (DType dt : kAllDTypes) {
            for (Scalar s : {Scalar(1), Scalar(0.5), Scalar(-1.5), Scalar(true), Scalar(0)}) {
                if (!all_cases && !(s.is_floating() && s.to_double() > 0) && dt != kInt32) continue;
                // Values in {-2, -1.5, ..., 2}: ties with every scalar above.
                Tensor i = uniform({3, 5}, kInt32, -4, 4);
                std::vector<double> v = values_of(i).values;
                if (is_floating(dt))
                    for (double& x : v) x /= 2;
                Tensor t = dt == kBool ? random_of({3, 5}, kBool) : make(v, {3, 5}, dt);
                double sv = s.to_double();
                Tensor r = op(t, s);
                CHECK(r.dtype() == kBool);
                check(r,
                      host::map(values_of(t), kBool,
                                [&](double x) { return cmp(x, sv) ? 1.0 : 0.0; }),
                      desc(t) + " " + name + " " + scalar_str(s));
            }
        }
    }
}

TEST_CASE("promotion table (PyTorch's rules)", "[ops][promotion]") {
    Tensor f32 = uniform({2}, kFloat32), f64 = uniform({2}, kFloat64);
    Tensor i32 = uniform({2}, kInt32), i64 = uniform({2}, kInt64), b = random_of({2}, kBool);
    // tensor ∘ scalar
    CHECK((f32 + 2.0).dtype() == kFloat32);
    CHECK((f32 * 2).dtype() == kFloat32);
    CHECK((f64 + 2.0f).dtype() == kFloat64);
    CHECK((i64 * 3).dtype() == kInt64);
    CHECK((i32 * 3).dtype() == kInt32);
    CHECK((i32 * int64_t{3}).dtype() == kInt32);
    CHECK((i32 + 0.5).dtype() == kFloat32);
    CHECK((i64 + 0.5).dtype() == kFloat32);
    CHECK((i64 / 2).dtype() == kFloat32);
    CHECK((b + 1).dtype() == kInt64);
    CHECK((b + 1.5).dtype() == kFloat32);
    CHECK((b + true).dtype() == kBool);
    CHECK((b * 2).dtype() == kInt64);
    CHECK((2 - b).dtype() == kInt64);
    CHECK((i32 + true).dtype() == kInt32);
    CHECK((f32 > 1).dtype() == kBool);
    // tensor ∘ tensor
    CHECK((i32 / i32).dtype() == kFloat32);
    CHECK((i64 / i64).dtype() == kFloat32);
    CHECK((f64 / i64).dtype() == kFloat64);
    CHECK((b + i32).dtype() == kInt32);
    CHECK((b + b).dtype() == kBool);
    CHECK((b * b).dtype() == kBool);
    CHECK((b / b).dtype() == kFloat32);
    CHECK((i32 + i64).dtype() == kInt64);
    CHECK((i64 + f32).dtype() == kFloat32);
    CHECK((f32 + f64).dtype() == kFloat64);
    CHECK(maximum(i32, f32).dtype() == kFloat32);
    CHECK(where(b, i32, f64).dtype() == kFloat64);
    CHECK(where(b, b, b).dtype() == kBool);
    CHECK(pow(i32, 2.0).dtype() == kFloat32);  // a float exponent promotes (PyTorch)
    CHECK(pow(i32, 2).dtype() == kInt32);
    CHECK(pow(i64, -1.0).dtype() == kFloat32);
    CHECK(pow(b, 2).dtype() == kInt64);
    CHECK(clamp(i64, 0.5, 2).dtype() == kFloat32);
    CHECK(clamp(i64, 0, 2).dtype() == kInt64);
    CHECK(i32.clamp(-1, 1.5).dtype() == kFloat32);
    CHECK(pow(i32, 0.5).dtype() == kFloat32);
    CHECK(pow(f64, 2).dtype() == kFloat64);
    CHECK(pow(i32, f64).dtype() == kFloat64);
    CHECK(cat({i32, f32}).dtype() == kFloat32);
    CHECK(matmul(i32, f64).dtype() == kFloat64);
    // unary float math on integers computes in f32 (the default dtype)
    CHECK(exp(i64).dtype() == kFloat32);
    CHECK(sigmoid(b).dtype() == kFloat32);
    CHECK(gelu(i32).dtype() == kFloat32);
    CHECK(neg(i32).dtype() == kInt32);
    CHECK(abs(i64).dtype() == kInt64);
    CHECK(relu(i32).dtype() == kInt32);
    // reductions
    CHECK(i32.sum().dtype() == kInt64);
    CHECK(b.sum().dtype() == kInt64);
    CHECK(f32.sum().dtype() == kFloat32);
    CHECK(i32.amax({0}).dtype() == kInt32);
    CHECK(f32.argmax(0).dtype() == kInt64);
    CHECK(f64.mean().dtype() == kFloat64);
}

// A rank-0 tensor takes part in promotion like a scalar (torch.result_type): next to a
// dimensioned tensor it only counts when its category (bool < integer < float) is higher, and
// then with its own dtype (c10's combine_categories).
TEST_CASE("promotion: rank-0 tensors act like scalars", "[ops][promotion]") {
    Tensor f32 = uniform({3}, kFloat32), i32 = uniform({3}, kInt32), b = random_of({3}, kBool);
    Tensor f64_0 = make({2}, {}, kFloat64), i64_0 = make({2}, {}, kInt64), f32_0 = make({2}, {});
    Tensor i32_0 = make({2}, {}, kInt32);
    CHECK((f32 + f64_0).dtype() == kFloat32);
    CHECK((f64_0 * f32).dtype() == kFloat32);
    CHECK((i32 + i64_0).dtype() == kInt32);
    CHECK((i32 * f32_0).dtype() == kFloat32);  // a higher category still promotes
    CHECK((b + i64_0).dtype() == kInt64);
    CHECK((b + f32_0).dtype() == kFloat32);
    CHECK(maximum(f32, f64_0).dtype() == kFloat32);
    CHECK(where(b, i32, i64_0).dtype() == kInt32);
    CHECK((i32 > f64_0).dtype() == kBool);
    // Two rank-0 tensors promote normally.
    CHECK((f32_0 + f64_0).dtype() == kFloat64);
    // A higher category keeps the rank-0 tensor's own dtype, not the default one.
    CHECK((i32 + f64_0).dtype() == kFloat64);
    CHECK((b + i32_0).dtype() == kInt32);
    CHECK((b * f64_0).dtype() == kFloat64);
    CHECK(where(b, i32, f64_0).dtype() == kFloat64);
    check(i32 + f64_0,
          host::map(host::cast(values_of(i32), kFloat64), kFloat64, [](double v) { return v + 2; }),
          "i32[3] + f64[]");
}

TEST_CASE("to(dtype) for every pair of dtypes", "[ops][cast]") {
    const double nan = std::nan("");
    for (DType from : kAllDTypes) {
        for (DType to : kAllDTypes) {
            Tensor x;
            if (is_floating(from)) {
                // Fractions truncate toward zero; 0 and -0 become false; |x| < 1 becomes 0.
                x = make({-2.75, -1.5, -0.5, -0.0, 0.0, 0.25, 0.999, 1.5, 7.9, 1e6 + 0.5}, {10},
                         from);
            } else if (from == kBool) {
                x = random_of({10}, kBool);
            } else {
                x = make({-2147483648.0, -7, -1, 0, 1, 2, 9, 16777217, 2147483647, 123456789}, {10},
                         from);
            }
            check(x.to(to), host::cast(values_of(x), to),
                  std::string(dtype_name(from)) + ".to(" + dtype_name(to) + ")");
            // The same cast of a non-contiguous view.
            Tensor m = make(values_of(x).values, {2, 5}, from);
            check(m.t().to(to), host::cast(host::permute(values_of(m), {1, 0}), to),
                  std::string(dtype_name(from)) + "[5,2 view].to(" + dtype_name(to) + ")");
        }
    }
    // Special floats: NaN and inf to bool are true; f64 -> f32 rounds and overflows to inf.
    for (DType from : kFloats) {
        Tensor s = make({nan, kInf, -kInf, 1e-50, 3.4028235677973366e38}, {5}, kFloat64).to(from);
        check(s.to(kBool), ref(kBool, {5}, {1, 1, 1, from == kFloat64 ? 1.0 : 0.0, 1}),
              std::string(dtype_name(from)) + " special .to(bool)");
    }
    Tensor big = make({1e39, -1e39, 1.0000000001, 16777217}, {4}, kFloat64);
    check(big.to(kFloat32), ref(kFloat32, {4}, {kInf, -kInf, 1, 16777216}), "f64 -> f32 rounding");
    Tensor i64 = kiln::tensor(
        std::vector<int64_t>{4294967296 + 5, -4294967296 - 1, 2147483648, (int64_t{1} << 40) + 1},
        {4});
    check(i64.to(kInt32), ref(kInt32, {4}, {5, -1, -2147483648.0, 1}), "i64 -> i32 wraps");
    check(i64.to(kFloat64),
          ref(kFloat64, {4}, {4294967301, -4294967297, 2147483648, 1099511627777.0}), "i64 -> f64");
    check(i64.to(kInt64), values_of(i64), "to(same dtype)");
}

TEST_CASE("item and to_vector read computed values of every dtype; to(kCPU)", "[ops][cast]") {
    Tensor x = make({1.5, -2.5, 4}, {3}, kFloat64);
    CHECK(x.sum().to(kFloat32).item<float>() == 3.0f);
    CHECK(x.sum().item<double>() == 3.0);
    CHECK((x * 2).to(kInt32).sum().to(kInt32).item<int32_t>() == 6);
    CHECK(x.to(kInt64).sum().item<int64_t>() == 3);
    CHECK((x > 0).to_vector<bool>() == std::vector<bool>{true, false, true});
    CHECK((x > 100).sum().item<int64_t>() == 0);
    CHECK((x.amax({0}) == 4).item<bool>());
    CHECK(x.to(kCPU).device() == Device(kCPU));
    check(x.to(kCPU) + 1, ref(kFloat64, {3}, {2.5, -1.5, 5}), "to(kCPU) keeps the values");
}
