#include "autograd/gradcheck.h"

#include <cmath>

#include <fmt/format.h>

namespace kiln::test {
namespace {

std::vector<Tensor> fresh_leaves(const std::vector<std::vector<double>>& values,
                                 const std::vector<Tensor>& like) {
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < like.size(); ++i)
        leaves.push_back(kiln::tensor(values[i], like[i].sizes(), kFloat64).requires_grad_());
    return leaves;
}

double dot(const Tensor& out, const Tensor& v) { return (out * v).sum().item<double>(); }

}  // namespace

void gradcheck(const std::string& what, const GradFn& f, const std::vector<Tensor>& inputs,
               GradTol tol) {
    std::vector<std::vector<double>> values;
    for (const Tensor& t : inputs) values.push_back(t.to(kFloat64).to_vector<double>());
    std::vector<Tensor> leaves = fresh_leaves(values, inputs);
    INFO(what);
    Tensor out = f(leaves);
    REQUIRE(out.dtype() == kFloat64);
    Tensor v = normal(out.sizes(), kFloat64);
    // Read the output first: backward must still work after a value was computed.
    (void)dot(out, v);
    std::vector<Tensor> grads = autograd::grad({out}, leaves, {v}, std::nullopt, false, true);
    for (size_t i = 0; i < inputs.size(); ++i) {
        std::vector<double> analytic(values[i].size(), 0.0);
        if (grads[i].defined()) {
            check(grads[i], what + ": gradient " + std::to_string(i) + " vs the reference");
            analytic = grads[i].to_vector<double>();
        }
        for (size_t j = 0; j < values[i].size(); ++j) {
            auto at = [&](double delta) {
                std::vector<std::vector<double>> moved = values;
                moved[i][j] += delta;
                return dot(f(fresh_leaves(moved, inputs)), v);
            };
            double numeric = (at(tol.eps) - at(-tol.eps)) / (2 * tol.eps);
            double err = std::abs(analytic[j] - numeric);
            if (!(err <= tol.atol + tol.rtol * std::abs(numeric))) {
                FAIL_CHECK(fmt::format("{}: d/d input {} [{}] analytic {} numeric {} (seed {})",
                                       what, i, j, analytic[j], numeric, base_seed()));
                return;
            }
        }
    }
}

void gradgradcheck(const std::string& what, const GradFn& f, const std::vector<Tensor>& inputs,
                   GradTol tol) {
    std::vector<Tensor> ws;
    for (const Tensor& t : inputs) ws.push_back(normal(t.sizes(), kFloat64));
    Tensor v;  // the cotangent of f's output, fixed on first use
    GradFn inner = [&](const std::vector<Tensor>& x) {
        Tensor out = f(x);
        if (!v.defined()) v = normal(out.sizes(), kFloat64);
        std::vector<Tensor> g = autograd::grad({out}, x, {v}, std::nullopt, true, true);
        // Starting from 0 * x keeps the result differentiable when the first gradient does
        // not depend on x (linear ops): the second-order gradient is then exactly zero.
        Tensor total = (x[0] * 0.0).sum();
        for (size_t i = 0; i < g.size(); ++i)
            if (g[i].defined()) total = total + (g[i] * ws[i]).sum();
        return total;
    };
    gradcheck(what + " (second order)", inner, inputs, tol);
}

}  // namespace kiln::test
