// Trains a classifier on Fashion-MNIST with kiln::nn, kiln::optim and kiln::data, the way a
// LibTorch program would: an MLP 784-512-512-10 (default) or a small CNN (--model cnn), SGD
// with momentum, a live progress bar on a terminal (one line per epoch otherwise), a table of
// the epochs, the engine's compile statistics, and a save / reload / re-test of the model.
//
//   build/release/examples/fashion_mnist [--model mlp|cnn] [--epochs N] [--batch-size N]
//       [--lr X] [--seed S] [--threads N] [--data DIR] [--save PATH] [--init PATH]
//       [--device cpu|cuda] [--quiet]
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <kiln/kiln.h>
#include <kiln/optim.h>

namespace nn = kiln::nn;
namespace data = kiln::data;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
    std::string model = "mlp";
    int epochs = -1;  // -1: 5 for the MLP, 2 for the CNN
    size_t batch_size = 256;
    double lr = 0.1;
    uint64_t seed = 0;
    int threads = 0;  // 0: Kiln's default
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string save;  // default: fashion_mnist_<model>.safetensors
    std::string init;  // initial weights (safetensors); empty: drawn after manual_seed
    kiln::Device device = kiln::kCPU;
    bool quiet = false;
};

[[noreturn]] void usage(int status) {
    std::fprintf(status ? stderr : stdout,
                 "usage: fashion_mnist [--model mlp|cnn] [--epochs N] [--batch-size N] [--lr X]\n"
                 "                     [--seed S] [--threads N] [--data DIR] [--save PATH] [--init PATH]\n"
                 "                     [--device cpu|cuda] [--quiet]\n"
                 "Trains on Fashion-MNIST (IDX files, gzipped or not, in DIR; default\n"
                 "/usr/share/datasets/fashion-mnist from Debian's dataset-fashion-mnist).\n"
                 "  --model      mlp: 784-512-512-10 ReLU (5 epochs); cnn: conv 1->16, pool,\n"
                 "               conv 16->32, pool, linear 1568->10 (2 epochs)\n"
                 "  --save       where the trained model goes (default fashion_mnist_MODEL.safetensors)\n"
                 "  --init       start from these weights (safetensors, e.g. written by\n"
                 "               bench/fashion_mnist_torch.py --write-init) instead of drawing them\n"
                 "  --device     where the model trains (default cpu); cuda needs an NVIDIA GPU\n"
                 "  --quiet      no progress bar, even on a terminal\n");
    std::exit(status);
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string opt = argv[i];
        if (opt == "-h" || opt == "--help") usage(0);
        if (opt == "--quiet") {
            a.quiet = true;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "fashion_mnist: %s needs a value\n", opt.c_str());
            usage(2);
        }
        std::string v = argv[++i];
        char* end = nullptr;
        auto number = [&](double lo) {
            double x = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || !(x >= lo)) {
                std::fprintf(stderr, "fashion_mnist: bad value '%s' for %s\n", v.c_str(), opt.c_str());
                usage(2);
            }
            return x;
        };
        if (opt == "--model") a.model = v;
        else if (opt == "--epochs") a.epochs = static_cast<int>(number(1));
        else if (opt == "--batch-size") a.batch_size = static_cast<size_t>(number(1));
        else if (opt == "--lr") a.lr = number(0);
        else if (opt == "--seed") a.seed = static_cast<uint64_t>(number(0));
        else if (opt == "--threads") a.threads = static_cast<int>(number(1));
        else if (opt == "--data") a.data = v;
        else if (opt == "--save") a.save = v;
        else if (opt == "--init") a.init = v;
        else if (opt == "--device" && (v == "cpu" || v == "cuda"))
            a.device = v == "cpu" ? kiln::Device(kiln::kCPU) : kiln::Device(kiln::kCUDA);
        else if (opt == "--device") {
            std::fprintf(stderr, "fashion_mnist: --device must be cpu or cuda, got '%s'\n", v.c_str());
            usage(2);
        } else {
            std::fprintf(stderr, "fashion_mnist: unknown option %s\n", opt.c_str());
            usage(2);
        }
    }
    if (a.model != "mlp" && a.model != "cnn") {
        std::fprintf(stderr, "fashion_mnist: --model must be mlp or cnn, got '%s'\n", a.model.c_str());
        usage(2);
    }
    if (a.epochs < 0) a.epochs = a.model == "mlp" ? 5 : 2;
    if (a.save.empty()) a.save = "fashion_mnist_" + a.model + ".safetensors";
    return a;
}

