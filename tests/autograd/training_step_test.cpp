// A training step is one cached program: a hand-written SGD update with a learning rate that
// changes every step compiles at most twice, with the rate in a 0-d tensor once; reading the
// loss after the step computes nothing; memory and live nodes are flat over many steps.
#include "autograd/gradcheck.h"
#include "ir/node.h"
#include "runtime/cpu_allocator.h"

namespace kiln::test {
namespace {

struct Mlp {
    Tensor w1, b1, w2, b2;
    Mlp() {
        w1 = normal({4, 8}, kFloat32, 0, 0.5).requires_grad_();
        b1 = normal({8}, kFloat32, 0, 0.1).requires_grad_();
        w2 = normal({8, 3}, kFloat32, 0, 0.5).requires_grad_();
        b2 = normal({3}, kFloat32, 0, 0.1).requires_grad_();
    }
    std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
    Tensor loss(const Tensor& x, const Tensor& y) const {
        Tensor h = kiln::relu(kiln::matmul(x, w1) + b1);
        Tensor d = kiln::matmul(h, w2) + b2 - y;
        return (d * d).mean();
    }
};

/// One step of plain SGD written by hand; `lr` is either a double or a 0-d tensor.
template <class Lr>
void sgd(Mlp& m, const Lr& lr) {
    NoGradGuard g;
    for (Tensor p : m.params()) {
        p.sub_(p.grad() * lr);
        p.mutable_grad() = Tensor();
    }
}

}  // namespace

TEST_CASE("a changing learning rate compiles the step at most twice", "[autograd][step]") {
    Mlp m;
    Tensor x = normal({16, 4}), y = normal({16, 3});
    reset_stats();
    float first = 0, last = 0;
    for (int step = 0; step < 50; ++step) {
        Tensor loss = m.loss(x, y);
        loss.backward();
        sgd(m, 0.05 * (1.0 - step / 100.0));  // a schedule: a new double every step
        float l = loss.item<float>();
        if (step == 0) first = l;
        last = l;
    }
    Stats s = stats();
    INFO("misses " << s.program_cache_misses << ", hits " << s.program_cache_hits);
    CHECK(s.program_cache_misses <= 2);
    CHECK(s.realizations == 50);  // one program per step: loss, grads and update together
    CHECK(last < first);          // and it trains
}

TEST_CASE("a learning rate in a 0-d tensor compiles once", "[autograd][step]") {
    Mlp m;
    Tensor x = normal({16, 4}), y = normal({16, 3});
    reset_stats();
    for (int step = 0; step < 50; ++step) {
        Tensor lr = kiln::tensor(std::vector<float>{0.05f * (1.0f - step / 100.0f)}, {});
        Tensor loss = m.loss(x, y);
        loss.backward();
        sgd(m, lr);
        (void)loss.item<float>();
    }
    CHECK(stats().program_cache_misses == 1);
}

TEST_CASE("realizing the update computes the loss too; reading it launches nothing",
          "[autograd][step]") {
    Mlp m;
    Tensor x = normal({16, 4}), y = normal({16, 3});
    for (int step = 0; step < 3; ++step) {
        Tensor loss = m.loss(x, y);
        Tensor before = loss.detach();  // what the loss was, for the check below
        loss.backward();
        sgd(m, 0.05);
        reset_stats();
        kiln::realize(m.params());  // as an optimizer's step() does
        CHECK(stats().realizations == 1);
        int64_t launched = stats().kernels_launched + stats().extern_calls;
        float l = loss.item<float>();
        CHECK(stats().kernels_launched + stats().extern_calls == launched);
        CHECK(stats().realizations == 1);
        CHECK(l == before.item<float>());
    }
}

TEST_CASE("reading the loss before backward does not run the forward twice", "[autograd][step]") {
    Mlp m;
    Tensor x = normal({16, 4}), y = normal({16, 3});
    auto run = [&](bool read_first) {
        for (int warm = 0; warm < 2; ++warm) {  // the second round: programs compiled
            reset_stats();
            Tensor loss = m.loss(x, y);
            float before = read_first ? loss.item<float>() : 0;
            loss.backward();
            sgd(m, 0.01);
            kiln::realize(m.params());
            float after = loss.item<float>();
            if (read_first) CHECK(before == after);
        }
        return stats();
    };
    Stats late = run(false), early = run(true);
    CHECK(late.realizations == 1);
    CHECK(early.realizations == 2);
    // The same BLAS calls: the backward's program reuses the forward's saved matmul results.
    CHECK(early.extern_calls == late.extern_calls);
}

TEST_CASE("memory and live nodes stay flat over 1000 steps", "[autograd][step]") {
    Mlp m;
    Tensor x = normal({16, 4}), y = normal({16, 3});
    auto step = [&](int i) {
        Tensor loss = m.loss(x, y);
        loss.backward();
        sgd(m, 0.01 + 1e-5 * i);
        (void)loss.item<float>();
    };
    for (int i = 0; i < 20; ++i) step(i);
    runtime::AllocatorStats a0 = runtime::CpuAllocator::global().stats();
    size_t nodes0 = ir::live_node_count();
    for (int i = 20; i < 1000; ++i) step(i);
    runtime::AllocatorStats a1 = runtime::CpuAllocator::global().stats();
    size_t nodes1 = ir::live_node_count();
    INFO("bytes in use " << a0.bytes_in_use << " -> " << a1.bytes_in_use << ", cached "
                         << a0.bytes_cached << " -> " << a1.bytes_cached << ", nodes " << nodes0
                         << " -> " << nodes1);
    CHECK(a1.bytes_in_use == a0.bytes_in_use);
    CHECK(a1.bytes_in_use + a1.bytes_cached <= a0.bytes_in_use + a0.bytes_cached);
    CHECK(nodes1 <= nodes0);
}

}  // namespace kiln::test
