#pragma once
/// What the optimizer tests share: parameters from host values, per-step gradients drawn on
/// the host, plain double-precision re-implementations of PyTorch's update formulas (the
/// oracles), comparisons and exact error messages.
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "error_of.h"

#include "kiln/kiln.h"
#include "kiln/optim.h"

namespace kiln::test {

using Values = std::vector<double>;

/// A leaf that requires grad, holding `values` shaped `shape`.
inline Tensor param(const Values& values, std::vector<int64_t> shape, DType dtype = kFloat64) {
    return kiln::tensor(values, std::move(shape), dtype).requires_grad_();
}

/// The values of a float tensor as doubles.
inline Values values_of(const Tensor& t) {
    if (t.dtype() == kFloat32) {
        std::vector<float> f = t.to_vector<float>();
        return Values(f.begin(), f.end());
    }
    return t.to_vector<double>();
}

/// n normal values (a fixed generator per call site: tests are deterministic).
inline Values normal_values(std::mt19937& gen, size_t n, double scale = 1) {
    std::normal_distribution<double> d(0, scale);
    Values v(n);
    for (double& x : v) x = d(gen);
    return v;
}

/// Values rounded to float (what an f32 tensor made from them holds).
inline Values as_float(Values v) {
    for (double& x : v) x = static_cast<float>(x);
    return v;
}

/// Gives `p` the gradient `g` (as backward would), in p's dtype.
inline void set_grad(Tensor& p, const Values& g) {
    p.mutable_grad() = kiln::tensor(g, p.sizes(), p.dtype());
}

/// The largest |got - want| / max(1, |want|).
inline double max_rel_error(const Values& got, const Values& want) {
    REQUIRE(got.size() == want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(1.0, std::abs(want[i])));
    return worst;
}

// ---- oracles: PyTorch's documented algorithms, element by element in double

/// torch.optim.SGD.
struct SgdRef {
    double lr, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false;
    Values buf;  ///< empty until the first step

    void step(Values& p, Values g) {
        for (size_t i = 0; i < p.size(); ++i) {
            if (weight_decay != 0) g[i] += weight_decay * p[i];
        }
        if (momentum != 0) {
            if (buf.empty()) {
                buf = g;
            } else {
                for (size_t i = 0; i < p.size(); ++i)
                    buf[i] = momentum * buf[i] + (1 - dampening) * g[i];
            }
            for (size_t i = 0; i < p.size(); ++i)
                g[i] = nesterov ? g[i] + momentum * buf[i] : buf[i];
        }
        for (size_t i = 0; i < p.size(); ++i) p[i] -= lr * g[i];
    }
};

/// torch.optim.Adam (decoupled = false) and torch.optim.AdamW (decoupled = true).
struct AdamRef {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
    bool amsgrad = false, decoupled = false;
    Values m, v, v_max;
    int64_t t = 0;

    void step(Values& p, Values g) {
        if (m.empty()) m = v = v_max = Values(p.size(), 0.0);
        ++t;
        double bc1 = 1 - std::pow(beta1, static_cast<double>(t));
        double bc2 = 1 - std::pow(beta2, static_cast<double>(t));
        for (size_t i = 0; i < p.size(); ++i) {
            if (decoupled)
                p[i] *= 1 - lr * weight_decay;
            else if (weight_decay != 0)
                g[i] += weight_decay * p[i];
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            double second = v[i];
            if (amsgrad) second = v_max[i] = std::max(v_max[i], v[i]);
            p[i] -= lr / bc1 * m[i] / (std::sqrt(second) / std::sqrt(bc2) + eps);
        }
    }
};

// ---- errors


/// " at FILE:LINE", as messages name a call site (the file's base name).
inline std::string at(const std::string& file, int line) {
    return " at " + file.substr(file.find_last_of('/') + 1) + ":" + std::to_string(line);
}

}  // namespace kiln::test

namespace kiln::test {

/// Steps `opt` over `params` (their initial values are the oracles' start) `steps` times with
/// fresh random gradients from `gen`, stepping one oracle per parameter on the same gradients
/// (rounded to the parameter's dtype), and checks every parameter after every step to `tol`.
/// `before_step(s)` may change options (an lr) before step s, on the optimizer and the oracles.
template <class Ref>
void check_against(optim::Optimizer& opt, std::vector<Tensor> params, std::vector<Ref> refs,
                   int steps, double tol, std::mt19937& gen,
                   const std::function<void(int, std::vector<Ref>&)>& before_step = nullptr) {
    REQUIRE(params.size() == refs.size());
    std::vector<Values> want;
    for (const Tensor& p : params) want.push_back(values_of(p));
    for (int s = 0; s < steps; ++s) {
        if (before_step) before_step(s, refs);
        for (size_t i = 0; i < params.size(); ++i) {
            Values g = normal_values(gen, want[i].size());
            if (params[i].dtype() == kFloat32) g = as_float(g);
            set_grad(params[i], g);
            refs[i].step(want[i], g);
        }
        opt.step();
        for (size_t i = 0; i < params.size(); ++i) {
            INFO("step " << s + 1 << ", parameter " << i);
            CHECK(max_rel_error(values_of(params[i]), want[i]) <= tol);
        }
    }
}

}  // namespace kiln::test
