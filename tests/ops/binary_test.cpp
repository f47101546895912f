// Binary elementwise ops and comparisons: tensor∘tensor for every dtype pair (PyTorch's
// promotion), with broadcasting, size-0/size-1/rank-0 shapes and non-contiguous operands;
// maximum/minimum, pow(tensor, tensor) and where.
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

/// PyTorch's promotion of two tensor dtypes (written out here so the test does not trust
/// kiln::promote_types): bool < i32 < i64 < f32 < f64.
DType promoted(DType a, DType b) {
    auto rank = [](DType t) {
        switch (t) {
        case kBool: return 0;
        case kInt32: return 1;
        case kInt64: return 2;
        case kFloat32: return 3;
        case kFloat64: return 4;
        }
        return -1;
    };
    return rank(a) >= rank(b) ? a : b;
}

/// torch.result_type of two tensors: next to a dimensioned tensor, a rank-0 tensor only counts
/// when its category (bool < integer < float) is higher, and then by its own dtype
/// (c10's combine_categories): i32[3] + i64[] is i32, i32[3] + f64[] is f64, f32[3] + f64[]
/// is f32, bool[3] + i32[] is i32.
DType result_type(const RefTensor& a, const RefTensor& b) {
    bool za = a.shape.empty(), zb = b.shape.empty();
    if (za == zb) return promoted(a.dtype, b.dtype);
    DType dim = za ? b.dtype : a.dtype, zero = za ? a.dtype : b.dtype;
    if (is_floating(dim)) return dim;
    if (dim == kBool || is_floating(zero)) return promoted(dim, zero);
    return dim;
}

/// Wraps an exact integer result to the width of `t` (two's complement), as Kiln's ints do.
double wrap_to(double v, DType t) {
    if (t == kInt32) return static_cast<int32_t>(static_cast<uint32_t>(static_cast<int64_t>(v)));
    return v;
}

struct BinaryCase {
    std::string name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    std::function<double(double, double)> ref;
    /// What the op does on bool operands: "or", "and", "float" (true division) or "error".
    std::string on_bool;
};

double nan_max(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double nan_min(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }

const std::vector<BinaryCase>& binary_cases() {
    static const std::vector<BinaryCase> cases = {
        {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, std::plus<double>(), "or"},
        {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, std::minus<double>(),
         "error"},
        {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, std::multiplies<double>(),
         "and"},
        {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, std::divides<double>(),
         "float"},
        {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, nan_max, "or"},
        {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, nan_min, "and"},
    };
    return cases;
}

/// The expected result of a binary case (PyTorch's dtype rules, then the op in double).
RefTensor expect_binary(const BinaryCase& c, const RefTensor& a, const RefTensor& b) {
    DType out = result_type(a, b);
    if (c.name == "div" && !is_floating(out)) out = kFloat32;
    if (out == kBool) {
        bool is_or = c.on_bool == "or";
        return host::zip(a, b, kBool, [is_or](double x, double y) {
            bool r = is_or ? (x != 0 || y != 0) : (x != 0 && y != 0);
            return r ? 1.0 : 0.0;
        });
    }
    RefTensor ca = host::cast(a, out), cb = host::cast(b, out);
    return host::zip(ca, cb, out, [&](double x, double y) { return wrap_to(c.ref(x, y), out); });
}

struct ShapePair {
    Shape a, b;
};
const std::vector<ShapePair> kBroadcastShapes{
    {{3, 4}, {3, 4}}, {{3, 4}, {4}},    {{3, 1}, {1, 4}}, {{2, 1, 4}, {3, 1}},
    {{}, {3}},        {{5}, {}},        {{}, {}},         {{0, 3}, {3}},
    {{1}, {5, 1}},    {{2, 0}, {1, 1}}, {{1, 1, 1}, {7}}, {{4, 1, 3}, {1, 2, 1}},
};

}  // namespace

TEST_CASE("binary arithmetic: every dtype pair (promotion, bool as logic)", "[ops][binary]") {
    for (const BinaryCase& c : binary_cases()) {
        for (DType da : kAllDTypes) {
            for (DType db : kAllDTypes) {
                Tensor a = random_of({3, 4}, da);
                Tensor b = random_of({4}, db);
                std::string what = c.name + "(" + desc(a) + ", " + desc(b) + ")";
                if (promoted(da, db) == kBool && c.on_bool == "error") {
                    CHECK_THROWS_AS(c.op(a, b), TypeError);
                    continue;
                }
                // Integer division by zero becomes inf/NaN: int / int is true division in f32.
                check(c.op(a, b), expect_binary(c, values_of(a), values_of(b)), what);
            }
        }
    }
}

TEST_CASE("binary arithmetic: broadcasting, size 0 and 1, rank 0", "[ops][binary]") {
    for (const BinaryCase& c : binary_cases()) {
        for (const ShapePair& sp : kBroadcastShapes) {
            for (DType dt : {kFloat32, kInt64}) {
                Tensor a = random_of(sp.a, dt);
                Tensor b = random_of(sp.b, dt == kFloat32 ? kFloat32 : kInt32);
                check(c.op(a, b), expect_binary(c, values_of(a), values_of(b)),
                      c.name + "(" + desc(a) + ", " + desc(b) + ")");
                check(c.op(b, a), expect_binary(c, values_of(b), values_of(a)),
                      c.name + "(" + desc(b) + ", " + desc(a) + ")");
            }
        }
    }
}

