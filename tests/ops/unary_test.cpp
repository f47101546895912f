// Unary elementwise ops (and gelu, pow with a scalar exponent, clamp) for every dtype, on
// several shapes (rank 0, size 0, size 1) and on non-contiguous views, against the reference
// interpreter and against the C library on the host.
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include <catch2/catch.hpp>

#include "check.h"
#include "frontend/tensor_impl.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct UnaryCase {
    std::string name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
    double lo, hi;       ///< input domain for float inputs
    bool keeps_integer;  ///< neg/abs/relu keep an integer dtype (and refuse bool)
};

double gelu_erf(double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); }
double gelu_tanh(double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
}
double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }

const std::vector<UnaryCase>& unary_cases() {
    static const std::vector<UnaryCase> cases = {
        {"neg", [](const Tensor& x) { return neg(x); }, [](double v) { return -v; }, -5, 5, true},
        {"abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::fabs(v); }, -5,
         5, true},
        {"relu", [](const Tensor& x) { return relu(x); },
         [](double v) { return std::isnan(v) || v > 0 ? v : 0.0; }, -5, 5, true},
        {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }, -20,
         20, false},
        {"log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); }, 1e-3,
         100, false},
        {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, 0,
         100, false},
        {"rsqrt", [](const Tensor& x) { return rsqrt(x); },
         [](double v) { return 1 / std::sqrt(v); }, 1e-2, 100, false},
        {"sin", [](const Tensor& x) { return sin(x); }, [](double v) { return std::sin(v); }, -10,
         10, false},
        {"cos", [](const Tensor& x) { return cos(x); }, [](double v) { return std::cos(v); }, -10,
         10, false},
        {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); },
         -10, 10, false},
        {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -20, 20, false},
        {"silu", [](const Tensor& x) { return silu(x); },
         [](double v) { return v * sigmoid_ref(v); }, -10, 10, false},
        {"reciprocal", [](const Tensor& x) { return reciprocal(x); },
         [](double v) { return 1 / v; }, 0.1, 10, false},
        {"gelu", [](const Tensor& x) { return gelu(x); }, gelu_erf, -6, 6, false},
        {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, gelu_tanh, -6, 6, false},
    };
    return cases;
}

/// Values in [lo, hi) with random signs where the domain allows negative inputs of the same
/// magnitude (reciprocal), else plain uniform.
Tensor domain_input(const UnaryCase& c, const Shape& shape, DType dtype) {
    if (!is_floating(dtype)) return random_of(shape, dtype);
    std::uniform_real_distribution<double> d(c.lo, c.hi);
    std::bernoulli_distribution sign(0.5);
    std::vector<double> v(static_cast<size_t>(ir::numel(shape)));
    for (double& x : v) {
        x = d(rng());
        if (c.name == "reciprocal" && sign(rng())) x = -x;
    }
    return make(v, shape, dtype);
}

/// The expected result of a unary case on `x` (dtype rules included).
RefTensor expect_unary(const UnaryCase& c, const Tensor& x) {
    DType out = (c.keeps_integer || is_floating(x.dtype())) ? x.dtype() : kFloat32;
    RefTensor in = values_of(x);
    if (out == kFloat32 && !is_floating(x.dtype())) in = host::cast(in, kFloat32);
    return host::map(in, out, c.ref);
}

const std::vector<Shape> kShapes{{}, {0}, {1}, {7}, {3, 5}, {2, 1, 33}, {2, 0, 3}};

}  // namespace

TEST_CASE("unary float math on f32 and f64, all shapes", "[ops][unary]") {
    for (const UnaryCase& c : unary_cases()) {
        for (DType dt : kFloats) {
            for (const Shape& s : kShapes) {
                Tensor x = domain_input(c, s, dt);
                // Long polynomial chains (gelu, silu) get a little more room.
                check(c.op(x), expect_unary(c, x), c.name + "(" + desc(x) + ")", Tol{2});
            }
        }
    }
}

TEST_CASE("unary ops on integer and bool inputs", "[ops][unary]") {
    for (const UnaryCase& c : unary_cases()) {
        for (DType dt : {kInt32, kInt64, kBool}) {
            Tensor x = domain_input(c, {4, 6}, dt);
            std::string what = c.name + "(" + desc(x) + ")";
            if (c.keeps_integer && dt == kBool) {
                CHECK_THROWS_AS(c.op(x), TypeError);
                continue;
            }
            // Integer inputs include 0 and negatives: log/sqrt/reciprocal give NaN and inf.
            check(c.op(x), expect_unary(c, x), what);
        }
    }
}

