// The autograd API's semantics as LibTorch defines them: leaves, accumulation, retain_graph,
// no-grad mode, detach, in-place updates, reading values before backward, define-by-run
// control flow, and the exact messages for each misuse.
#include <sstream>

#include "autograd/gradcheck.h"
#include "kiln/stats.h"

namespace kiln::test {
namespace {

Tensor vec(std::vector<double> v) {
    Shape s{static_cast<int64_t>(v.size())};
    return kiln::tensor(std::move(v), s, kFloat64);
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("leaves, requires_grad and is_leaf", "[autograd][api]") {
    Tensor x = vec({1, 2, 3});
    CHECK_FALSE(x.requires_grad());
    CHECK(x.is_leaf());
    x.requires_grad_();
    CHECK(x.requires_grad());
    CHECK(x.is_leaf());
    CHECK_FALSE(x.grad().defined());
    Tensor y = x * 2;
    CHECK(y.requires_grad());
    CHECK_FALSE(y.is_leaf());
    CHECK_FALSE((x > 1).requires_grad());        // comparisons carry no gradient
    CHECK_FALSE(x.argmax(0).requires_grad());    // nor integer results
    CHECK_FALSE(x.to(kInt64).requires_grad());
    Tensor o = kiln::ones({2}, TensorOptions(kFloat32).requires_grad(true));
    CHECK(o.requires_grad());
    CHECK(o.is_leaf());
    x.requires_grad_(false);
    CHECK_FALSE(x.requires_grad());
    CHECK_FALSE(y.is_leaf());  // y still depends on the old leaf
}

TEST_CASE("equal values are distinct leaves", "[autograd][api]") {
    Tensor a = kiln::zeros({2}, kFloat64).requires_grad_();
    Tensor b = kiln::zeros({2}, kFloat64).requires_grad_();
    ((a + 1) * (b + 2)).sum().backward();
    CHECK(a.grad().to_vector<double>() == std::vector<double>{2, 2});
    CHECK(b.grad().to_vector<double>() == std::vector<double>{1, 1});
    Tensor c = a.detach().requires_grad_();
    (a * c * 3).sum().backward();
    CHECK(c.grad().to_vector<double>() == std::vector<double>{0, 0});  // 3a
    CHECK(a.grad().to_vector<double>() == std::vector<double>{2, 2});  // + 3c = 0
}

TEST_CASE("gradients accumulate; zero_ and undefining reset them", "[autograd][api]") {
    Tensor x = vec({1, 2}).requires_grad_();
    for (int i = 0; i < 3; ++i) (x * x).sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 12});
    Tensor held = x.grad();
    (x * 10).sum().backward();  // accumulates in place: a held handle sees it
    CHECK(held.to_vector<double>() == std::vector<double>{16, 22});
    {
        NoGradGuard g;
        x.grad().zero_();
    }
    x.sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE("backward with a gradient for non-scalar outputs", "[autograd][api]") {
    Tensor x = vec({1, 2, 3}).requires_grad_();
    Tensor y = x * x;
    y.backward(vec({1, 0.5, -1}));
    CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 2, -6});
}

TEST_CASE("reading values before backward keeps the graph", "[autograd][api]") {
    Tensor w = vec({0.5, -1.5}).requires_grad_();
    Tensor x = vec({2, 3});
    Tensor h = (x * w).tanh();
    std::vector<double> hv = h.to_vector<double>();  // realize an intermediate
    Tensor loss = (h * h).sum();
    double l = loss.item<double>();  // and the loss itself
    CHECK(l == Approx(hv[0] * hv[0] + hv[1] * hv[1]));
    std::ostringstream printed;
    printed << loss;  // printing computes too
    loss.backward();
    std::vector<double> g = w.grad().to_vector<double>();
    for (int i = 0; i < 2; ++i) {
        double xi = i == 0 ? 2 : 3;
        CHECK(g[i] == Approx(2 * hv[i] * (1 - hv[i] * hv[i]) * xi));
    }
    CHECK(loss.item<double>() == l);
}