TEST_CASE("binary arithmetic on non-contiguous operands", "[ops][binary][views]") {
    for (const BinaryCase& c : binary_cases()) {
        Tensor x = random_of({4, 6}, kFloat32);
        Tensor y = random_of({6, 4}, kFloat64);
        RefTensor hx = values_of(x), hy = values_of(y);
        check(c.op(x, y.t()), expect_binary(c, hx, host::permute(hy, {1, 0})),
              c.name + "(x, y.t())");
        check(c.op(x.slice(1, 1, 6, 2), y.slice(0, 0, 6, 2).t()),
              expect_binary(c, host::slice(hx, 1, 1, 6, 2),
                            host::permute(host::slice(hy, 0, 0, 6, 2), {1, 0})),
              c.name + "(x.slice, y.slice.t)");
        check(c.op(x.flip({1}), x), expect_binary(c, host::flip(hx, {1}), hx),
              c.name + "(x.flip, x)");
        Tensor col = x.narrow(1, 3, 1);  // [4,1] view
        check(c.op(col.expand({4, 4}), col.t()),
              expect_binary(c, host::expand(host::slice(hx, 1, 3, 4), {4, 4}),
                            host::permute(host::slice(hx, 1, 3, 4), {1, 0})),
              c.name + "(col.expand, col.t())");
        // The same tensor on both sides (one load, or two of the same buffer).
        check(c.op(x, x), expect_binary(c, hx, hx), c.name + "(x, x)");
    }
}

TEST_CASE("integer arithmetic wraps at the dtype's width", "[ops][binary]") {
    Tensor a = kiln::tensor(std::vector<int32_t>{2147483647, -2147483647 - 1, 100000, -7}, {4});
    Tensor b = kiln::tensor(std::vector<int32_t>{1, -1, 100000, 3}, {4});
    check(a + b, ref(kInt32, {4}, {-2147483648.0, 2147483647.0, 200000, -4}), "i32 add wraps");
    check(a * b, ref(kInt32, {4}, {2147483647, -2147483648.0, 1410065408, -21}), "i32 mul wraps");
    check(a - b, ref(kInt32, {4}, {2147483646, -2147483647, 0, -10}), "i32 sub");
    check(-a, ref(kInt32, {4}, {-2147483647, -2147483648.0, -100000, 7}), "i32 neg wraps");
    Tensor c = kiln::tensor(std::vector<int64_t>{std::numeric_limits<int64_t>::max(), 5}, {2});
    check(c + c, ref(kInt64, {2}, {-2, 10}), "i64 add wraps");
}

TEST_CASE("maximum/minimum propagate NaN; division by zero gives inf/NaN",
          "[ops][binary][special]") {
    const double nan = std::nan("");
    for (DType dt : kFloats) {
        Tensor a = make({nan, 1, nan, -kInf, 2, 0, -1, 0}, {8}, dt);
        Tensor b = make({1, nan, nan, 3, kInf, 0, 0, -0.0}, {8}, dt);
        check(maximum(a, b), ref(dt, {8}, {nan, nan, nan, 3, kInf, 0, 0, 0}), "maximum NaN");
        check(minimum(a, b), ref(dt, {8}, {nan, nan, nan, -kInf, 2, 0, -1, 0}), "minimum NaN");
        check(a / b, ref(dt, {8}, {nan, nan, nan, -kInf, 0, nan, -kInf, nan}), "div by zero");
        check(a + b, ref(dt, {8}, {nan, nan, nan, -kInf, kInf, 0, -1, 0}), "add special");
        check(a * b, ref(dt, {8}, {nan, nan, nan, -kInf, kInf, 0, -0.0, -0.0}), "mul special");
    }
}

TEST_CASE("pow(tensor, tensor): floats, integers, mixed dtypes, broadcasting",
          "[ops][binary][pow]") {
    auto pw = [](double x, double y) { return std::pow(x, y); };
    for (DType da : kNumeric) {
        for (DType db : kNumeric) {
            Tensor a = is_floating(da) ? uniform({3, 4}, da, 0.1, 3) : uniform({3, 4}, da, -4, 4);
            Tensor b = is_floating(db) ? uniform({4}, db, -3, 3) : uniform({4}, db, 0, 5);
            DType out = promoted(da, db);
            RefTensor want =
                host::zip(host::cast(values_of(a), out), host::cast(values_of(b), out), out,
                          [&](double x, double y) { return wrap_to(pw(x, y), out); });
            // x^y = exp(y log x): the relative error grows with |y log x|.
            check(pow(a, b), want, "pow(" + desc(a) + ", " + desc(b) + ")", Tol{4});
        }
    }
    Tensor neg = make({-2, -2, -8, 0, 0, 1, -1, 4}, {8}, kFloat32);
    Tensor e = make({2, 3, 1.0 / 3, 0, -1, 1e9, 0.5, -0.5}, {8}, kFloat32);
    check(pow(neg, e), host::zip(values_of(neg), values_of(e), kFloat32, pw),
          "pow C special cases");
    Tensor wide = kiln::tensor(std::vector<int64_t>{3, -2, 10, 2}, {4});
    Tensor ex = kiln::tensor(std::vector<int64_t>{39, 63, 19, 64}, {4});
    check(pow(wide, ex),
          ref(kInt64, {4},
              {4052555153018976267.0, -9223372036854775808.0, 1e19 - 18446744073709551616.0, 0}),
          "i64 pow wraps");
}

