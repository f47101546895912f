// Kiln's benchmark: fused kernels against this machine's own limits, measured in the same run.
// Prints medians and ratios: bandwidth-bound kernels vs a STREAM triad (OpenMP), matmul vs the
// best BLAS sgemm available, JIT compile time (cold and from the disk cache), recording cost per
// op and the cost of a step whose program is cached.
//
//   build/release/bench/bench_kiln            (KILN_NUM_THREADS sets the threads, default all)
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

#include "bench/timing.h"
#include "codegen/cpu_compiler.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "passes/pipeline.h"
#include "runtime/blas.h"
#include "runtime/cpu_allocator.h"
#include "runtime/thread_pool.h"

#ifdef KILN_HAVE_OPENMP
#include <omp.h>
#endif

namespace {

using kiln_bench::median_seconds;
using kiln_bench::seconds;

double triad_gbps(int threads) {
    const int64_t n = int64_t(1) << 25;
    std::vector<float> a(n), b(n), c(n);
#ifdef KILN_HAVE_OPENMP
    omp_set_num_threads(threads);
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < n; ++i) {
        a[i] = 0;
        b[i] = 1;
        c[i] = 2;
    }
    float s = 3;
    double t = median_seconds(11, [&] {
#ifdef KILN_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
        for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
    });
    return 3.0 * n * sizeof(float) / t / 1e9;
}

void row(const char* name, double value, const char* unit, double ratio, const char* against,
         double target) {
    std::printf("%-34s %10.2f %-8s %6.2f x %-14s (target >= %.2f)%s\n", name, value, unit, ratio,
                against, target, ratio >= target ? "" : "  BELOW TARGET");
}

std::vector<kiln::ir::LoopKernel> kernels_of(const std::vector<kiln::Tensor>& ts) {
    std::vector<kiln::ir::NodeRef> roots;
    for (const auto& t : ts) roots.push_back(t.impl()->node());
    std::vector<kiln::ir::LoopKernel> out;
    // Placeholders instead of buffers (as the realize driver does).
    std::vector<std::shared_ptr<kiln::runtime::Buffer>> inputs;
    std::vector<kiln::ir::NodeRef> canon = kiln::detail::canonical_graph(roots, inputs);
    for (const auto& step : kiln::passes::compile_graph(canon).steps)
        if (const auto* k = std::get_if<kiln::ir::KernelStep>(&step)) out.push_back(k->kernel);
    return out;
}

}  // namespace

