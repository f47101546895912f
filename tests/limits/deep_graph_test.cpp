// Graphs that are big on purpose: chains of tens of thousands of ops realized, printed and
// destroyed under the normal 8 MB stack (no pass, printer, interpreter or codegen step may
// recurse once per node), and realize time that grows linearly with the chain.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <pthread.h>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "kiln/inspect.h"
#include "kiln/kiln.h"

using namespace kiln;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// A realized [4] tensor of `v`: chains start from a buffer, as in a training loop.
Tensor start(float v) {
    Tensor x = full({4}, v);
    x.realize();
    return x;
}

}  // namespace

TEST_CASE("a 16000-op chain of adds realizes", "[limits][deep]") {
    Tensor x = start(1.0f);
    for (int i = 0; i < 16000; ++i) x = x + 1.0;
    CHECK(x.to_vector<float>() == std::vector<float>(4, 16001.0f));
}

TEST_CASE("a 20000-op chain of sin realizes, prints and matches the host", "[limits][deep]") {
    Tensor x = start(1.0f);
    for (int i = 0; i < 20000; ++i) x = kiln::sin(x);
    // The printers walk the whole graph and every kernel.
    std::string graph = graph_text({x});
    CHECK(std::count(graph.begin(), graph.end(), '\n') == 20002);
    std::string kernels = kernels_text({x});
    CHECK(kernels.find("kernel size bound") != std::string::npos);
    double want = 1.0;
    for (int i = 0; i < 20000; ++i) want = std::sin(want);
    // sin contracts errors: 20000 steps of ~1 ulp each stay well under 1e-3 relative.
    CHECK(x.to_vector<float>()[3] == Approx(want).epsilon(1e-3));
}

TEST_CASE("a long chain with a reused value and a reduction realizes", "[limits][deep]") {
    Tensor x = start(0.5f);
    for (int i = 0; i < 4000; ++i) x = x * 0.999 + kiln::sin(x) * 0.001;
    Tensor total = x.sum();
    double want = 0.5;
    for (int i = 0; i < 4000; ++i) want = want * 0.999 + std::sin(want) * 0.001;
    CHECK(total.item<float>() == Approx(4 * want).epsilon(1e-4));
}

TEST_CASE("a stencil chain (one value read through many views) realizes", "[limits][deep]") {
    // x' = x[:-1] + x[1:], 120 times: binomial sums, exact in f64 for these sizes.
    const int n = 256, steps = 120;
    Tensor x = arange(n).to(kFloat64);
    x.realize();
    std::vector<double> want(n);
    for (int i = 0; i < n; ++i) want[i] = i;
    for (int k = 0; k < steps; ++k) {
        int64_t len = x.size(0);
        x = x.slice(0, 0, len - 1) + x.slice(0, 1, len);
        for (int i = 0; i + 1 < static_cast<int>(want.size()); ++i) want[i] = want[i] + want[i + 1];
        want.pop_back();
    }
    std::vector<double> got = x.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-12));
}

TEST_CASE("dropping a 100000-op graph that was never realized is fine", "[limits][deep]") {
    Tensor x = start(1.0f);
    for (int i = 0; i < 100000; ++i) x = kiln::exp(x * 0.5);
    x = Tensor();  // the nodes are released iteratively
    CHECK(start(2.0f).sum().item<float>() == 8.0f);
}

TEST_CASE("realize time grows linearly with the chain", "[limits][deep][scaling]") {
    // Fresh constants every run, so neither the program cache nor the disk cache helps; each
    // step gets its own constant, so every kernel of the chain differs and is compiled.
    std::mt19937 rng(std::random_device{}());
    double base = 1.0 + std::uniform_real_distribution<double>(0, 1e-3)(rng);
    auto chain = [&](int steps) {
        Tensor x = start(0.25f);
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < steps; ++i) x = x * (base + i * 1e-9) + kiln::sin(x);
        x.realize();
        return seconds_since(t0);
    };
    chain(50);  // JIT and math library start-up
    double small = chain(1000);
    double large = chain(4000);
    INFO("3000 ops: " << small << " s, 12000 ops: " << large << " s");
    // Linear would be 4x; quadratic 16x. Generous bounds for a loaded machine.
    CHECK(large < 8 * small + 1.0);
    CHECK(large < 30.0);
}

TEST_CASE("a deep chain realizes on a thread with a 1 MB stack", "[limits][deep]") {
    // Recursion proportional to the graph's depth would need ~100 bytes per op: 2 MB here.
    // (Kernels are bounded, so what recursion remains is per kernel.)
    struct Job {
        float result = 0;
        std::string error;
    } job;
    auto body = [](void* arg) -> void* {
        auto* j = static_cast<Job*>(arg);
        try {
            Tensor x = start(0.5f);
            for (int i = 0; i < 20000; ++i) x = kiln::sin(x) + 0.001;
            j->result = x.sum().item<float>();
        } catch (const std::exception& e) {
            j->error = e.what();
        }
        return nullptr;
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, size_t(1) << 20);
    pthread_t thread;
    REQUIRE(pthread_create(&thread, &attr, body, &job) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
    CHECK(job.error.empty());
    double want = 0.5;
    for (int i = 0; i < 20000; ++i) want = std::sin(want) + 0.001;
    CHECK(job.result == Approx(4 * want).epsilon(1e-3));
}

TEST_CASE("a long chain of views through permuted layouts realizes, exactly", "[limits][deep]") {
    // Reshapes of transposed and flipped layouts compose into divisions and remainders; a
    // long chain must neither blow up the index arithmetic nor compile slowly (lowering cuts
    // it where a copy is cheaper). Checked against a host simulation of the same views.
    Tensor x = arange(24).to(kFloat32).reshape({6, 4});
    x.realize();
    std::vector<float> h(24);
    for (int i = 0; i < 24; ++i) h[i] = static_cast<float>(i);
    int rows = 6, cols = 4;
    auto transpose = [&] {
        std::vector<float> t(24);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) t[c * rows + r] = h[r * cols + c];
        h = t;
        std::swap(rows, cols);
    };
    for (int i = 0; i < 2000; ++i) {
        switch (i % 4) {
        case 0: x = x.reshape({4, 6}), rows = 4, cols = 6; break;
        case 1:
            x = x.t() + 1.0;
            transpose();
            for (float& v : h) v += 1;
            break;
        case 2:
            x = x.reshape({3, 8}).flip({1}).reshape({6, 4});
            for (int r = 0; r < 3; ++r) std::reverse(h.begin() + r * 8, h.begin() + r * 8 + 8);
            rows = 6, cols = 4;
            break;
        case 3: x = x.slice(0, 0, 6).contiguous() * 1.0; break;
        }
    }
    CHECK(x.to_vector<float>() == h);
}

TEST_CASE("a loop that records and never reads is realized past the pending bound",
          "[limits][deep][pending]") {
    Tensor x = start(0.0f);
    reset_stats();
    const int64_t steps = (int64_t(1) << 18) + 1000;  // one past kMaxPendingOps
    for (int64_t i = 0; i < steps; ++i) x = x + 1.0;
    // The op that crossed the bound computed its result: the graph left is the last 1000 ops.
    CHECK(stats().realizations == 1);
    std::string graph = graph_text({x});
    CHECK(std::count(graph.begin(), graph.end(), '\n') < 1010);
    CHECK(x.to_vector<float>() == std::vector<float>(4, static_cast<float>(steps)));
}
