// The CUDA runtime through the public API: copies, the caching allocator, asynchronous programs,
// mixed-device errors, Philox on both devices, bad indices found on the device, cuBLAS, TF32,
// the kernel cache. Runs on a GPU (label cuda) and against tests/fake_cuda's emulation (label
// cuda_emulated); exits 77 (skipped) where neither is there.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "kiln/kiln.h"
#include "runtime/cuda/driver.h"

using namespace kiln;

namespace {

[[maybe_unused]] const bool kHaveGpu = [] {
    if (!cuda::is_available()) {
        std::fprintf(stderr, "SKIPPED: no usable CUDA device: %s\n",
                     cuda::unavailable_reason().c_str());
        std::exit(77);
    }
    return true;
}();

std::vector<float> iota_values(int64_t n, float scale = 1) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = scale * static_cast<float>(i % 97 - 48);
    return v;
}

/// The raw bits of a float vector (bit-identical comparisons).
std::vector<uint32_t> bits(const std::vector<float>& v) {
    std::vector<uint32_t> b(v.size());
    std::memcpy(b.data(), v.data(), v.size() * 4);
    return b;
}

}  // namespace

TEST_CASE("tensors move to the GPU and back unchanged", "[cuda]") {
    for (int64_t n : {0, 1, 7, 1000, 1 << 16}) {
        std::vector<float> v = iota_values(n, 0.5f);
        Tensor x = tensor(v, {n});
        Tensor g = x.to(kCUDA);
        CHECK(g.device() == Device(kCUDA, 0));
        CHECK(g.to_vector<float>() == v);  // read directly from the device
        Tensor back = g.to(kCPU);
        CHECK(back.device() == Device(kCPU));
        CHECK(back.to_vector<float>() == v);
    }
    Tensor i = tensor(std::vector<int64_t>{1, -2, 3}, {3}).to(kCUDA);
    CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
    Tensor b = (i > 0);
    CHECK(b.device().is_cuda());
    CHECK(b.to_vector<bool>() == std::vector<bool>{true, false, true});
    CHECK(i.sum().item<int64_t>() == 2);
}

