// Every kernel the pipeline makes of frontend graphs (one family of ops per test case) renders
// as CUDA C that NVRTC compiles to PTX. Nothing runs: the graphs are recorded, canonicalized and
// lowered, exactly as realize() would before compiling.
#include "cuda/cuda_util.h"

namespace kiln::test {
namespace {

namespace F = kiln::nn::functional;

Tensor rnd(std::vector<int64_t> shape, DType dtype = kFloat32) {
    return kiln::randn(std::move(shape), dtype);
}

/// A realized input (a placeholder in the canonical graph), as user data would be.
Tensor input(std::vector<int64_t> shape, DType dtype = kFloat32) {
    Tensor t = kiln::ones(std::move(shape), dtype);
    kiln::realize({t});
    return t;
}

void compile_graph(const std::vector<Tensor>& outputs, const std::string& what) {
    std::vector<ir::LoopKernel> kernels = kernels_of(outputs);
    INFO(what);
    CHECK(!kernels.empty());
    compile_all(kernels, what);
}

}  // namespace

TEST_CASE("CUDA: elementwise float kernels compile (skipped without NVRTC)", "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    for (DType t : {kFloat32, kFloat64}) {
        Tensor x = input({37, 19}, t), y = input({37, 19}, t), b = input({19}, t);
        std::string d = dtype_name(t);
        compile_graph({kiln::exp(x) + kiln::log(y) * kiln::sqrt(x) - kiln::rsqrt(y)},
                      "exp/log " + d);
        compile_graph({kiln::sin(x) * kiln::cos(y) + kiln::tanh(x) / kiln::sigmoid(y)},
                      "trig " + d);
        compile_graph({kiln::gelu(x), kiln::gelu(y, "tanh")}, "gelu " + d);
        compile_graph({kiln::relu(x) + kiln::silu(y) + kiln::abs(x) - kiln::reciprocal(y)},
                      "act " + d);
        compile_graph({kiln::pow(x, 2.5) + kiln::pow(x, y) + kiln::clamp(y, -0.5, 0.5)},
                      "pow " + d);
        compile_graph({kiln::maximum(x, y) - kiln::minimum(x, b) + (-x)}, "max/min " + d);
        compile_graph({(x * b + 1.5) / (y - 2)}, "broadcast " + d);
    }
}

TEST_CASE("CUDA: integer / comparison / where / cast kernels compile (skipped without "
          "NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    for (DType t : {kInt32, kInt64}) {
        Tensor a = input({13, 7}, t), b = input({13, 7}, t);
        std::string d = dtype_name(t);
        compile_graph({a * b + a - kiln::abs(b), kiln::maximum(a, b), -a}, "int arith " + d);
        compile_graph({kiln::pow(a, 3), kiln::clamp(a, 0, 5), a / b}, "int pow/clamp/div " + d);
        compile_graph(
            {kiln::where(a < b, a, b), (a == b).to(kInt32), kiln::where(a != b, a >= b, a <= b)},
            "int compare " + d);
        compile_graph({a.to(kFloat32) * 0.5, a.to(kBool).to(kFloat64), a.to(kInt64) + 1},
                      "int cast " + d);
        compile_graph({kiln::arange(int64_t{91}, t).reshape({13, 7}) * a}, "arange " + d);
    }
    Tensor x = input({5, 11}), y = input({5, 11});
    compile_graph({kiln::where(x > y, kiln::where(x <= 2.0, x, y), y), x.to(kInt32), x.to(kInt64),
                   x.to(kFloat64), x.to(kBool)},
                  "float compare/cast");
    Tensor m = input({5, 11}, kBool);
    compile_graph({kiln::where(m, x, y), m.to(kFloat32) + x, m == (x < y)}, "bool");
}

TEST_CASE("CUDA: reduction kernels compile (skipped without NVRTC)", "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    for (DType t : {kFloat32, kFloat64, kInt32, kInt64}) {
        std::string d = dtype_name(t);
        Tensor x = input({24, 130}, t);
        compile_graph({x.sum({1}), x.amax({1}), x.amin({1})}, "rows " + d);
        compile_graph({x.sum({0}), x.amax({0}, true), x.amin({0})}, "columns " + d);
        compile_graph({x.sum(), x.max(), x.min()}, "whole tensor " + d);
        compile_graph({x.argmax(1)}, "argmax " + d);
    }
    Tensor x = input({6, 300, 5});
    compile_graph({x.mean({1}), x.var({2}), x.std({0, 2}, false, true)}, "mean/var/std");
    compile_graph({x.sum({1}, true) * x - x.amax({1}, true)}, "reduce + broadcast epilogue");
    compile_graph({input({1 << 16}).sum(), input({3, 4096}).amax({1})}, "long rows");
    compile_graph({input({4, 0}).sum({1}), input({0, 4}).amax({1})}, "empty");
    compile_graph({(input({8, 9}, kBool)).to(kInt32).sum({1})}, "bool count");
}