nn::Sequential make_model(const std::string& kind) {
    if (kind == "mlp")
        return nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512),
                              nn::ReLU(), nn::Linear(512, 10));
    return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)), nn::ReLU(),
                          nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)),
                          nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(1568, 10));
}

/// Fraction of `dataset` that `model` (on `device`) classifies right (eval mode, no gradients).
double accuracy(nn::Sequential& model, const std::shared_ptr<data::MNIST>& dataset,
                kiln::Device device) {
    kiln::NoGradGuard no_grad;
    model->eval();
    data::DataLoader loader(dataset, data::DataLoaderOptions(1000));
    int64_t right = 0;
    for (const data::Example& b : loader)
        right += (model(b.data.to(device)).argmax(1) == b.target.to(device))
                     .to(kiln::kInt64)
                     .sum()
                     .item<int64_t>();
    model->train();
    return double(right) / double(dataset->size());
}

/// "1:23" or "12s".
std::string duration(double seconds) {
    char buf[32];
    if (seconds >= 60) std::snprintf(buf, sizeof buf, "%d:%02d", int(seconds) / 60, int(seconds) % 60);
    else std::snprintf(buf, sizeof buf, "%.0fs", seconds);
    return buf;
}

/// The live line of an epoch on a terminal, redrawn at most ten times a second.
class ProgressBar {
public:
    ProgressBar(int epoch, int epochs, size_t batches) : epoch_(epoch), epochs_(epochs), batches_(batches) {}
    void update(size_t done, size_t samples, double loss, double seconds, bool force = false) {
        if (!force && seconds - last_ < 0.1) return;
        last_ = seconds;
        constexpr int width = 30;
        int filled = static_cast<int>(width * done / batches_);
        double rate = seconds > 0 ? double(samples) / seconds : 0;
        double eta = done > 0 ? seconds * double(batches_ - done) / double(done) : 0;
        std::printf("\repoch %d/%d [%s%s] %zu/%zu  %7.0f samples/s  loss %.4f  ETA %s   ", epoch_,
                    epochs_, std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                    done, batches_, rate, loss, duration(eta).c_str());
        std::fflush(stdout);
    }

private:
    int epoch_, epochs_;
    size_t batches_;
    double last_ = -1;
};

struct EpochResult {
    double loss, accuracy, seconds, samples_per_second;
};

}  // namespace