TEST_CASE("factories make tensors on the device they are asked for", "[cuda]") {
    TensorOptions on_gpu = TensorOptions().device(kCUDA);
    Tensor z = zeros({3, 4}, on_gpu);
    CHECK(z.device().is_cuda());
    CHECK(z.sum().item<float>() == 0);
    Tensor t = tensor(std::vector<double>{1.5, 2.5}, {2}, on_gpu.dtype(kFloat64));
    CHECK(t.device().is_cuda());
    CHECK(t.to_vector<double>() == std::vector<double>{1.5, 2.5});
    Tensor a = arange(5, on_gpu.dtype(kInt64));
    CHECK(a.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("ops on tensors of different devices name both devices and the line", "[cuda]") {
    Tensor a = ones({2, 3});
    Tensor b = ones({3}).to(kCUDA);
    int line = __LINE__ + 2;
    try {
        (void)(a + b);
        FAIL("expected kiln::Error");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(what.rfind("add: expected all tensors on the same device, got cpu and cuda:0 "
                         "(f32[2,3] on cpu, f32[3] on cuda:0)",
                         0) == 0);
        CHECK(what.find("cuda_runtime_test.cpp:" + std::to_string(line)) != std::string::npos);
    }
    CHECK_THROWS_WITH(matmul(ones({2, 2}).to(kCUDA), ones({2, 2})),
                      Catch::StartsWith("matmul: expected all tensors on the same device"));
    // A 0-d CPU tensor is a number: it joins a GPU tensor (as in PyTorch).
    Tensor s = tensor(std::vector<float>{2}, {});
    Tensor r = b * s;
    CHECK(r.device().is_cuda());
    CHECK(r.to_vector<float>() == std::vector<float>{2, 2, 2});
}

TEST_CASE("a fused program runs on the device and matches the CPU", "[cuda]") {
    std::vector<float> v = iota_values(4096, 0.01f);
    Tensor x = tensor(v, {64, 64});
    auto f = [](const Tensor& t) { return softmax(t.sigmoid() * t + t * t, 1).sum({0}); };
    std::vector<float> cpu = f(x).to_vector<float>();
    std::vector<float> gpu = f(x.to(kCUDA)).to_vector<float>();
    REQUIRE(cpu.size() == gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) CHECK(gpu[i] == Approx(cpu[i]).epsilon(1e-5));
}

TEST_CASE("full reductions of long vectors split over the grid and match the CPU", "[cuda]") {
    // 300007 elements (prime: passes/split_reductions finds no rows to split it into), so the
    // kernel is one outer point with a long reduce stage, the grid-reduction form
    // (codegen/cuda/cuda_source.h). Values vary in sign and magnitude; max and min are unique.
    const int64_t n = 300007;
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        v[static_cast<size_t>(i)] = 0.001f * static_cast<float>((i * 7919) % 20011 - 9000);
    v[123457] = 1000.5f;
    v[271828] = -2000.25f;
    Tensor x = tensor(v, {n});
    Tensor g = x.to(kCUDA);
    float cpu_sum = x.sum().item<float>(), gpu_sum = g.sum().item<float>();
    CHECK(gpu_sum == Approx(cpu_sum).epsilon(1e-5));
    CHECK(g.mean().item<float>() == Approx(x.mean().item<float>()).epsilon(1e-5));
    CHECK(g.max().item<float>() == x.max().item<float>());
    CHECK(g.min().item<float>() == x.min().item<float>());
    CHECK(g.max().item<float>() == 1000.5f);
    CHECK(g.min().item<float>() == -2000.25f);
    // Deterministic: a second launch (the arrival counter reset by the first) gives the same bits.
    float again = g.sum().item<float>();
    CHECK(bits({again}) == bits({gpu_sum}));

    std::vector<double> d(v.begin(), v.end());
    Tensor xd = tensor(d, {n}, TensorOptions().dtype(kFloat64));
    Tensor gd = xd.to(kCUDA);
    CHECK(gd.sum().item<double>() == Approx(xd.sum().item<double>()).epsilon(1e-5));
    CHECK(gd.max().item<double>() == xd.max().item<double>());

    std::vector<int64_t> ints(static_cast<size_t>(n));
    int64_t exact = 0;
    for (int64_t i = 0; i < n; ++i) {
        ints[static_cast<size_t>(i)] = (i * 1000003) % 2000001 - 1000000 + (i << 20);
        exact += ints[static_cast<size_t>(i)];
    }
    CHECK(tensor(ints, {n}).to(kCUDA).sum().item<int64_t>() == exact);
}

TEST_CASE("matmuls go through cuBLAS in float32 unless TF32 is allowed", "[cuda]") {
    CHECK_FALSE(cuda::tf32_allowed());
    Tensor a = tensor(iota_values(6 * 5, 0.1f), {6, 5});
    Tensor b = tensor(iota_values(5 * 4, 0.2f), {5, 4});
    for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
            Tensor x = ta ? a.t().contiguous().t() : a;  // the same values, other layouts
            Tensor y = tb ? b.t().contiguous().t() : b;
            std::vector<float> cpu = matmul(x, y).to_vector<float>();
            std::vector<float> gpu = matmul(x.to(kCUDA), y.to(kCUDA)).to_vector<float>();
            for (size_t i = 0; i < cpu.size(); ++i) CHECK(gpu[i] == Approx(cpu[i]).epsilon(1e-5));
        }
    }
    Tensor batched = matmul(ones({3, 2, 0}).to(kCUDA), ones({3, 0, 4}).to(kCUDA));  // k = 0
    CHECK(batched.sum().item<float>() == 0);
    cuda::allow_tf32(true);
    CHECK(cuda::tf32_allowed());
    CHECK(matmul(a.to(kCUDA), b.to(kCUDA)).sizes() == std::vector<int64_t>{6, 4});
    cuda::allow_tf32(false);
}

TEST_CASE("randn, dropout masks and uniform draws are the same bits on both devices", "[cuda]") {
    manual_seed(99);
    std::vector<float> cpu_normal = randn({3, 1000}).to_vector<float>();
    manual_seed(99);
    std::vector<float> gpu_normal =
        randn({3, 1000}, TensorOptions().device(kCUDA)).to_vector<float>();
    CHECK(bits(cpu_normal) == bits(gpu_normal));
    manual_seed(1234);
    std::vector<float> cpu = rand({3, 1000}).to_vector<float>();
    Tensor cpu_mask = kiln::dropout(ones({2000}), 0.3, true);
    manual_seed(1234);
    std::vector<float> gpu = rand({3, 1000}, TensorOptions().device(kCUDA)).to_vector<float>();
    Tensor gpu_mask = kiln::dropout(ones({2000}, TensorOptions().device(kCUDA)), 0.3, true);
    CHECK(bits(cpu) == bits(gpu));
    CHECK(bits(cpu_mask.to_vector<float>()) == bits(gpu_mask.to_vector<float>()));
}

