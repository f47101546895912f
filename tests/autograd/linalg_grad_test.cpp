// Gradients of matmul in every rank combination (1-D and 2-D operands, batched with broadcast
// batch dims), mm, bmm, and a small MLP, first and second order, against finite differences.
#include <cmath>

#include "autograd/gradcheck.h"

namespace kiln::test {
namespace {

using T = const std::vector<Tensor>&;

void both(const std::string& what, const GradFn& f, const std::vector<Tensor>& inputs) {
    gradcheck(what, f, inputs);
    gradgradcheck(what, f, inputs);
}

/// gradcheck and gradgradcheck of a @ b for operands of the given shapes; the second order is
/// also taken of (a @ b)^2, where it is not just the bilinear cross terms.
void check_matmul(const std::string& name, const Shape& sa, const Shape& sb,
                  const std::function<Tensor(const Tensor&, const Tensor&)>& mul) {
    Tensor a = uniform(sa, kFloat64, -1.5, 1.5);
    Tensor b = uniform(sb, kFloat64, -1.5, 1.5);
    std::string what = name + " " + desc(a) + " @ " + desc(b);
    both(what, [&](T in) { return mul(in[0], in[1]); }, {a, b});
    both(what + " squared", [&](T in) { return mul(in[0], in[1]).pow(2); }, {a, b});
}

Tensor matmul_of(const Tensor& a, const Tensor& b) { return kiln::matmul(a, b); }

}  // namespace

TEST_CASE("matmul gradients for 1-D and 2-D operands", "[autograd][linalg]") {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{4}, {4}},        // dot product: a scalar
        {{1}, {1}},        //
        {{3, 4}, {4}},     // matrix @ vector
        {{1, 4}, {4}},     //
        {{4}, {4, 3}},     // vector @ matrix
        {{4}, {4, 1}},     //
        {{3, 4}, {4, 2}},  // matrix @ matrix
        {{1, 4}, {4, 1}},  //
        {{3, 1}, {1, 2}},  // k = 1: an outer product
        {{2, 3}, {3, 3}},
    };
    for (const auto& [sa, sb] : shapes) check_matmul("matmul", sa, sb, matmul_of);
    // The method spelling.
    Tensor a = uniform({2, 3}, kFloat64, -1.5, 1.5);
    Tensor b = uniform({3, 2}, kFloat64, -1.5, 1.5);
    both("Tensor::matmul", [](T in) { return in[0].matmul(in[1]); }, {a, b});
}

TEST_CASE("batched matmul gradients with broadcast batch dims", "[autograd][linalg]") {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{2, 3, 4}, {4, 2}},        // batch @ matrix: b's gradient sums over the batch
        {{3, 4}, {2, 4, 2}},        // matrix @ batch
        {{1, 3, 4}, {2, 4, 2}},     // size-1 batch dim broadcast
        {{2, 3, 4}, {1, 4, 2}},     //
        {{2, 3, 4}, {2, 4, 2}},     // equal batch dims
        {{2, 1, 2, 3}, {3, 3, 2}},  // 4-D with a broadcast middle batch dim and a missing one
        {{2, 1, 2, 3}, {1, 2, 3, 2}},
        {{2, 3, 4}, {4}},     // batch @ vector
        {{4}, {2, 4, 3}},     // vector @ batch
        {{1, 1, 3}, {3, 1}},  // size-1 everywhere
    };
    for (const auto& [sa, sb] : shapes) check_matmul("matmul", sa, sb, matmul_of);
    // Transposed and sliced operands (views feeding the matmul).
    Tensor a = uniform({4, 3}, kFloat64, -1.5, 1.5);
    Tensor b = uniform({2, 5, 4}, kFloat64, -1.5, 1.5);
    both("a.t() @ b.transpose(1, 2).slice(2, 0, 5, 2)",
         [](T in) { return kiln::matmul(in[0].t(), in[1].transpose(1, 2).slice(2, 0, 5, 2)); },
         {a, b});
}

TEST_CASE("mm and bmm gradients", "[autograd][linalg]") {
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
             {{3, 4}, {4, 2}}, {{1, 3}, {3, 1}}, {{2, 1}, {1, 3}}}) {
        check_matmul("mm", sa, sb, [](const Tensor& a, const Tensor& b) { return kiln::mm(a, b); });
    }
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
             {{2, 3, 4}, {2, 4, 2}}, {{1, 2, 3}, {1, 3, 2}}, {{3, 1, 2}, {3, 2, 1}}}) {
        check_matmul("bmm", sa, sb,
                     [](const Tensor& a, const Tensor& b) { return kiln::bmm(a, b); });
    }
    // The same tensor on both sides: x @ x^T, and x^T x batched.
    Tensor x = uniform({3, 4}, kFloat64, -1.5, 1.5);
    both("mm(x, x.t())", [](T in) { return kiln::mm(in[0], in[0].t()); }, {x});
    Tensor y = uniform({2, 3, 2}, kFloat64, -1.5, 1.5);
    both("bmm(y^T, y)", [](T in) { return kiln::bmm(in[0].transpose(1, 2), in[0]); }, {y});
}

TEST_CASE("an MLP: relu(x @ w1 + b1) @ w2, summed", "[autograd][linalg]") {
    // Pre-activations within the FD step of relu's kink at 0 would make the numeric gradient
    // meaningless; nudge b1 until none are.
    auto pick_b1 = [](const Tensor& x, const Tensor& w1, Shape shape) {
        for (int attempt = 0;; ++attempt) {
            Tensor b1 = uniform(shape, kFloat64, -0.5, 0.5);
            std::vector<double> pre = (kiln::matmul(x, w1) + b1).to_vector<double>();
            bool clear = true;
            for (double p : pre) clear = clear && std::abs(p) > 1e-2;
            if (clear || attempt == 50) return b1;
        }
    };
    struct Shapes {
        Shape x, w1, b1, w2;
    };
    const std::vector<Shapes> cases = {
        {{2, 3}, {3, 4}, {4}, {4, 2}},
        {{1, 3}, {3, 4}, {1, 4}, {4, 1}},        // a single row, a single output
        {{3, 1}, {1, 4}, {4}, {4, 2}},           // one input feature
        {{2, 2, 3}, {3, 4}, {1, 1, 4}, {4, 1}},  // batched, bias with size-1 dims
    };
    for (const Shapes& s : cases) {
        Tensor x = uniform(s.x, kFloat64, -1.5, 1.5);
        Tensor w1 = uniform(s.w1, kFloat64, -1, 1);
        Tensor w2 = uniform(s.w2, kFloat64, -1, 1);
        Tensor b1 = pick_b1(x, w1, s.b1);
        std::string what =
            "mlp x " + desc(x) + " w1 " + desc(w1) + " b1 " + desc(b1) + " w2 " + desc(w2);
        auto f = [](T in) {
            return kiln::matmul((kiln::matmul(in[0], in[1]) + in[2]).relu(), in[3]).sum();
        };
        both(what, f, {x, w1, b1, w2});
        // A smooth activation and a nonlinear loss, so the second order is rich.
        auto g = [](T in) {
            Tensor h = (kiln::matmul(in[0], in[1]) + in[2]).tanh();
            return kiln::matmul(h, in[3]).pow(2).mean();
        };
        both(what + " (tanh, squared mean)", g, {x, w1, b1, w2});
    }
}

}  // namespace kiln::test
