// Several threads using Kiln at once: reading, realizing and dropping the same lazy tensors,
// realizing independent graphs and graphs of one structure concurrently. Run under
// ThreadSanitizer by `scripts/test --sanitize` (the tsan build), where a data race fails.
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "kiln/kiln.h"

using namespace kiln;

namespace {

/// Runs fn(i) on `n` threads at once (released together) and joins them.
template <class F>
void on_threads(int n, F fn) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            ready.fetch_add(1);
            while (ready.load() < n) std::this_thread::yield();
            fn(i);
        });
    }
    for (std::thread& t : threads) t.join();
}

}  // namespace

TEST_CASE("threads read the same lazy tensor while it is realized", "[threads]") {
    for (int round = 0; round < 20; ++round) {
        Tensor x = arange(1024).to(kFloat32);
        Tensor y = kiln::sin(x) * 2.0 + float(round);  // lazy, shared by every thread
        std::vector<double> sums(8);
        on_threads(8, [&](int i) {
            if (i % 3 == 0)
                sums[i] = y.sum().item<float>();
            else if (i % 3 == 1)
                sums[i] = y.to_vector<float>()[7];
            else
                sums[i] = (y + 0.0).sum().item<float>();
            (void)y.sizes();  // accessors read the node while others swap it
        });
        float at7 = y.to_vector<float>()[7];
        float total = y.sum().item<float>();
        // Element reads are exact; sums may come from differently fused kernels (realized y or
        // not), whose reassociated partial sums differ in the last bits.
        for (int i = 0; i < 8; ++i) {
            if (i % 3 == 1)
                CHECK(sums[i] == at7);
            else
                CHECK(sums[i] == Approx(total).margin(1e-3));  // 1024 terms of size <= 2
        }
    }
}

TEST_CASE("threads drop tensors that others are realizing", "[threads]") {
    for (int round = 0; round < 20; ++round) {
        Tensor base = arange(4096).to(kFloat64);
        std::vector<Tensor> parts;
        for (int i = 0; i < 8; ++i) parts.push_back(base * double(i) + 1.0);
        std::vector<Tensor> copies = parts;
        std::vector<double> got(8);
        on_threads(8, [&](int i) {
            Tensor mine = copies[i];
            copies[i] = Tensor();  // drop one handle while another thread may read the graph
            if (i % 2) parts[i] = Tensor();
            got[i] = mine.sum().item<double>();
        });
        for (int i = 0; i < 8; ++i) CHECK(got[i] == Approx(4095.0 * 4096 / 2 * i + 4096));
    }
}

TEST_CASE("threads realize independent graphs, and graphs of one structure, concurrently",
          "[threads]") {
    // (Catch's assertions are not thread-safe: results are checked after the join.)
    std::vector<std::vector<float>> own(6), shared(6);
    on_threads(6, [&](int i) {
        for (int k = 0; k < 10; ++k) {
            // A structure of this thread's own (compiled here) and one every thread shares
            // (compiled once, by whichever thread gets there first).
            Tensor mine = kiln::exp(full({64, 16}, 0.01 * i)).sum({1}) * double(k);
            Tensor common = (arange(256).to(kFloat32) + float(k)).sum();
            own[i].push_back(mine.to_vector<float>()[3]);
            shared[i].push_back(common.item<float>());
        }
    });
    for (int i = 0; i < 6; ++i) {
        for (int k = 0; k < 10; ++k) {
            CHECK(own[i][k] == Approx(16 * std::exp(0.01 * i) * k).epsilon(1e-5));
            CHECK(shared[i][k] == 255.0f * 256 / 2 + 256.0f * k);
        }
    }
}

TEST_CASE("threads realize tensors that share a subgraph", "[threads]") {
    for (int round = 0; round < 10; ++round) {
        Tensor common = kiln::tanh(arange(512).to(kFloat32) * 0.01);
        std::vector<float> got(8);
        on_threads(8, [&](int i) {
            Tensor mine = (common * float(i)).sum();
            got[i] = mine.item<float>();
        });
        float unit = common.sum().item<float>();
        for (int i = 0; i < 8; ++i) CHECK(got[i] == Approx(unit * i).epsilon(1e-5));
    }
}

TEST_CASE("threads train their own models at once", "[threads][autograd]") {
    // Each thread: forward, backward and a hand-written SGD update of its own small MLP, with
    // the loss read first on odd threads (saved values) and last on even ones (co-computed);
    // a changing learning rate (lifted constants) and dropout (lazy random numbers).
    std::vector<float> first(4), last(4);
    on_threads(4, [&](int i) {
        Tensor w1 = (kiln::rand({8, 16}) - 0.5) * 0.5, w2 = (kiln::rand({16, 4}) - 0.5) * 0.5;
        kiln::realize({w1, w2});
        w1.requires_grad_();
        w2.requires_grad_();
        Tensor x = kiln::rand({32, 8}), y = kiln::rand({32, 4});
        kiln::realize({x, y});
        for (int step = 0; step < 20; ++step) {
            Tensor h = kiln::dropout(kiln::relu(kiln::matmul(x, w1)), 0.1, true);
            Tensor d = kiln::matmul(h, w2) - y;
            Tensor loss = (d * d).mean();
            float early = i % 2 ? loss.item<float>() : 0.0f;
            loss.backward();
            {
                NoGradGuard g;
                for (Tensor* p : {&w1, &w2}) {
                    p->sub_(p->grad(), 0.1 + 0.001 * step);
                    p->mutable_grad() = Tensor();
                }
            }
            kiln::realize({w1, w2});
            float l = i % 2 ? early : loss.item<float>();
            if (step == 0) first[i] = l;
            last[i] = l;
        }
    });
    for (int i = 0; i < 4; ++i) CHECK(last[i] < first[i]);
}
