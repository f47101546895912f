// What backward graphs are full of, against this machine's limits measured in the same run: a
// column sum (the bias gradient, a reduction over the leading axis), a materialized transpose,
// Adam's update of a large parameter (one merged kernel),
// matmuls with transposed operands (BLAS flags, no copy) next to a direct sgemm, and conv2d
// forward + backward (runtime/conv.cpp). Prints medians.
//
//   build/release/bench/bench_backward_ops [conv]   (conv: only the conv2d rows; PyTorch's
//                                                    conv numbers: bench/conv_torch.py)
#include <cstdio>
#include <string>
#include <vector>

#include "bench/timing.h"
#include "runtime/blas.h"
#include "runtime/cpu_allocator.h"
#include <kiln/kiln.h>

#ifdef KILN_HAVE_OPENMP
#include <omp.h>
#endif

namespace {

using kiln_bench::median_seconds;

double triad_gbps() {
    const int64_t n = int64_t(1) << 25;
    std::vector<float> a(n), b(n, 1), c(n, 2);
    double t = median_seconds(11, [&] {
#ifdef KILN_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
        for (int64_t i = 0; i < n; ++i) a[i] = b[i] + 3.0f * c[i];
    });
    return 3.0 * n * sizeof(float) / t / 1e9;
}

void row(const char* name, double ms, double value, const char* unit, double ratio,
         const char* against, double target) {
    std::printf("%-30s %8.2f ms %9.2f %-7s %5.2f x %-6s (target >= %.2f)%s\n", name, ms, value,
                unit, ratio, against, target, ratio >= target ? "" : "  BELOW TARGET");
}

}  // namespace

int main(int argc, char** argv) {
    bool conv_only = argc > 1 && std::string(argv[1]) == "conv";
    if (!conv_only) {
        double triad = triad_gbps();
        std::printf("triad (2^25 f32, OpenMP)         %.2f GB/s\n\n", triad);
        {
            auto x = kiln::randn({4096, 4096});
            x.realize();
            double bytes = 4096.0 * 4096 * 4;
            double tc = median_seconds(9, [&] { x.sum({0}).realize(); });
            row("column sum 4096x4096 (dim 0)", tc * 1e3, bytes / tc / 1e9, "GB/s",
                bytes / tc / 1e9 / triad, "triad", 0.7);
            double tr = median_seconds(9, [&] { x.sum({1}).realize(); });
            row("row sum 4096x4096 (dim 1)", tr * 1e3, bytes / tr / 1e9, "GB/s",
                bytes / tr / 1e9 / triad, "triad", 0.7);
            double tt = median_seconds(9, [&] { x.t().contiguous().realize(); });
            row("transpose copy 4096x4096", tt * 1e3, 2 * bytes / tt / 1e9, "GB/s",
                2 * bytes / tt / 1e9 / triad, "triad", 0.5);
        }
        {
            // Adam's step on a 4096x1024 parameter whose gradient is given: one kernel reads the
            // gradient, the weight and both moments and writes the last three (7 floats moved
            // per element).
            auto w = kiln::randn({4096, 1024});
            auto g = kiln::randn({4096, 1024});
            kiln::realize({w, g});
            w.requires_grad_();
            kiln::optim::Adam adam({w}, kiln::optim::AdamOptions(1e-3));
            auto step = [&] {
                w.mutable_grad() = g;
                adam.step();
                w.realize();
            };
            kiln::Stats before = kiln::stats();
            step();
            int64_t kernels = kiln::stats().kernels_launched - before.kernels_launched;
            double ta = median_seconds(9, step);
            double bytes = 7.0 * 4096 * 1024 * 4;
            char name[64];
            std::snprintf(name, sizeof name, "Adam step 4096x1024 (%lld kernel)",
                          static_cast<long long>(kernels));
            row(name, ta * 1e3, bytes / ta / 1e9, "GB/s", bytes / ta / 1e9 / triad, "triad", 0.7);
        }
        {
            // A compiled kernel writing fresh memory from the system (page faults: the allocator's
            // cache emptied first), then the same again with the cached block.
            auto x = kiln::randn({4096, 4096});
            x.realize();
            (x * 2).realize();  // compiles the kernel
            kiln::runtime::CpuAllocator::global().empty_cache();
            double first = kiln_bench::seconds([&] { (x * 2).realize(); });
            double again = kiln_bench::seconds([&] { (x * 2).realize(); });
            std::printf("first use of a fresh 64 MiB buffer  %6.2f ms  (then %.2f ms cached)\n",
                        first * 1e3, again * 1e3);
        }
        {
            const int64_t n = 1024;
            auto a = kiln::randn({n, n}), b = kiln::randn({n, n});
            kiln::realize({a, b});
            std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>(), cv(n * n);
            double ts = median_seconds(
                9, [&] { kiln::runtime::gemm_f32(1, n, n, n, av.data(), bv.data(), cv.data()); });
            double blas = 2.0 * n * n * n / ts / 1e9;
            std::printf("\ndirect sgemm 1024^3              %.1f GFLOP/s\n", blas);
            struct Case {
                const char* name;
                kiln::Tensor (*f)(const kiln::Tensor&, const kiln::Tensor&);
            };
            const Case cases[] = {
                {"a @ b 1024^3",
                 [](const kiln::Tensor& x, const kiln::Tensor& y) { return kiln::matmul(x, y); }},
                {"a.t() @ b 1024^3", [](const kiln::Tensor& x,
                                        const kiln::Tensor& y) { return kiln::matmul(x.t(), y); }},
                {"a @ b.t() 1024^3", [](const kiln::Tensor& x,
                                        const kiln::Tensor& y) { return kiln::matmul(x, y.t()); }},
            };
            for (const Case& c : cases) {
                double t = median_seconds(9, [&] { c.f(a, b).realize(); });
                double gf = 2.0 * n * n * n / t / 1e9;
                row(c.name, t * 1e3, gf, "GFLOP/s", gf / blas, "sgemm", 0.8);
            }
        }
    }
    {
        std::printf("\nconv2d 3x3 padding 1, forward + backward (input and weight gradients):\n");
        struct Conv {
            int64_t n, c, h, o;
        };
        for (Conv cv : {Conv{256, 1, 28, 16}, Conv{256, 16, 14, 32}}) {
            auto x = kiln::randn({cv.n, cv.c, cv.h, cv.h});
            auto w = (kiln::randn({cv.o, cv.c, 3, 3}) * 0.1);
            kiln::realize({x, w});
            x.requires_grad_();
            w.requires_grad_();
            double tf = median_seconds(7, [&] {
                kiln::conv2d(x, w, {}, {1, 1}, {1, 1}).realize();
            });
            double tb = median_seconds(7, [&] {
                kiln::Tensor y = kiln::conv2d(x, w, {}, {1, 1}, {1, 1});
                y.sum().backward();
                kiln::realize({x.grad(), w.grad()});
                x.mutable_grad() = kiln::Tensor();
                w.mutable_grad() = kiln::Tensor();
            });
            double flops = 2.0 * cv.n * cv.o * cv.h * cv.h * cv.c * 9;  // one pass
            std::printf("  [%lld,%lld,%lld,%lld] -> %lld ch:  forward %7.2f ms (%5.1f GFLOP/s)   "
                        "forward+backward %7.2f ms (%5.1f GFLOP/s)\n",
                        (long long)cv.n, (long long)cv.c, (long long)cv.h, (long long)cv.h,
                        (long long)cv.o, tf * 1e3, flops / tf / 1e9, tb * 1e3,
                        3 * flops / tb / 1e9);
        }
    }
    return 0;
}
