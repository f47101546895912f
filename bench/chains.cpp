// Graphs that are big on purpose: realize time of long chains of elementwise ops (the
// hardening issue's cases), with every constant drawn fresh so no cache from an earlier run
// helps. Fusion cuts a chain into kernels of at most a few hundred ops; kernels with many
// transcendental functions call the math library instead of inlining it. Prints medians of 3.
//
//   build/release/bench/bench_chains
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "bench/timing.h"

#include <kiln/kiln.h>
#include <kiln/stats.h>

namespace {

long max_rss_mb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

struct Chain {
    const char* name;
    int ops_per_step;
    std::function<kiln::Tensor(const kiln::Tensor&, double c, int i)> step;
};

}  // namespace

int main() {
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_real_distribution<double> fresh(1e-6, 1e-4);
    std::vector<Chain> chains{
        {"x = x + c", 1, [](const kiln::Tensor& x, double c, int) { return x + c; }},
        {"x = sin(x)", 1,
         [](const kiln::Tensor& x, double c, int i) {
             return i == 0 ? kiln::sin(x + c) : kiln::sin(x);
         }},
        {"x = x * c + sin(x)", 3,
         [](const kiln::Tensor& x, double c, int) { return x * (1 + c) + kiln::sin(x); }},
        {"  ... a new c every step", 3,
         [](const kiln::Tensor& x, double c, int i) {
             return x * (1 + c + i * 1e-9) + kiln::sin(x);
         }},
    };
    std::printf("%-26s %8s %10s %10s %9s %8s\n", "chain (from a realized x)", "ops", "record s",
                "realize s", "kernels", "RSS MB");
    for (int ops : {10000, 100000}) {
        for (const Chain& chain : chains) {
            std::vector<double> record, realize;
            int64_t kernels = 0;
            for (int rep = 0; rep < 3; ++rep) {
                kiln::Tensor x = kiln::full({4}, 0.5);
                x.realize();
                double c = fresh(rng);
                int64_t before = kiln::stats().kernels_compiled;
                record.push_back(kiln_bench::seconds([&] {
                    for (int i = 0; i < ops / chain.ops_per_step; ++i) x = chain.step(x, c, i);
                }));
                realize.push_back(kiln_bench::seconds([&] { x.realize(); }));
                kernels = kiln::stats().kernels_compiled - before;
            }
            std::printf("%-26s %8d %10.3f %10.3f %9lld %8ld\n", chain.name, ops,
                        kiln_bench::median(record), kiln_bench::median(realize),
                        static_cast<long long>(kernels), max_rss_mb());
        }
    }
    std::printf("\n(kernels: compiled by LLVM in the last run; equal kernels are compiled once)\n");
    return 0;
}
