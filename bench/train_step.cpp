// The training-step benchmark of the autograd issue: forward + backward + a hand-written SGD
// update of a 784-512-512-10 ReLU MLP on a batch of 256 with cross-entropy, as one cached
// program per step. Prints the median step time, and the time to get the step's program cold
// (empty kernel cache) and warm (a fresh process on the disk cache), next to PyTorch eager
// doing the same step when bench/train_step_torch.py is run beside it (see the README).
//
//   build/release/bench/bench_train_step [steps]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench/timing.h"

#include <kiln/kiln.h>

namespace F = kiln::nn::functional;

namespace {

struct Mlp {
    std::vector<kiln::Tensor> params;
    explicit Mlp(const std::vector<int64_t>& sizes) {
        for (size_t i = 0; i + 1 < sizes.size(); ++i) {
            double bound = 1.0 / std::sqrt(static_cast<double>(sizes[i]));
            kiln::Tensor w = (kiln::rand({sizes[i + 1], sizes[i]}) * 2 - 1) * bound;
            kiln::Tensor b = (kiln::rand({sizes[i + 1]}) * 2 - 1) * bound;
            kiln::realize({w, b});
            params.push_back(w.requires_grad_());
            params.push_back(b.requires_grad_());
        }
    }
    kiln::Tensor forward(kiln::Tensor x) const {
        for (size_t i = 0; i < params.size(); i += 2) {
            x = kiln::linear(x, params[i], params[i + 1]);
            if (i + 2 < params.size()) x = kiln::relu(x);
        }
        return x;
    }
};

/// One step; returns the loss (computed with the update, read afterwards for free; or, with
/// `read_first`, read before backward: a program of its own, and the backward's program then
/// computes the forward again, since the forward's intermediate values were not kept).
float step(Mlp& m, const kiln::Tensor& x, const kiln::Tensor& y, double lr,
           bool read_first = false) {
    kiln::Tensor loss = F::cross_entropy(m.forward(x), y);
    float early = read_first ? loss.item<float>() : 0;
    loss.backward();
    {
        kiln::NoGradGuard g;
        for (kiln::Tensor& p : m.params) {
            p.sub_(p.grad(), lr);
            p.mutable_grad() = kiln::Tensor();
        }
    }
    kiln::realize(m.params);
    return read_first ? early : loss.item<float>();
}

struct Setup {
    Mlp model{{784, 512, 512, 10}};
    kiln::Tensor x = kiln::rand({256, 784});
    kiln::Tensor y = (kiln::rand({256}) * 10).to(kiln::kInt64);
    Setup() { kiln::realize({x, y}); }
};

/// Seconds of the first step (compiling, or loading from the disk cache) and of a later one.
std::pair<double, double> first_and_steady() {
    Setup s;
    double first = kiln_bench::seconds([&] { step(s.model, s.x, s.y, 0.01); });
    double steady = kiln_bench::median_seconds(5, [&] { step(s.model, s.x, s.y, 0.01); });
    return {first, steady};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--first-step") {  // the warm-start child
        auto [first, steady] = first_and_steady();
        std::printf("%.6f %.6f\n", first, steady);
        return 0;
    }
    int steps = argc > 1 ? std::atoi(argv[1]) : 50;
    // Compile times: a fresh cache directory, so the first step compiles everything...
    std::string dir = "/tmp/kiln_bench_cache_" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    setenv("KILN_CACHE_DIR", dir.c_str(), 1);
    auto [cold_first, cold_steady] = first_and_steady();
    // ... and a fresh process that finds the kernels on disk.
    std::string cmd = std::string("'") + argv[0] + "' --first-step";
    double warm_first = 0, warm_steady = 0;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        if (std::fscanf(p, "%lf %lf", &warm_first, &warm_steady) != 2) warm_first = -1;
        pclose(p);
    }
    std::filesystem::remove_all(dir);

    Setup s;
    kiln::reset_stats();
    float first_loss = step(s.model, s.x, s.y, 0.01), last_loss = first_loss;
    std::vector<double> times;
    for (int i = 0; i < steps; ++i)
        times.push_back(kiln_bench::seconds([&] { last_loss = step(s.model, s.x, s.y, 0.01); }));
    kiln::Stats st = kiln::stats();
    std::printf("MLP 784-512-512-10, batch 256, cross-entropy, SGD (hand-written), %d steps\n",
                steps);
    std::printf("  step median          %8.3f ms   (loss %.4f -> %.4f)\n",
                1e3 * kiln_bench::median(times), first_loss, last_loss);
    std::printf("  programs per step    %8.2f      (%lld compiled in the loop)\n",
                double(st.realizations) / (steps + 1),
                static_cast<long long>(st.program_cache_misses));
    std::printf("  kernels + BLAS calls %8.2f per step\n",
                double(st.kernels_launched + st.extern_calls) / (steps + 1));
    std::vector<double> early;
    for (int i = 0; i < steps; ++i)
        early.push_back(kiln_bench::seconds([&] { step(s.model, s.x, s.y, 0.01, true); }));
    std::printf("  step, loss read first %7.3f ms   (before backward: saved forward values)\n",
                1e3 * kiln_bench::median(early));
    std::printf("  first step, cold     %8.1f ms   (compile ~%.1f ms)\n", 1e3 * cold_first,
                1e3 * (cold_first - cold_steady));
    std::printf("  first step, warm     %8.1f ms   (disk cache, fresh process: ~%.1f ms)\n",
                1e3 * warm_first, 1e3 * (warm_first - warm_steady));
    return 0;
}
