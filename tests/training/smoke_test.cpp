// A training smoke test: a small MLP learns a synthetic classification problem with the whole
// stack (nn, optim, data) in a few hundred steps, reaching a loss threshold, with one program
// compiled for the full batches and one for the last, smaller batch, in all; and memory that
// stays flat over a long run of the whole stack.
#include <catch2/catch.hpp>

#include <kiln/kiln.h>

#include "ir/node.h"
#include "runtime/cpu_allocator.h"

namespace nn = kiln::nn;
using kiln::Tensor;

TEST_CASE("an MLP learns a synthetic problem; the loop compiles once per batch shape",
          "[training]") {
    kiln::manual_seed(1);
    // 500 points in 8 dims, labelled by which of 4 random directions they point most along.
    // Data sets live on the CPU; batches move to the device the test runs on (the CPU, or a
    // GPU with KILN_TEST_DEVICE=cuda), as in a LibTorch program.
    const kiln::Device device = kiln::default_device();
    Tensor x = kiln::randn({500, 8}, kiln::kCPU);
    Tensor directions = kiln::randn({8, 4}, kiln::kCPU);
    Tensor y = kiln::matmul(x, directions).argmax(1);
    auto dataset = std::make_shared<kiln::data::TensorDataset>(x, y);
    kiln::data::DataLoader loader(dataset, kiln::data::DataLoaderOptions(64).shuffle(true).seed(5));
    nn::Sequential model(nn::Linear(8, 32), nn::ReLU(), nn::Linear(32, 4));
    kiln::optim::SGD opt(model->parameters(), kiln::optim::SGDOptions(0.1).momentum(0.9));

    double first_epoch = 0, last_epoch = 0;
    kiln::Stats after_first{};
    const int epochs = 40;  // 8 batches each: 320 steps
    for (int epoch = 0; epoch < epochs; ++epoch) {
        double sum = 0;
        int batches = 0;
        for (const kiln::data::Example& b : loader) {
            opt.zero_grad();
            Tensor loss = kiln::nn::functional::cross_entropy(model(b.data.to(device)),
                                                              b.target.to(device));
            loss.backward();
            opt.step();
            sum += loss.item<float>();
            ++batches;
        }
        if (epoch == 0) {
            first_epoch = sum / batches;
            after_first = kiln::stats();
        }
        last_epoch = sum / batches;
    }
    INFO("first epoch loss " << first_epoch << ", last " << last_epoch);
    CHECK(first_epoch > 0.8);
    CHECK(last_epoch < 0.15);
    kiln::Stats s = kiln::stats();
    CHECK(s.program_cache_misses - after_first.program_cache_misses == 0);  // nothing new after epoch 1
    CHECK(s.realizations - after_first.realizations == (epochs - 1) * 8);    // one program per step
    kiln::NoGradGuard g;
    model->eval();
    double right = (model(x.to(device)).argmax(1) == y.to(device))
                       .to(kiln::kFloat64)
                       .mean()
                       .item<double>();
    CHECK(right > 0.95);
}

TEST_CASE("memory and live nodes stay flat over 1000 steps of nn + Adam + DataLoader",
          "[training][memory]") {
    const kiln::Device device = kiln::default_device();
    auto dataset = std::make_shared<kiln::data::TensorDataset>(kiln::randn({100, 6}, kiln::kCPU),
                                                               kiln::randn({100, 2}, kiln::kCPU));
    kiln::data::DataLoader loader(dataset, kiln::data::DataLoaderOptions(32).shuffle(true));
    nn::Sequential model(nn::Linear(6, 16), nn::GELU(), nn::Linear(16, 2));
    kiln::optim::Adam opt(model->parameters(), kiln::optim::AdamOptions(1e-3));
    kiln::optim::CosineAnnealingLR schedule(opt, 250);
    int steps = 0;
    auto run_until = [&](int total) {
        while (steps < total)
            for (const kiln::data::Example& b : loader) {
                if (steps++ >= total) break;
                opt.zero_grad();
                Tensor loss = kiln::nn::functional::mse_loss(model(b.data.to(device)),
                                                              b.target.to(device));
                loss.backward();
                opt.step();
                schedule.step();
                (void)loss.item<float>();
            }
    };
    run_until(40);
    kiln::runtime::AllocatorStats a0 = kiln::runtime::CpuAllocator::global().stats();
    size_t nodes0 = kiln::ir::live_node_count();
    run_until(1000);
    kiln::runtime::AllocatorStats a1 = kiln::runtime::CpuAllocator::global().stats();
    size_t nodes1 = kiln::ir::live_node_count();
    INFO("bytes in use " << a0.bytes_in_use << " -> " << a1.bytes_in_use << ", cached "
                         << a0.bytes_cached << " -> " << a1.bytes_cached << ", nodes " << nodes0
                         << " -> " << nodes1);
    CHECK(a1.bytes_in_use <= a0.bytes_in_use);
    CHECK(a1.bytes_in_use + a1.bytes_cached <= a0.bytes_in_use + a0.bytes_cached);
    CHECK(nodes1 <= nodes0);
}
