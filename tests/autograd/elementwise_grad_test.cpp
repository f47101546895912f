// Gradients of every differentiable elementwise op, first and second order, over shapes with
// broadcasting and size-1 dims, against finite differences.
#include "autograd/gradcheck.h"

namespace kiln::test {
namespace {

using T = const std::vector<Tensor>&;

struct UnaryCase {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    double lo, hi;  ///< input range (away from kinks and poles)
};

const std::vector<UnaryCase>& unary_cases() {
    static const std::vector<UnaryCase> cases = {
        {"neg", [](const Tensor& x) { return -x; }, -3, 3},
        {"exp", [](const Tensor& x) { return x.exp(); }, -2, 2},
        {"log", [](const Tensor& x) { return x.log(); }, 0.5, 3},
        {"sqrt", [](const Tensor& x) { return x.sqrt(); }, 0.5, 3},
        {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, 0.5, 3},
        {"abs", [](const Tensor& x) { return x.abs(); }, 0.2, 3},
        {"abs of negatives", [](const Tensor& x) { return x.abs(); }, -3, -0.2},
        {"sin", [](const Tensor& x) { return x.sin(); }, -3, 3},
        {"cos", [](const Tensor& x) { return x.cos(); }, -3, 3},
        {"tanh", [](const Tensor& x) { return x.tanh(); }, -2, 2},
        {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, -3, 3},
        {"relu", [](const Tensor& x) { return x.relu(); }, -3, 3},
        {"silu", [](const Tensor& x) { return x.silu(); }, -3, 3},
        {"gelu", [](const Tensor& x) { return kiln::gelu(x); }, -3, 3},
        {"gelu tanh", [](const Tensor& x) { return kiln::gelu(x, "tanh"); }, -3, 3},
        {"reciprocal", [](const Tensor& x) { return x.reciprocal(); }, 0.5, 3},
        {"pow 3", [](const Tensor& x) { return x.pow(3); }, -2, 2},
        {"pow 0.5", [](const Tensor& x) { return x.pow(0.5); }, 0.5, 3},
        {"pow 2", [](const Tensor& x) { return x.pow(2); }, -2, 2},
        {"clamp", [](const Tensor& x) { return x.clamp(-1, 1); }, -3, 3},
        {"x * 2.5 - 1", [](const Tensor& x) { return x * 2.5 - 1; }, -3, 3},
        {"1 / x", [](const Tensor& x) { return 1.0 / x; }, 0.5, 3},
    };
    return cases;
}

/// Values in [lo, hi) whose distance to 0 and to ±1 (the kinks of relu, abs and clamp) is
/// larger than the finite-difference step.
Tensor away_from_kinks(const Shape& shape, double lo, double hi) {
    std::vector<double> v = uniform(shape, kFloat64, lo, hi).to_vector<double>();
    for (double& x : v)
        for (double kink : {-1.0, 0.0, 1.0})
            if (std::abs(x - kink) < 1e-3) x = kink + 2e-3;
    return make(v, shape, kFloat64);
}

const std::vector<Shape> kShapes = {{}, {1}, {5}, {2, 3}, {3, 1, 2}};

}  // namespace

TEST_CASE("elementwise unary gradients, first and second order", "[autograd][elementwise]") {
    for (const UnaryCase& c : unary_cases()) {
        for (const Shape& shape : kShapes) {
            Tensor x = away_from_kinks(shape, c.lo, c.hi);
            std::string what = std::string(c.name) + " " + desc(x);
            auto f = [&](T in) { return c.f(in[0]); };
            gradcheck(what, f, {x});
            gradgradcheck(what, f, {x});
        }
    }
}

TEST_CASE("casts pass gradients through in the other dtype", "[autograd][elementwise]") {
    // f32 rounds the perturbed inputs, so the step must be far above f32's resolution; the
    // function is linear in x, so a large step is exact.
    for (const Shape& shape : kShapes) {
        Tensor x = uniform(shape, kFloat64, -1, 1);
        gradcheck("f64 -> f32 -> f64 " + desc(x),
                  [](T in) { return (in[0].to(kFloat32) * 2).to(kFloat64); }, {x},
                  {1e-2, 1e-4, 1e-4});
    }
}

TEST_CASE("elementwise binary gradients with broadcasting", "[autograd][elementwise]") {
    struct Case {
        const char* name;
        std::function<Tensor(const Tensor&, const Tensor&)> f;
        double lo, hi;
    };
    const std::vector<Case> cases = {
        {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, -3, 3},
        {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, -3, 3},
        {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, -3, 3},
        {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, 0.5, 3},
        {"pow", [](const Tensor& a, const Tensor& b) { return a.pow(b); }, 0.5, 2},
        {"maximum", [](const Tensor& a, const Tensor& b) { return kiln::maximum(a, b); }, -3, 3},
        {"minimum", [](const Tensor& a, const Tensor& b) { return kiln::minimum(a, b); }, -3, 3},
        {"where", [](const Tensor& a, const Tensor& b) { return kiln::where(a > b, a * b, a - b); },
         -3, 3},
        {"a * a + b", [](const Tensor& a, const Tensor& b) { return a * a + b; }, -3, 3},
    };
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{}, {}}, {{4}, {4}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{3, 1, 2}, {}}, {{1}, {2, 2}}};
    for (const Case& c : cases) {
        for (const auto& [sa, sb] : shapes) {
            Tensor a = uniform(sa, kFloat64, c.lo, c.hi);
            Tensor b = uniform(sb, kFloat64, c.lo, c.hi);
            std::string what = std::string(c.name) + " " + desc(a) + " " + desc(b);
            auto f = [&](T in) { return c.f(in[0], in[1]); };
            gradcheck(what, f, {a, b});
            gradgradcheck(what, f, {a, b});
        }
    }
}

}  // namespace kiln::test