TEST_CASE("unary ops on non-contiguous views", "[ops][unary][views]") {
    for (const UnaryCase& c : unary_cases()) {
        Tensor x = domain_input(c, {5, 3}, kFloat32);
        RefTensor hx = values_of(x);
        auto expect = [&](const RefTensor& in) { return host::map(in, kFloat32, c.ref); };
        check(c.op(x.t()), expect(host::permute(hx, {1, 0})), c.name + "(x.t())");
        check(c.op(x.slice(0, 1, 5, 2)), expect(host::slice(hx, 0, 1, 5, 2)),
              c.name + "(x.slice(0,1,5,2))");
        check(c.op(x.flip({0, 1})), expect(host::flip(hx, {0, 1})), c.name + "(x.flip)");
        Tensor row = x.narrow(0, 2, 1);
        check(c.op(row.expand({4, 3})), expect(host::expand(host::slice(hx, 0, 2, 3), {4, 3})),
              c.name + "(row.expand)");
        // A permuted view that is then reshaped crosses the layout (div/mod indexing).
        Tensor y = domain_input(c, {2, 3, 4}, kFloat64);
        check(c.op(y.permute({2, 0, 1}).reshape({4, 6})),
              host::map(host::reshape(host::permute(values_of(y), {2, 0, 1}), {4, 6}), kFloat64,
                        c.ref),
              c.name + "(y.permute.reshape)");
    }
}

TEST_CASE("methods record the same graph as the free functions", "[ops][unary]") {
    Tensor x = uniform({3}, kFloat32, 0.5, 2);
    auto same = [](const Tensor& a, const Tensor& b) {
        return a.impl()->node() == b.impl()->node();
    };
    CHECK(same(x.neg(), neg(x)));
    CHECK(same(x.exp(), exp(x)));
    CHECK(same(x.log(), log(x)));
    CHECK(same(x.sqrt(), sqrt(x)));
    CHECK(same(x.rsqrt(), rsqrt(x)));
    CHECK(same(x.abs(), abs(x)));
    CHECK(same(x.sin(), sin(x)));
    CHECK(same(x.cos(), cos(x)));
    CHECK(same(x.tanh(), tanh(x)));
    CHECK(same(x.sigmoid(), sigmoid(x)));
    CHECK(same(x.relu(), relu(x)));
    CHECK(same(x.silu(), silu(x)));
    CHECK(same(x.reciprocal(), reciprocal(x)));
    CHECK(same(x.pow(3.0), pow(x, 3.0)));
    CHECK(same(x.pow(x), pow(x, x)));
    CHECK(same(x.clamp(0.7, 1.5), clamp(x, 0.7, 1.5)));
    CHECK(same(-x, neg(x)));
}

TEST_CASE("unary special values: NaN, inf, signed zero, overflow", "[ops][unary][special]") {
    const double nan = std::nan("");
    std::vector<double> v{nan, kInf, -kInf, 0.0, -0.0, 1e30, -1e30, 100, -100, 1e-30};
    for (DType dt : kFloats) {
        Tensor x = make(v, {10}, dt);
        RefTensor hx = values_of(x);
        for (const UnaryCase& c : unary_cases()) {
            // Both the reference and the host model follow the C library on special values.
            // sin/cos of 1e30 need a full-precision argument reduction: left to the wide-range
            // test below, which stops at |x| <= 1000.
            bool trig = c.name == "sin" || c.name == "cos";
            Tensor in = trig ? x.slice(0, 0, 5) : x;
            RefTensor hin = trig ? host::slice(hx, 0, 0, 5) : hx;
            check(c.op(in), host::map(hin, dt, c.ref), c.name + " on special values " + desc(x));
        }
    }
}