TEST_CASE("where: promotion of a and b, three-way broadcasting, views", "[ops][where]") {
    for (DType da : kAllDTypes) {
        for (DType db : kAllDTypes) {
            Tensor c = random_of({3, 1}, kBool);
            Tensor a = random_of({4}, da);
            Tensor b = random_of({2, 1, 1}, db);
            DType out = promoted(da, db);
            RefTensor want = host::zip3(
                values_of(c), host::cast(values_of(a), out), host::cast(values_of(b), out), out,
                [](double k, double x, double y) { return k != 0 ? x : y; });
            check(where(c, a, b), want, "where(" + desc(c) + ", " + desc(a) + ", " + desc(b) + ")");
        }
    }
    Tensor x = uniform({4, 5});
    Tensor y = uniform({5, 4});
    RefTensor hx = values_of(x), hy = values_of(y);
    Tensor cond = x > y.t();
    check(where(cond, x, y.t()),
          host::zip(hx, host::permute(hy, {1, 0}), kFloat32,
                    [](double p, double q) { return p > q ? p : q; }),
          "where(x > y.t(), x, y.t())");
    Tensor s = make({1.5}, {}, kFloat64);
    // A rank-0 f64 branch next to a dimensioned f32 one gives f32 (torch.result_type).
    check(where(make({1, 0, 1}, {3}, kBool), s, make({}, {0, 3}, kFloat32)),
          ref(kFloat32, {0, 3}, {}), "where with size-0 branch");
    check(where(make({0}, {}, kBool), s.to(kFloat32), make({-1, -2}, {2}, kFloat64)),
          ref(kFloat64, {2}, {-1, -2}), "where rank-0 cond");
}

TEST_CASE("comparisons: tensor∘tensor for every dtype pair, ties included", "[ops][compare]") {
    using Cmp = std::function<Tensor(const Tensor&, const Tensor&)>;
    using Ref = std::function<bool(double, double)>;
    const std::vector<std::tuple<std::string, Cmp, Ref>> ops = {
        {"==", [](const Tensor& a, const Tensor& b) { return a == b; }, std::equal_to<double>()},
        {"!=", [](const Tensor& a, const Tensor& b) { return a != b; },
         std::not_equal_to<double>()},
        {"<", [](const Tensor& a, const Tensor& b) { return a < b; }, std::less<double>()},
        {"<=", [](const Tensor& a, const Tensor& b) { return a <= b; }, std::less_equal<double>()},
        {">", [](const Tensor& a, const Tensor& b) { return a > b; }, std::greater<double>()},
        {">=", [](const Tensor& a, const Tensor& b) { return a >= b; },
         std::greater_equal<double>()},
    };
    // Small integers in every dtype, so that equal values (ties) are frequent.
    auto tied = [](const Shape& s, DType dt) {
        Tensor i = uniform(s, kInt32, -2, 2);
        return dt == kBool ? random_of(s, kBool) : make(values_of(i).values, s, dt);
    };
    for (const auto& [name, op, cmp] : ops) {
        // Every dtype pair for == and < (the IR's eq and lt); a sample for the others, which
        // are the same IR ops with swapped or negated operands.
        bool all_pairs = name == "==" || name == "<";
        for (DType da : kAllDTypes) {
            for (DType db : kAllDTypes) {
                if (!all_pairs && da != db && !(da == kInt32 && db == kFloat64)) continue;
                Tensor a = tied({4, 5}, da);
                Tensor b = tied({5}, db);
                RefTensor want =
                    host::zip(values_of(a), values_of(b), kBool,
                              [&](double x, double y) { return cmp(x, y) ? 1.0 : 0.0; });
                check(op(a, b), want, "(" + desc(a) + " " + name + " " + desc(b) + ")");
            }
        }
        const double nan = std::nan("");
        Tensor p = make({nan, nan, 1, kInf, -kInf, 0.0}, {6});
        Tensor q = make({nan, 1, nan, kInf, kInf, -0.0}, {6});
        check(op(p, q),
              host::zip(values_of(p), values_of(q), kBool,
                        [&](double x, double y) { return cmp(x, y) ? 1.0 : 0.0; }),
              "NaN/inf/signed zero " + name);
        Tensor x = uniform({3, 4});
        check(op(x.t(), x.t().flip({0})),
              host::zip(host::permute(values_of(x), {1, 0}),
                        host::flip(host::permute(values_of(x), {1, 0}), {0}), kBool,
                        [&](double u, double v) { return cmp(u, v) ? 1.0 : 0.0; }),
              "views " + name);
    }
}