TEST_CASE("define-by-run: branches and loops decide the graph each time", "[autograd][api]") {
    Tensor x = vec({3}).requires_grad_();
    for (int n = 1; n <= 4; ++n) {
        Tensor y = x;
        for (int i = 1; i < n; ++i) y = y * x;  // x^n
        if (n % 2 == 0) y = -y;
        Tensor g = autograd::grad({y.sum()}, {x})[0];
        double want = n * std::pow(3.0, n - 1) * (n % 2 == 0 ? -1 : 1);
        CHECK(g.item<double>() == Approx(want));
    }
}

TEST_CASE("no-grad mode and detach cut the graph", "[autograd][api]") {
    Tensor x = vec({1, 2}).requires_grad_();
    CHECK(GradMode::is_enabled());
    Tensor m;
    {
        NoGradGuard g;
        CHECK_FALSE(GradMode::is_enabled());
        m = x.mean();
        CHECK_FALSE(m.requires_grad());
        {
            NoGradGuard nested;
        }
        CHECK_FALSE(GradMode::is_enabled());
    }
    CHECK(GradMode::is_enabled());
    // m is a constant now: d/dx sum(x - m) = 1, not 0.
    (x - m).sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
    Tensor d = x.detach();
    CHECK_FALSE(d.requires_grad());
    (d * x).sum().backward();  // d is a constant factor
    CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 3});
}

TEST_CASE("in-place updates of leaves under no-grad, and of other tensors", "[autograd][api]") {
    Tensor w = vec({1, 2}).requires_grad_();
    (w * w).sum().backward();
    {
        NoGradGuard g;
        w.sub_(w.grad(), 0.25);  // w - 0.25 * 2w
        w.grad().zero_();
    }
    CHECK(w.is_leaf());
    CHECK(w.requires_grad());
    CHECK(w.to_vector<double>() == std::vector<double>{0.5, 1});
    (w * w).sum().backward();  // the updated leaf is still the same variable
    CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 2});
    Tensor t = vec({1, 2, 3});
    t.mul_(2).add_(vec({1, 1, 1}), 0.5).div_(2);
    CHECK(t.to_vector<double>() == std::vector<double>{1.25, 2.25, 3.25});
    t.fill_(7);
    CHECK(t.to_vector<double>() == std::vector<double>{7, 7, 7});
    t.copy_(kiln::tensor(std::vector<int64_t>{4}, {1}));  // broadcast and convert
    CHECK(t.to_vector<double>() == std::vector<double>{4, 4, 4});
    Tensor alias = t;  // another handle to the same tensor sees the change
    t.zero_();
    CHECK(alias.to_vector<double>() == std::vector<double>{0, 0, 0});
    // A non-leaf updated in place with grad mode on stays differentiable.
    Tensor x = vec({1, 2}).requires_grad_();
    Tensor y = x * 3;
    y.mul_(x);
    y.sum().backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 12});
}

TEST_CASE("retain_graph and create_graph", "[autograd][api]") {
    Tensor x = vec({2}).requires_grad_();
    Tensor y = (x * x * x).sum();
    y.backward({}, true);
    y.backward();
    CHECK(x.grad().item<double>() == 24);
    // create_graph: the gradient requires grad and differentiates again.
    Tensor z = (x * x * x).sum();
    Tensor g = autograd::grad({z}, {x}, {}, std::nullopt, true)[0];
    CHECK(g.requires_grad());
    CHECK(g.item<double>() == 12);
    Tensor gg = autograd::grad({g.sum()}, {x})[0];
    CHECK(gg.item<double>() == 12);  // 6x
    CHECK_FALSE(gg.requires_grad());
}

TEST_CASE("autograd::grad with respect to intermediate tensors", "[autograd][api]") {
    Tensor x = vec({1, 2, 3}).requires_grad_();
    Tensor h = x * x;          // dh/dx = 2x
    Tensor y = (h * 3).sum();  // dy/dh = 3
    std::vector<Tensor> g = autograd::grad({y}, {h, x}, {}, true);
    CHECK(g[0].to_vector<double>() == std::vector<double>{3, 3, 3});
    CHECK(g[1].to_vector<double>() == std::vector<double>{6, 12, 18});
    CHECK_FALSE(x.grad().defined());  // grad() is left alone
    // Several outputs with their own gradients.
    Tensor z = x.sum();
    Tensor gz = autograd::grad({y, z}, {x}, {kiln::ones({}, kFloat64), kiln::full({}, 10.0, kFloat64)})[0];
    CHECK(gz.to_vector<double>() == std::vector<double>{16, 22, 28});
}