TEST_CASE("exp and tanh across the f32 range (overflow to inf, underflow to 0)",
          "[ops][unary][special]") {
    Tensor x = uniform({4096}, kFloat32, -120, 120);
    check(exp(x), host::map(values_of(x), kFloat32, [](double v) { return std::exp(v); }),
          "exp wide range");
    check(tanh(x), host::map(values_of(x), kFloat32, [](double v) { return std::tanh(v); }),
          "tanh wide range");
    check(sigmoid(x), host::map(values_of(x), kFloat32, sigmoid_ref), "sigmoid wide range");
    Tensor big = uniform({4096}, kFloat32, -1000, 1000);
    check(sin(big), host::map(values_of(big), kFloat32, [](double v) { return std::sin(v); }),
          "sin of |x| <= 1000");
    check(cos(big), host::map(values_of(big), kFloat32, [](double v) { return std::cos(v); }),
          "cos of |x| <= 1000");
    Tensor pos = uniform({4096}, kFloat32, 1e-30f, 1e30f);
    check(log(pos), host::map(values_of(pos), kFloat32, [](double v) { return std::log(v); }),
          "log wide range");
}

TEST_CASE("pow with a scalar exponent: every form and dtype", "[ops][unary][pow]") {
    // Float exponents (2.0) and integer ones (2): PyTorch's promotion decides the dtype.
    std::vector<Scalar> exponents{0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, 2.5, -0.5, 0, 1, 2, 3};
    for (const Scalar& e : exponents) {
        for (DType dt : kAllDTypes) {
            Tensor x = is_floating(dt)
                           ? uniform({3, 4}, dt, 0.1, 4)
                           : (dt == kBool ? random_of({3, 4}, dt) : uniform({3, 4}, dt, -5, 5));
            DType out = is_floating(dt)   ? dt
                        : e.is_floating() ? kFloat32
                        : dt == kBool     ? kInt64
                                          : dt;
            RefTensor in = host::cast(values_of(x), out);
            double v = e.to_double();
            RefTensor want = host::map(in, out, [v](double a) { return std::pow(a, v); });
            Tensor got = pow(x, e);
            CHECK(got.dtype() == out);
            check(got, want, "pow(" + desc(x) + ", " + std::to_string(v) + ")");
        }
    }
}

TEST_CASE("pow of integers to negative exponents: float results, or refused", "[ops][unary][pow]") {
    Tensor i = kiln::tensor(std::vector<int32_t>{-3, -2, -1, 1, 2, 3}, {6});
    // A float exponent computes in f32, as PyTorch does: [1/-3, 1/-2, -1, 1, 1/2, 1/3].
    check(pow(i, -1.0), ref(kFloat32, {6}, {-1.0 / 3, -0.5, -1, 1, 0.5, 1.0 / 3}),
          "pow(i32, -1.0)");
    check(pow(i, -2.0), ref(kFloat32, {6}, {1.0 / 9, 0.25, 1, 1, 0.25, 1.0 / 9}), "pow(i32, -2.0)");
    // A tensor exponent keeps Kiln's integer semantics (ir/interpreter.h): trunc(1 / a^-b).
    Tensor z = kiln::tensor(std::vector<int32_t>{-3, -2, -1, 0, 1, 2, 3}, {7});
    Tensor e = kiln::tensor(std::vector<int64_t>{-1, -2, -3, -1, -4, -1, 2}, {7});
    check(pow(z, e), ref(kInt64, {7}, {0, 0, -1, 0, 1, 0, 9}), "pow(i32, i64 tensor)");
}

TEST_CASE("clamp: floats, integers, NaN, bounds that make an int tensor float",
          "[ops][unary][clamp]") {
    for (DType dt : kNumeric) {
        Tensor x = random_of({5, 4}, dt);
        DType out = dt;
        check(
            clamp(x, -2, 3),
            host::map(values_of(x), out, [](double v) { return std::min(std::max(v, -2.0), 3.0); }),
            "clamp(" + desc(x) + ", -2, 3)");
        check(x.t().clamp(0, 0),
              host::map(host::permute(values_of(x), {1, 0}), out, [](double) { return 0.0; }),
              "clamp(x.t(), 0, 0)");
    }
    Tensor i = uniform({6}, kInt32, -5, 5);
    Tensor c = clamp(i, -1.5, 2.5);
    CHECK(c.dtype() == kFloat32);
    check(c,
          host::map(host::cast(values_of(i), kFloat32), kFloat32,
                    [](double v) { return std::min(std::max(v, -1.5), 2.5); }),
          "clamp(i32, -1.5, 2.5)");
    Tensor f = make({std::nan(""), -kInf, kInf, 0.5}, {4});
    check(clamp(f, -1, 1), ref(kFloat32, {4}, {std::nan(""), -1, 1, 0.5}), "clamp propagates NaN");
}