TEST_CASE("a bad index found on the device is reported at the next read", "[cuda]") {
    Tensor w = ones({4, 2}).to(kCUDA);
    Tensor idx = tensor(std::vector<int64_t>{0, 7}, {2}).to(kCUDA);
    Tensor rows = kiln::embedding(w, idx);
    CHECK_THROWS_WITH(rows.to_vector<float>(),
                      Catch::Contains("index 7 is out of range") &&
                          Catch::Contains("embedding"));
    // The device is usable afterwards.
    CHECK(w.sum().item<float>() == 8);
}

TEST_CASE("a training loop reuses device memory and compiled programs", "[cuda]") {
    manual_seed(0);
    nn::Sequential model(nn::Linear(8, 16), nn::GELU(), nn::Linear(16, 1));
    model->to(kCUDA);
    for (const Tensor& p : model->parameters()) CHECK(p.device().is_cuda());
    optim::AdamW opt(model->parameters(), optim::AdamWOptions(1e-2));
    Tensor x = randn({32, 8}).to(kCUDA);
    Tensor y = randn({32, 1}).to(kCUDA);
    std::vector<float> losses;
    cuda::MemoryStats before{};
    Stats stats_before{};
    for (int step = 0; step < 12; ++step) {
        if (step == 4) {
            cuda::synchronize();
            before = cuda::memory_stats();
            stats_before = stats();
        }
        opt.zero_grad();
        Tensor loss = nn::functional::mse_loss(model(x), y);
        loss.backward();
        opt.step();
        losses.push_back(loss.item<float>());
    }
    cuda::MemoryStats after = cuda::memory_stats();
    CHECK(after.driver_allocations == before.driver_allocations);  // no cuMemAlloc per step
    CHECK(stats().program_cache_misses == stats_before.program_cache_misses);
    CHECK(losses.back() < losses.front());
    CHECK(after.bytes_in_use > 0);
    cuda::CompileStats cs = cuda::compile_stats();
    CHECK(cs.kernels_compiled + cs.disk_hits > 0);

    // The same loop on the CPU gives the same losses (to float32 rounding).
    manual_seed(0);
    nn::Sequential cpu_model(nn::Linear(8, 16), nn::GELU(), nn::Linear(16, 1));
    optim::AdamW cpu_opt(cpu_model->parameters(), optim::AdamWOptions(1e-2));
    Tensor cx = x.to(kCPU), cy = y.to(kCPU);
    for (int step = 0; step < 12; ++step) {
        cpu_opt.zero_grad();
        Tensor loss = nn::functional::mse_loss(cpu_model(cx), cy);
        loss.backward();
        cpu_opt.step();
        CHECK(loss.item<float>() == Approx(losses[static_cast<size_t>(step)]).epsilon(1e-4));
    }
    cuda::empty_cache();
    CHECK(cuda::memory_stats().bytes_cached == 0);
}

TEST_CASE("conv2d, max_pool2d and their gradients run on the device", "[cuda]") {
    manual_seed(3);
    Tensor x = randn({2, 3, 9, 9});
    Tensor w = randn({4, 3, 3, 3});
    auto run = [](Tensor xi, Tensor wi) {
        xi.requires_grad_(true);
        wi.requires_grad_(true);
        Tensor y = kiln::conv2d(xi, wi, Tensor(), {2, 1}, {1, 1});
        Tensor loss = kiln::max_pool2d(y.relu(), {2, 2}).sum();
        loss.backward();
        return std::vector<std::vector<float>>{y.detach().to_vector<float>(),
                                               xi.grad().to_vector<float>(),
                                               wi.grad().to_vector<float>()};
    };
    auto cpu = run(x.clone(), w.clone());
    auto gpu = run(x.to(kCUDA), w.to(kCUDA));
    for (size_t k = 0; k < cpu.size(); ++k) {
        REQUIRE(cpu[k].size() == gpu[k].size());
        for (size_t i = 0; i < cpu[k].size(); ++i)
            CHECK(gpu[k][i] == Approx(cpu[k][i]).epsilon(1e-4).margin(1e-5));
    }
}
