// Random graphs: chains of elementwise ops, broadcasts, reductions folded back in, views,
// softmax, matmul and casts on random shapes, compared with the reference interpreter. The
// trace of ops is in the failure message; the run's seed repeats it.
#include <cmath>
#include <functional>
#include <string>

#include <catch2/catch.hpp>

#include "check.h"

using namespace kiln;
using namespace kiln::test;

namespace {

int64_t pick(int64_t lo, int64_t hi) {  // uniform in [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng());
}

/// One random step applied to the 2-D tensor `cur`. Every step is continuous in its inputs
/// (conditions only look at fresh inputs), so f32 rounding cannot flip a branch against the
/// float64 reference; magnitudes stay O(1) (means instead of sums, matmul scaled by 1/sqrt(k)).
Tensor step(const Tensor& cur, DType dt, std::string& trace) {
    const int64_t rows = cur.size(0), cols = cur.size(1);
    auto operand = [&]() -> Tensor {
        switch (pick(0, 4)) {
        case 0: trace += "[full]"; return normal({rows, cols}, dt);
        case 1: trace += "[row]"; return normal({cols}, dt);
        case 2: trace += "[col]"; return normal({rows, 1}, dt);
        case 3: trace += "[scalar]"; return normal({}, dt);
        default: trace += "[t-view]"; return normal({cols, rows}, dt).t();
        }
    };
    switch (pick(0, 11)) {
    case 0: {
        static const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> u = {
            {"tanh", [](const Tensor& t) { return tanh(t); }},
            {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
            {"sin", [](const Tensor& t) { return sin(t); }},
            {"abs", [](const Tensor& t) { return abs(t); }},
            {"relu", [](const Tensor& t) { return relu(t); }},
            {"neg", [](const Tensor& t) { return -t; }},
            {"exp(-|x|)", [](const Tensor& t) { return exp(-abs(t)); }},
            {"log(1+|x|)", [](const Tensor& t) { return log(abs(t) + 1); }},
            {"gelu", [](const Tensor& t) { return gelu(t); }},
            {"silu", [](const Tensor& t) { return silu(t); }},
            {"sqrt(|x|+.1)", [](const Tensor& t) { return sqrt(abs(t) + 0.1); }},
            {"clamp", [](const Tensor& t) { return clamp(t, -0.5, 0.75); }},
        };
        const auto& [name, f] = u[static_cast<size_t>(pick(0, static_cast<int64_t>(u.size()) - 1))];
        trace += " " + name;
        return f(cur);
    }
    case 1: {
        int64_t k = pick(0, 4);
        const char* names[] = {"+", "-", "*", "maximum", "minimum"};
        trace += std::string(" ") + names[k];
        Tensor o = operand();
        switch (k) {
        case 0: return cur + o;
        case 1: return o - cur;
        case 2: return cur * o;
        case 3: return maximum(cur, o);
        default: return minimum(o, cur);
        }
    }
    case 2: {
        trace += " where(o>0)";
        Tensor o = operand();
        return where(o > 0, cur, o * 0.5);
    }
    case 3: {
        int64_t axis = pick(0, 1);
        int64_t k = pick(0, 2);
        const char* names[] = {"-mean", "-amax", "+amin"};
        trace += std::string(" ") + names[k] + "(" + std::to_string(axis) + ")";
        if (k == 0) return cur - cur.mean({axis}, true);
        if (k == 1) return cur - cur.amax({axis}, true);
        return cur + cur.amin({axis}, true) * 0.5;
    }
    case 4: trace += " t"; return cur.t();
    case 5: {
        int64_t axis = pick(0, 1);
        trace += " flip(" + std::to_string(axis) + ")";
        return cur.flip({axis});
    }
    case 6: {
        int64_t axis = pick(0, 1);
        int64_t n = cur.size(axis);
        if (n < 2) return cur;
        int64_t start = pick(0, n - 2), st = pick(1, 3);
        trace += " slice(" + std::to_string(axis) + "," + std::to_string(start) +
                 ",:" + std::to_string(st) + ")";
        return cur.slice(axis, start, n, st);
    }
    case 7: {
        int64_t axis = pick(0, 1);
        trace += " cat(x, 2x.flip)(" + std::to_string(axis) + ")";
        Tensor c = cat({cur, (cur * 2).flip({axis})}, axis);
        return c.size(axis) > 64 ? c.narrow(axis, 1, c.size(axis) / 2) : c;
    }
    case 8: {
        int64_t axis = pick(0, 1);
        bool lg = pick(0, 1) == 1;
        trace += std::string(lg ? " log_softmax(" : " softmax(") + std::to_string(axis) + ")";
        return lg ? log_softmax(cur, axis) * 0.25 : softmax(cur, axis);
    }
    case 9: {
        int64_t n = pick(1, 9);
        trace += " @[" + std::to_string(cols) + "," + std::to_string(n) + "]";
        return matmul(cur, normal({cols, n}, dt)) * (1.0 / std::sqrt(static_cast<double>(cols)));
    }
    case 10: {
        trace += dt == kFloat32 ? " to(f64)*1.5 to(f32)" : " to(f32)*1.5 to(f64)";
        DType other = dt == kFloat32 ? kFloat64 : kFloat32;
        return (cur.to(other) * 1.5).to(dt);
    }
    default: {
        trace += " reshape";
        return cur.reshape({cols, rows});
    }
    }
}

}  // namespace

TEST_CASE("random fused graphs against the reference", "[ops][fuzz]") {
    for (int g = 0; g < 60; ++g) {
        DType dt = pick(0, 3) == 0 ? kFloat64 : kFloat32;
        int64_t rows = pick(1, 9), cols = pick(1, 70);
        Tensor x = normal({rows, cols}, dt);
        std::string trace = "graph " + std::to_string(g) + ": x" + desc(x);
        Tensor cur = x;
        int64_t steps = pick(2, 8);
        for (int64_t s = 0; s < steps; ++s) cur = step(cur, dt, trace);
        // Reduce at the end half of the time (a fused epilogue reduction).
        if (pick(0, 1) == 1) {
            trace += " sum(1, keepdim)";
            cur = cur.sum({1}, true);
        }
        check(cur, trace, Tol{16, 80});
    }
}
