// A training step with an optimizer is one cached program: forward, backward and update (and
// the optimizer state) compile once for the whole loop, the first step included, even while a
// scheduler changes the lr every step; reading the loss after step() computes nothing.
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

namespace F = kiln::nn::functional;

/// A linear layer on random data: two parameters (weight [3, 4], bias [3]).
struct Linear {
    Tensor w, b, x, y;
    explicit Linear(DType dtype = kFloat32) {
        std::mt19937 gen(1);
        w = param(normal_values(gen, 12, 0.5), {3, 4}, dtype);
        b = param(normal_values(gen, 3, 0.1), {3}, dtype);
        x = kiln::tensor(normal_values(gen, 64), {16, 4}, dtype);
        y = kiln::tensor(normal_values(gen, 48), {16, 3}, dtype);
    }
    std::vector<Tensor> params() const { return {w, b}; }
    Tensor loss() const { return F::mse_loss(kiln::linear(x, w, b), y); }
};

/// What happened since `before`.
struct Cost {
    int64_t misses, hits, kernels, externs, realizations;
};

Cost cost_since(const Stats& before) {
    Stats now = stats();
    return {now.program_cache_misses - before.program_cache_misses,
            now.program_cache_hits - before.program_cache_hits,
            now.kernels_launched - before.kernels_launched, now.extern_calls - before.extern_calls,
            now.realizations - before.realizations};
}

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

std::vector<std::pair<const char*, MakeOptimizer>> optimizers() {
    return {
        {"SGD",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1));
         }},
        {"SGD momentum nesterov weight_decay",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::SGD>(
                 p, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-3));
         }},
        {"Adam",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.01));
         }},
        {"Adam amsgrad weight_decay",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::Adam>(
                 p, optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
         }},
        {"AdamW",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(0.01));
         }},
    };
}

}  // namespace

TEST_CASE("20 steps with an lr changed every step compile one program", "[optim][step]") {
    for (const auto& [name, make] : optimizers()) {
        INFO(name);
        Linear m;
        std::unique_ptr<optim::Optimizer> opt = make(m.params());
        optim::CosineAnnealingLR schedule(*opt, 20, 1e-4);
        Stats start = stats();
        Stats after_first = start;
        float first = 0, last = 0;
        std::vector<double> lrs;
        for (int s = 0; s < 20; ++s) {
            opt->zero_grad();
            Tensor loss = m.loss();
            loss.backward();
            opt->step();
            schedule.step();
            lrs.push_back(opt->param_groups()[0].options().get_lr());
            float l = loss.item<float>();
            if (s == 0) {
                first = l;
                after_first = stats();
            }
            last = l;
        }
        Cost all = cost_since(start), later = cost_since(after_first);
        CHECK(all.misses == 1);    // the first step compiles the loop's program ...
        CHECK(later.misses == 0);  // ... and the 19 steps after it reuse it
        CHECK(later.hits == 19);
        CHECK(all.realizations == 20);  // one program per step: loss, gradients, update, state
        CHECK(last < first);            // and it trains
        // The schedule did change the lr every step.
        for (size_t i = 1; i < lrs.size(); ++i) CHECK(lrs[i] != lrs[i - 1]);
    }
}

TEST_CASE("reading the loss after step() launches nothing", "[optim][step]") {
    for (const auto& [name, make] : optimizers()) {
        INFO(name);
        Linear m;
        std::unique_ptr<optim::Optimizer> opt = make(m.params());
        for (int s = 0; s < 3; ++s) {
            opt->zero_grad();
            Tensor loss = m.loss();
            Tensor before = loss.detach();  // the loss of these parameters, for the check below
            loss.backward();
            opt->step();
            Stats stepped = stats();
            float l = loss.item<float>();
            Cost read = cost_since(stepped);
            CHECK(read.kernels == 0);
            CHECK(read.externs == 0);
            CHECK(read.realizations == 0);
            CHECK(l == before.item<float>());
        }
    }
}