TEST_CASE("CUDA: movement view kernels compile (skipped without NVRTC)", "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    Tensor x = input({6, 70, 40});
    compile_graph({x.permute({2, 0, 1}).contiguous()}, "permute");
    compile_graph({x.transpose(1, 2).reshape({6, 2800}) + 1}, "transposed reshape");
    compile_graph({x.slice(1, 3, 60, 4).flip({2}) * 2}, "slice/flip");
    compile_graph({kiln::cat({x, x * 2}, 1), kiln::stack({x, x + 1}, 0)}, "cat/stack (pad masks)");
    compile_graph({x.unfold(1, 5, 3).sum({3})}, "unfold (window)");
    compile_graph({x.slice(2, 0, 1).expand({6, 70, 40}) + x}, "expand");
    Tensor img = input({2, 3, 17, 17});
    compile_graph({kiln::max_pool2d(img, {3, 3}, {2, 2}, {1, 1})}, "max_pool2d (padded)");
    compile_graph({kiln::avg_pool2d(img, {2, 2})}, "avg_pool2d");
}

TEST_CASE("CUDA: random kernels compile (skipped without NVRTC)", "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    kiln::manual_seed(7);
    for (DType t : {kFloat32, kFloat64}) {
        std::string d = dtype_name(t);
        compile_graph({kiln::rand({33, 9}, t) * 2 - 1}, "rand " + d);
        compile_graph({rnd({1000}, t)}, "randn (Box-Muller) " + d);
        compile_graph({kiln::dropout(input({64, 32}, t), 0.25)}, "dropout " + d);
    }
}

TEST_CASE("CUDA: row kernels (softmax / layernorm / losses) compile (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    for (DType t : {kFloat32, kFloat64}) {
        std::string d = dtype_name(t);
        Tensor x = input({64, 257}, t);
        compile_graph({kiln::softmax(x, 1)}, "softmax " + d);
        compile_graph({kiln::log_softmax(x, 1), kiln::logsumexp(x, {1})}, "log_softmax " + d);
        compile_graph({kiln::softmax(x, 0)}, "softmax over columns " + d);
        Tensor w = input({257}, t), b = input({257}, t);
        compile_graph({kiln::layer_norm(x, {257}, w, b)}, "layer_norm " + d);
        Tensor targets = input({64}, kInt64);
        compile_graph({F::cross_entropy(x, targets), F::cross_entropy(x, targets, 0.1)},
                      "cross_entropy " + d);
        compile_graph({F::mse_loss(x, x * 2), F::l1_loss(x, w.expand({64, 257}))}, "mse/l1 " + d);
        compile_graph({F::binary_cross_entropy_with_logits(x, kiln::sigmoid(x))}, "bce " + d);
    }
}

TEST_CASE("CUDA: an MLP training step (backward and merged Adam update) compiles (skipped "
          "without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    Tensor x = input({32, 20}), targets = input({32}, kInt64);
    auto param = [](std::vector<int64_t> shape) {
        Tensor p = kiln::ones(std::move(shape));
        kiln::realize({p});
        p.requires_grad_();
        return p;
    };
    Tensor w1 = param({16, 20}), b1 = param({16}), w2 = param({10, 16}), b2 = param({10});
    Tensor h = kiln::relu(kiln::linear(x, w1, b1));
    Tensor h2 = kiln::dropout(kiln::tanh(h), 0.1);
    Tensor loss = F::cross_entropy(kiln::linear(h2, w2, b2), targets);
    std::vector<Tensor> params{w1, b1, w2, b2};
    std::vector<Tensor> grads = kiln::autograd::grad({loss}, params);
    std::vector<Tensor> outputs{loss};
    // Adam by hand: the moments and the new weight of each parameter merge into one kernel.
    for (size_t i = 0; i < params.size(); ++i) {
        Tensor p = params[i].detach(), g = grads[i];
        Tensor m = input(p.sizes()), v = input(p.sizes());
        Tensor m2 = m * 0.9 + g * 0.1;
        Tensor v2 = v * 0.999 + g * g * 0.001;
        outputs.push_back(m2);
        outputs.push_back(v2);
        outputs.push_back(p - 0.01 * m2 / (kiln::sqrt(v2) + 1e-8));
    }
    std::vector<ir::LoopKernel> kernels = kernels_of(outputs);
    bool merged = false;
    for (const ir::LoopKernel& k : kernels) merged = merged || k.stages.size() >= 3;
    CHECK(merged);
    compile_all(kernels, "mlp step");
}

}  // namespace kiln::test
