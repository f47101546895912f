// Realizing from several threads: host threads that each realize their own graphs, against one
// thread doing all of it. Kiln's pool is sized 1 (KILN_NUM_THREADS=1, set here), so the speedup
// measures how much of the realize path runs concurrently (recording, canonicalizing, compiling,
// running), not the pool's parallel kernels. Prints medians; speedup is bounded by the cores.
//
//   build/release/bench/bench_threads [host threads, default 4]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/timing.h"

#include <kiln/kiln.h>

namespace {

using kiln_bench::median;
using kiln_bench::seconds;

/// Runs work(i) for i in [0, n) on `threads` threads (i split round-robin); returns seconds.
double run_on(int threads, int n, const std::function<void(int)>& work) {
    return seconds([&] {
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] {
                for (int i = t; i < n; i += threads) work(i);
            });
        for (auto& t : ts) t.join();
    });
}

/// A small step of graph `g` (its own shape, so its own program): record, realize, read.
float step(int g, const kiln::Tensor& x) {
    auto h = kiln::tanh(x * 0.5 + 1.0) * kiln::sigmoid(x);
    return kiln::softmax(h, 1).sum({1}).mean().item<float>() + static_cast<float>(g);
}

}  // namespace

int main(int argc, char** argv) {
    setenv("KILN_NUM_THREADS", "1", 1);
    // Cold compiles every run: a cache directory of this process's own.
    auto cache = std::filesystem::temp_directory_path() /
                 ("kiln-bench-threads-" + std::to_string(::getpid()));
    setenv("KILN_CACHE_DIR", cache.c_str(), 1);
    int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 4;
    std::printf("Kiln threads benchmark: %d host threads vs 1, pool of 1 thread each, %u CPUs\n\n",
                threads, std::thread::hardware_concurrency());

    std::vector<kiln::Tensor> xs;
    for (int g = 0; g < 64 * threads; ++g) xs.push_back(kiln::randn({32 + g % 64, 48}).realize());

    // 1. Compile-bound: each graph is new (distinct shapes); 1 thread compiles 2*threads of
    //    them, then `threads` threads compile 2*threads others.
    int graphs = 2 * threads;
    double serial = run_on(1, graphs, [&](int i) { step(i, xs[i]); });
    double parallel = run_on(threads, graphs, [&](int i) { step(i, xs[graphs + i]); });
    std::printf("%-44s %8.1f ms  vs %8.1f ms   speedup %.2f x\n",
                "independent graphs, compiled (per graph)", parallel / graphs * 1e3,
                serial / graphs * 1e3, serial / parallel);

    // 2. Cache hits: every graph compiled above, run again and again (record + realize + run).
    const int reps = 200;
    std::vector<double> one, many;
    for (int r = 0; r < 5; ++r) {
        one.push_back(run_on(1, graphs * reps, [&](int i) { step(i % graphs, xs[i % graphs]); }));
        many.push_back(
            run_on(threads, graphs * reps, [&](int i) { step(i % graphs, xs[i % graphs]); }));
    }
    double o = median(one), m = median(many);
    std::printf("%-44s %8.1f us  vs %8.1f us   speedup %.2f x\n",
                "independent graphs, cached (per step)", m / (graphs * reps) * 1e6,
                o / (graphs * reps) * 1e6, o / m);
    std::filesystem::remove_all(cache);
    return 0;
}