TEST_CASE("exact messages for autograd misuse", "[autograd][api][errors]") {
    Tensor x = vec({1, 2});
    CHECK(message_of([&] { x.sum().backward(); }) ==
          "backward: the tensor f64[] does not require grad (no leaf made with requires_grad_() "
          "reaches it through differentiable ops) at api_test.cpp:" +
              std::to_string(__LINE__ - 3));
    x.requires_grad_();
    CHECK(message_of([&] { (x * 2).backward(); }) ==
          "backward: a gradient can be implied only for a single-element output, but the output "
          "is f64[2] (pass the gradient of the output explicitly) at api_test.cpp:" +
              std::to_string(__LINE__ - 3));
    CHECK(message_of([&] { (x * 2).backward(vec({1, 2, 3})); }) ==
          "backward: the gradient is f64[3] but the output is f64[2] (shapes must match) at "
          "api_test.cpp:" + std::to_string(__LINE__ - 2));
    Tensor y = (x * x).sum();
    y.backward();
    CHECK(message_of([&] { y.backward(); }) ==
          "backward: the graph of this tensor was already freed by an earlier backward (pass "
          "retain_graph=true to that call to differentiate it again) at api_test.cpp:" +
              std::to_string(__LINE__ - 3));
    CHECK(message_of([&] { x.mul_(2); }) ==
          "mul_: a leaf tensor that requires grad cannot be modified in place while gradients "
          "are recorded (update it inside a kiln::NoGradGuard, as optimizers do) at "
          "api_test.cpp:" + std::to_string(__LINE__ - 3));
    CHECK(message_of([&] { (x * 2).requires_grad_(false); }) ==
          "requires_grad_: only leaves can stop requiring grad; this tensor was computed from "
          "one (use detach() for a value outside autograd) at api_test.cpp:" +
              std::to_string(__LINE__ - 3));
    CHECK(message_of([&] { kiln::arange(3).requires_grad_(); }) ==
          "requires_grad_: only floating-point tensors can require grad, got i64[3] at "
          "api_test.cpp:" + std::to_string(__LINE__ - 2));
    Tensor unused = vec({1}).requires_grad_();
    CHECK(message_of([&] { autograd::grad({(x * 2).sum()}, {unused}); }) ==
          "autograd::grad: input 0 (f64[1]) is not used by the outputs' graph (pass "
          "allow_unused=true to get an undefined gradient for it) at api_test.cpp:" +
              std::to_string(__LINE__ - 3));
    CHECK_FALSE(autograd::grad({(x * 2).sum()}, {unused}, {}, std::nullopt, false, true)[0]
                    .defined());
    CHECK(message_of([&] { autograd::grad({(x * 2).sum()}, {vec({1})}); }) ==
          "autograd::grad: input 0 (f64[1]) does not require grad at api_test.cpp:" +
              std::to_string(__LINE__ - 2));
    Tensor t = vec({1, 2});
    CHECK(message_of([&] { t.add_(vec({1, 2, 3})); }) ==
          "add_: shapes [2] and [3] cannot be broadcast (dim 0: 2 vs 3) at api_test.cpp:" +
              std::to_string(__LINE__ - 2));
    CHECK(message_of([&] { t.add_(kiln::ones({2, 2}, kFloat64)); }) ==
          "add_: the result f64[2,2] does not fit in the tensor f64[2] (in-place ops cannot "
          "change its shape) at api_test.cpp:" + std::to_string(__LINE__ - 2));
    Tensor i = kiln::arange(2);
    CHECK(message_of([&] { i.mul_(0.5); }) ==
          "mul_: a f32 result cannot be stored in place in i64[2] at api_test.cpp:" +
              std::to_string(__LINE__ - 2));
}

}  // namespace kiln::test