TEST_CASE("step(closure) returns the closure's loss, computed with the update", "[optim][step]") {
    Linear m;
    optim::SGD opt(m.params(), optim::SGDOptions(0.1).momentum(0.9));
    Tensor loss_before_step;
    for (int s = 0; s < 3; ++s) {
        Tensor loss = opt.step([&] {
            opt.zero_grad();
            Tensor l = m.loss();
            loss_before_step = l.detach();
            l.backward();
            return l;
        });
        REQUIRE(loss.defined());
        Stats stepped = stats();
        CHECK(loss.item<float>() == loss_before_step.item<float>());
        CHECK(cost_since(stepped).realizations == 0);
    }
    CHECK(!optim::SGD(m.params(), 0.1).step().defined());  // no closure: no loss
}

/// Kernels launched by a cached forward + backward of `m` that computes the loss and holds the
/// gradients, without any update.
static int64_t forward_backward_kernels() {
    Linear m;
    int64_t kernels = 0;
    for (int s = 0; s < 3; ++s) {
        Stats before = stats();
        for (Tensor& p : m.params()) p.mutable_grad() = Tensor();
        Tensor loss = m.loss();
        loss.backward();
        kiln::realize({m.w.grad(), m.b.grad(), loss});
        kernels = cost_since(before).kernels;
    }
    return kernels;
}

TEST_CASE("a step costs the same kernels every step", "[optim][step]") {
    // The update of a parameter, its state and its gradient fuse into one kernel (merge_kernels):
    // a step launches at most one kernel per parameter more than forward and backward alone.
    int64_t forward_backward = forward_backward_kernels();
    for (const auto& [name, make] : optimizers()) {
        INFO(name);
        Linear m;
        std::unique_ptr<optim::Optimizer> opt = make(m.params());
        std::vector<int64_t> kernels;
        for (int s = 0; s < 5; ++s) {
            Stats before = stats();
            opt->zero_grad();
            Tensor loss = m.loss();
            loss.backward();
            opt->step();
            (void)loss.item<float>();
            Cost c = cost_since(before);
            CHECK(c.realizations == 1);
            CHECK(c.externs == 2);  // the forward's and the weight gradient's matmul
            CHECK(c.kernels <= forward_backward + 2);
            kernels.push_back(c.kernels);
        }
        for (int64_t k : kernels) CHECK(k == kernels.front());
    }
}

// Prints the kernels one step launches for each optimizer on the 2-parameter model, next to
// forward + backward alone (gradients and loss computed, no update). Run it by its tag.
TEST_CASE("report: kernels per step", "[optim][step][.report]") {
    auto measure = [](const char* name, const std::function<void(Linear&)>& step) {
        Linear m;
        for (int s = 0; s < 3; ++s) {  // the last step: compiled, cached
            Stats before = stats();
            step(m);
            Cost c = cost_since(before);
            if (s == 2)
                WARN(name << ": " << c.kernels << " kernels, " << c.externs << " BLAS calls");
        }
    };
    measure("forward + backward only", [](Linear& m) {
        for (Tensor& p : m.params()) p.mutable_grad() = Tensor();
        Tensor loss = m.loss();
        loss.backward();
        kiln::realize({m.w.grad(), m.b.grad(), loss});
    });
    for (const auto& [name, make] : optimizers()) {
        Linear m;
        std::unique_ptr<optim::Optimizer> opt = make(m.params());
        for (int s = 0; s < 3; ++s) {
            Stats before = stats();
            opt->zero_grad();
            Tensor loss = m.loss();
            loss.backward();
            opt->step();
            (void)loss.item<float>();
            Cost c = cost_since(before);
            if (s == 2)
                WARN(name << ": " << c.kernels << " kernels, " << c.externs << " BLAS calls");
        }
    }
}

}  // namespace kiln::test