int main(int argc, char** argv) {
    Args args = parse(argc, argv);
    if (args.threads > 0) setenv("KILN_NUM_THREADS", std::to_string(args.threads).c_str(), 1);
    bool live = !args.quiet && isatty(STDOUT_FILENO);
    try {
        kiln::manual_seed(args.seed);
        if (args.device.is_cuda() && !kiln::cuda::is_available()) {
            // Say so before reading the data set (kiln's own error would name the reason too).
            std::fprintf(stderr, "fashion_mnist: --device cuda, but %s\n",
                         kiln::cuda::unavailable_reason().c_str());
            return 1;
        }
        auto t0 = Clock::now();
        auto train = std::make_shared<data::MNIST>(args.data, data::MNIST::Mode::Train);
        auto test = std::make_shared<data::MNIST>(args.data, data::MNIST::Mode::Test);
        std::printf("Fashion-MNIST from %s: %zu training and %zu test images (read in %.2f s)\n",
                    args.data.c_str(), train->size(), test->size(),
                    std::chrono::duration<double>(Clock::now() - t0).count());

        nn::Sequential model = make_model(args.model);
        if (!args.init.empty()) kiln::load(model, args.init);
        model->to(args.device);
        std::cout << model << "\n";
        kiln::optim::SGD optimizer(model->parameters(), kiln::optim::SGDOptions(args.lr).momentum(0.9));
        data::DataLoader loader(train, data::DataLoaderOptions(args.batch_size).shuffle(true).seed(args.seed));
        std::string device = args.device.is_cuda() ? "cuda:0 (" + kiln::cuda::device_name() + ")" : "cpu";
        std::printf("SGD lr %g momentum 0.9, batch %zu, %d epochs, %zu batches per epoch, on %s\n\n",
                    args.lr, args.batch_size, args.epochs, loader.batches(), device.c_str());

        std::vector<EpochResult> results;
        double first_step = 0;
        kiln::Stats after_first{};
        for (int epoch = 1; epoch <= args.epochs; ++epoch) {
            ProgressBar bar(epoch, args.epochs, loader.batches());
            auto start = Clock::now();
            double loss_sum = 0;
            size_t done = 0, samples = 0;
            for (const data::Example& batch : loader) {
                auto step_start = Clock::now();
                optimizer.zero_grad();
                kiln::Tensor loss = kiln::nn::functional::cross_entropy(
                    model(batch.data.to(args.device)), batch.target.to(args.device));
                loss.backward();
                optimizer.step();
                loss_sum += loss.item<float>();  // computed by the step's program: no launch
                ++done;
                samples += static_cast<size_t>(batch.target.size(0));
                double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
                if (epoch == 1 && done == 1) {
                    first_step = std::chrono::duration<double>(Clock::now() - step_start).count();
                    after_first = kiln::stats();
                }
                if (live) bar.update(done, samples, loss_sum / double(done), elapsed, done == loader.batches());
            }
            double seconds = std::chrono::duration<double>(Clock::now() - start).count();
            double acc = accuracy(model, test, args.device);
            results.push_back({loss_sum / double(done), acc, seconds, double(samples) / seconds});
            if (live) std::printf("\n");
            std::printf("epoch %d/%d: train loss %.4f, test accuracy %.4f, %.2f s, %.0f samples/s\n",
                        epoch, args.epochs, results.back().loss, acc, seconds,
                        results.back().samples_per_second);
            std::fflush(stdout);
        }

        std::printf("\n| epoch | train loss | test accuracy | seconds | samples/s |\n");
        std::printf("| ---: | ---: | ---: | ---: | ---: |\n");
        for (size_t e = 0; e < results.size(); ++e)
            std::printf("| %zu | %.4f | %.4f | %.2f | %.0f |\n", e + 1, results[e].loss,
                        results[e].accuracy, results[e].seconds, results[e].samples_per_second);

        kiln::Stats s = kiln::stats();
        std::printf("\nfirst step %.1f ms (compiling: %lld programs, %lld kernels compiled, %lld "
                    "from the disk cache)\n",
                    1e3 * first_step, (long long)after_first.program_cache_misses,
                    (long long)after_first.kernels_compiled, (long long)after_first.kernel_disk_hits);
        std::printf("whole run: %lld programs compiled, %lld cache hits, %lld realizations, %lld "
                    "kernels compiled, %lld from disk, %lld kernel launches, %lld BLAS/extern calls\n",
                    (long long)s.program_cache_misses, (long long)s.program_cache_hits,
                    (long long)s.realizations, (long long)s.kernels_compiled,
                    (long long)s.kernel_disk_hits, (long long)s.kernels_launched,
                    (long long)s.extern_calls);

        kiln::save(model, args.save);
        nn::Sequential reloaded = make_model(args.model);
        kiln::load(reloaded, args.save);
        reloaded->to(args.device);
        double again = accuracy(reloaded, test, args.device);
        std::printf("saved to %s; reloaded into a fresh model: test accuracy %.4f (%s)\n",
                    args.save.c_str(), again,
                    again == results.back().accuracy ? "the same" : "DIFFERENT");
        return again == results.back().accuracy ? 0 : 1;
    } catch (const kiln::Error& e) {
        std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
        return 1;
    }
}