int main() {
    int threads = kiln::runtime::ThreadPool::global().num_threads();
    std::printf("Kiln benchmark: %d threads, %s\n", threads,
                kiln::codegen::CpuCompiler::global().target_description().c_str());
    std::printf("BLAS: %s\n\n", kiln::runtime::blas_backend_name().c_str());

    double triad = triad_gbps(threads);
    std::printf("%-34s %10.2f GB/s   (STREAM triad, OpenMP, %d threads: the bandwidth limit)\n\n",
                "triad a = b + s*c, 2^25 f32", triad, threads);

    kiln::manual_seed(1);
    {
        const int64_t n = int64_t(1) << 24;
        auto x = kiln::randn({n}), w = kiln::randn({n}), b = kiln::randn({n});
        kiln::realize({x, w, b});  // (randn is lazy: time the chain, not the draws)
        double t = median_seconds(11, [&] {
            (kiln::gelu(x * w + b) * kiln::sigmoid(x) + x * x).realize();
        });
        double gbps = 4.0 * n * 4 / t / 1e9;
        row("gelu(x*w+b)*sigmoid(x)+x*x, 2^24", gbps, "GB/s", gbps / triad, "triad", 0.8);
        std::printf("%-34s %10.2f ms\n", "  (time)", t * 1e3);
    }
    {
        auto x = kiln::randn({4096, 4096});
        x.realize();
        double t = median_seconds(11, [&] { kiln::softmax(x, 1).realize(); });
        double gbps = 2.0 * 4096 * 4096 * 4 / t / 1e9;
        row("softmax 4096x4096 dim 1", gbps, "GB/s", gbps / triad, "triad", 0.5);
        std::printf("%-34s %10.2f ms\n", "  (time)", t * 1e3);
        double ts = median_seconds(11, [&] { x.sum({1}).realize(); });
        double gs = 1.0 * 4096 * 4096 * 4 / ts / 1e9;
        row("row sum 4096x4096", gs, "GB/s", gs / triad, "triad", 0.7);
        std::printf("%-34s %10.2f ms\n", "  (time)", ts * 1e3);
    }
    {
        const int64_t n = 2048;
        auto a = kiln::randn({n, n}), b = kiln::randn({n, n});
        a.realize();
        b.realize();
        double t = median_seconds(7, [&] { kiln::matmul(a, b).realize(); });
        double gflops = 2.0 * n * n * n / t / 1e9;
        std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>(), cv(n * n);
        double tb = median_seconds(7, [&] {
            kiln::runtime::gemm_f32(1, n, n, n, av.data(), bv.data(), cv.data());
        });
        double blas = 2.0 * n * n * n / tb / 1e9;
        row("matmul 2048^3 f32", gflops, "GFLOP/s", gflops / blas, "direct sgemm", 0.8);
        std::printf("%-34s %10.2f GFLOP/s\n", "  (direct sgemm)", blas);
    }
    {
        // Distinct kernels (different sizes), compiled cold into a fresh cache directory, then
        // loaded back from disk by a second compiler.
        auto dir = std::filesystem::temp_directory_path() /
                   ("kiln-bench-cache-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::vector<kiln::ir::LoopKernel> ks;
        for (int i = 0; i < 8; ++i) {
            auto x = kiln::randn({64 + i, 128});
            for (const auto& k : kernels_of({kiln::gelu(x * 2 + 1) * kiln::sigmoid(x),
                                             kiln::softmax(x, 1), x.sum({1})}))
                ks.push_back(k);
        }
        std::vector<double> cold, disk;
        {
            kiln::codegen::CpuCompiler c(dir);
            for (const auto& k : ks) cold.push_back(seconds([&] { c.compile(k); }));
        }
        {
            kiln::codegen::CpuCompiler c(dir);
            for (const auto& k : ks) disk.push_back(seconds([&] { c.compile(k); }));
        }
        std::sort(cold.begin(), cold.end());
        std::sort(disk.begin(), disk.end());
        double cm = cold[cold.size() / 2] * 1e3, dm = disk[disk.size() / 2] * 1e3;
        std::printf("%-34s %10.2f ms     (target <= 20 ms)%s\n", "JIT compile per kernel, cold", cm,
                    cm <= 20 ? "" : "  ABOVE TARGET");
        std::printf("%-34s %10.3f ms     (target <= 1 ms)%s\n", "JIT compile per kernel, disk", dm,
                    dm <= 1 ? "" : "  ABOVE TARGET");
        std::filesystem::remove_all(dir);
    }
    {
        auto x = kiln::randn({16});
        const int ops = 200000;
        double t = median_seconds(5, [&] {
            for (int i = 0; i < ops; ++i) {
                kiln::Tensor y = x * static_cast<float>(i);
                (void)y;
            }
        });
        double ns = t / ops * 1e9;
        std::printf("%-34s %10.0f ns     (target <= 1000 ns)%s\n", "recording per op", ns,
                    ns <= 1000 ? "" : "  ABOVE TARGET");
    }
    {
        // A small training-like step on fresh data each time: record 9 ops, realize (program
        // cache hit), run 1 kernel (softmax + reductions fused) and read the scalar back.
        auto w = kiln::randn({64, 64});
        w.realize();
        std::vector<kiln::Tensor> xs;
        for (int i = 0; i < 16; ++i) xs.push_back(kiln::randn({64, 64}).realize());
        size_t next = 0;
        auto step = [&] {
            const kiln::Tensor& x = xs[next++ % xs.size()];
            auto h = kiln::tanh(x * w + 1) * 0.5;
            auto y = kiln::softmax(h, 1).sum({1}).mean();
            y.item<float>();
        };
        double t = median_seconds(101, step);
        std::printf("%-34s %10.1f us     (record + cached realize + run, 64x64)\n",
                    "cache-hit step", t * 1e6);
    }
    return 0;
}
