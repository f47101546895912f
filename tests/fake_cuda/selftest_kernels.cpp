// Handwritten kernels through the fake NVRTC and driver: Kiln's block-reduction pattern, barrier
// and warp built-ins, a grid-stride elementwise kernel, and every launch error the fake reports.
#include <cmath>
#include <numeric>
#include <thread>

#include "selftest.h"

using namespace fake_test;

namespace {

/// Per-block sums of x over blocks of 256 threads: shfl_xor butterflies within warps, partials in
/// __shared__, __syncthreads, then warp 0 alone reduces the partials
/// (codegen/cuda/cuda_helpers.cpp's pattern, with the second round limited to warp 0) and
/// broadcasts through shared memory.
const char* kBlockSums = R"(
#define KILN_BLOCK 256
static __device__ __forceinline__ float block_sum(float v) {
    __shared__ float partial[32];
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        const float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = v + w;
    }
    if (lane == 0u) partial[warp] = v;
    __syncthreads();
    if (warp == 0u) {
        v = lane < KILN_BLOCK / 32 ? partial[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0u) partial[0] = v;
    }
    __syncthreads();
    v = partial[0];
    __syncthreads();  // partial[] is reused by the next reduction
    return v;
}
extern "C" __global__ void __launch_bounds__(KILN_BLOCK)
block_sums(const float* __restrict__ x, float* __restrict__ out, long long n) {
    for (long long b = blockIdx.x; b * KILN_BLOCK < n; b += gridDim.x) {
        const long long i = b * KILN_BLOCK + threadIdx.x;
        const float s = block_sum(i < n ? x[i] : 0.0f);
        if (threadIdx.x == 0) out[b] = s;
    }
}
)";

/// y = a * x + b over a grid-stride loop (no barriers: the serial fast path).
const char* kAxpb = R"(
extern "C" __global__ void axpb(const double* __restrict__ x, double* __restrict__ y,
                                double a, float b, int unused, unsigned long long n) {
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)gridDim.x * blockDim.x)
        y[i] = a * x[i] + b;
}
)";

/// One 64-thread block (2D, 32 x 2) exercising the other built-ins; thread t writes out[t*8..].
const char* kBuiltins = R"(
extern "C" __global__ void builtins(int* out) {
    const int t = threadIdx.x + threadIdx.y * blockDim.x;
    int* o = out + t * 8;
    o[0] = __syncthreads_count(t % 3 == 0);
    o[1] = __syncthreads_or(t == 63);
    o[2] = __syncthreads_and(t < 63);
    o[3] = __shfl_up_sync(0xffffffffu, t, 1);
    o[4] = __shfl_down_sync(0xffffffffu, t, 4, 8);
    o[5] = (int)__ballot_sync(0xffffffffu, t & 1);
    o[6] = __shfl_sync(0xffffffffu, t * 10, 5);
    long long big = (long long)t << 40;
    o[7] = (int)(__shfl_xor_sync(0xffffffffu, big, 1) >> 40);
}
)";

/// Threads above 40 return before the barriers; the rest still meet (a finished thread does not
/// hold a barrier). Also atomics and __umulhi / bit casts.
const char* kEarlyExit = R"(
extern "C" __global__ void early_exit(int* out, float* f) {
    __shared__ int count;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    if (threadIdx.x > 40) return;
    atomicAdd(&count, 1);
    __syncthreads();
    if (threadIdx.x == 0) {
        out[0] = count;
        out[1] = (int)__umulhi(0x80000000u, 6u);
        out[2] = __float_as_int(__int_as_float(0x3f800000));
        out[3] = __float2int_rz(__int_as_float(0x7fc00000)) + __float2int_rz(1e20f);
        f[0] = rsqrtf(4.0f) + erff(0.0f) + tanhf(0.0f) + fmaxf(1.0f, 2.0f);
        atomicAdd(f + 1, 1.5f);
    }
}
)";

CUresult launch(Handle f, unsigned grid, unsigned block, std::vector<void*> params,
                unsigned by = 1) {
    return api().LaunchKernel(f, grid, 1, 1, block, by, 1, 0, nullptr, params.data(), nullptr);
}

}  // namespace

TEST_CASE("fake CUDA kernels: Kiln's block reduction pattern") {
    Handle f = load_kernel(kBlockSums, "block_sums");
    const long long n = 256 * 40 + 77;
    std::vector<float> x(static_cast<size_t>(n));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 3.0f;
    const long long blocks = (n + 255) / 256;
    CUdeviceptr dx = upload(x), dout = upload(std::vector<float>(static_cast<size_t>(blocks)));
    Counters before = counters();
    long long nn = n;
    REQUIRE(launch(f, 7, 256, {&dx, &dout, &nn}) == 0);  // grid-stride over 41 blocks
    CHECK(counters().launches == before.launches + 1);
    std::vector<float> out = download<float>(dout, static_cast<size_t>(blocks));
    for (long long b = 0; b < blocks; ++b) {
        double want = 0;
        for (long long i = b * 256; i < std::min(n, b * 256 + 256); ++i)
            want += x[static_cast<size_t>(i)];
        INFO("block " << b);
        CHECK(out[static_cast<size_t>(b)] == static_cast<float>(want));
    }
    CHECK(api().MemFree(dx) == 0);
    CHECK(api().MemFree(dout) == 0);
}

TEST_CASE("fake CUDA kernels: barrier and warp built-ins") {
    Handle f = load_kernel(kBuiltins, "builtins");
    CUdeviceptr d = upload(std::vector<int>(64 * 8));
    REQUIRE(launch(f, 1, 32, {&d}, 2) == 0);
    std::vector<int> o = download<int>(d, 64 * 8);
    for (int t = 0; t < 64; ++t) {
        INFO("thread " << t);
        const int* r = &o[static_cast<size_t>(t) * 8];
        int lane = t % 32, warp = t / 32;
        CHECK(r[0] == 22);  // multiples of 3 below 64
        CHECK(r[1] == 1);
        CHECK(r[2] == 0);
        CHECK(r[3] == (lane == 0 ? t : t - 1));
        CHECK(r[4] == ((lane % 8) + 4 < 8 ? t + 4 : t));
        CHECK(static_cast<unsigned>(r[5]) == 0xaaaaaaaau);
        CHECK(r[6] == (warp * 32 + 5) * 10);
        CHECK(r[7] == (t ^ 1));
    }
    CHECK(api().MemFree(d) == 0);
}

TEST_CASE("fake CUDA kernels: early exits, atomics and intrinsics") {
    Handle f = load_kernel(kEarlyExit, "early_exit");
    CUdeviceptr d = upload(std::vector<int>(4)), df = upload(std::vector<float>{0.0f, 0.0f});
    REQUIRE(launch(f, 3, 128, {&d, &df}) == 0);
    std::vector<int> o = download<int>(d, 4);
    CHECK(o[0] == 41);
    CHECK(o[1] == 3);
    CHECK(o[2] == 0x3f800000);
    CHECK(o[3] == 2147483647);
    std::vector<float> fo = download<float>(df, 2);
    CHECK(fo[0] == 2.5f);
    CHECK(fo[1] == 4.5f);  // three blocks
    CHECK(api().MemFree(d) == 0);
    CHECK(api().MemFree(df) == 0);
}

TEST_CASE("fake CUDA kernels: grid-stride elementwise kernel") {
    Handle f = load_kernel(kAxpb, "axpb");
    const unsigned long long n = 1u << 20;
    std::vector<double> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i) * 0.25;
    CUdeviceptr dx = upload(x), dy = 0;
    REQUIRE(api().MemAlloc(&dy, n * sizeof(double)) == 0);
    double a = 2.0;
    float b = -1.0f;
    int unused = 0;
    unsigned long long nn = n;
    REQUIRE(launch(f, 1000, 256, {&dx, &dy, &a, &b, &unused, &nn}) == 0);
    std::vector<double> y = download<double>(dy, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) bad += y[i] != 2.0 * x[i] - 1.0;
    CHECK(bad == 0);
    CHECK(api().MemFree(dx) == 0);
    CHECK(api().MemFree(dy) == 0);
}

TEST_CASE("fake CUDA kernels: launch configuration and address errors") {
    Handle f = load_kernel(kBlockSums, "block_sums");
    Handle g = load_kernel(kAxpb, "axpb");
    CUdeviceptr dx = upload(std::vector<float>(256)), dout = upload(std::vector<float>(1));
    long long n = 256;
    std::vector<void*> p{&dx, &dout, &n};
    const Api& a = api();
    CHECK(launch(f, 1, 512, p) == 701);  // above __launch_bounds__(256)
    CHECK(launch(f, 1, 0, p) == 701);
    CHECK(a.LaunchKernel(g, 1, 1, 1, 32, 32, 2, 0, nullptr, p.data(), nullptr) == 701);  // 2048
    CHECK(launch(f, 0, 256, p) == 1);
    CHECK(a.LaunchKernel(f, 1, 1, 1, 256, 1, 1, 16, nullptr, p.data(), nullptr) == 1);
    void* extra[] = {nullptr};
    CHECK(a.LaunchKernel(f, 1, 1, 1, 256, 1, 1, 0, nullptr, p.data(), extra) == 1);
    CHECK(a.LaunchKernel(f, 1, 1, 1, 256, 1, 1, 0, nullptr, nullptr, nullptr) == 1);
    int bogus = 0;
    CHECK(a.LaunchKernel(&bogus, 1, 1, 1, 32, 1, 1, 0, nullptr, p.data(), nullptr) == 400);

    float host[256] = {};
    CUdeviceptr hp = reinterpret_cast<CUdeviceptr>(host);
    CHECK(launch(f, 1, 256, {&hp, &dout, &n}) == 700);  // a host pointer
    CUdeviceptr past = dout + 4;
    CHECK(launch(f, 1, 256, {&dx, &past, &n}) == 700);  // one past the end
    CUdeviceptr null = 0;
    long long zero = 0;
    CHECK(launch(f, 1, 256, {&null, &null, &zero}) == 0);  // null pointers are fine
    CHECK(launch(f, 1, 256, p) == 0);
    CHECK(a.MemFree(dx) == 0);
    CHECK(launch(f, 1, 256, p) == 700);  // freed
    CHECK(a.MemFree(dout) == 0);
}

TEST_CASE("fake CUDA kernels: images, names, compile errors, deadlocks and traps") {
    init_context();
    const Api& a = api();
    Handle m = nullptr, fn = nullptr;
    CHECK(a.ModuleLoadData(&m, "// real PTX\n.version 8.0\n") == 200);
    std::string bad = compile_image("extern \"C\" __global__ void k(int* x) { x[0] = nope; }\n");
    CHECK(a.ModuleLoadData(&m, bad.data()) == 218);

    std::string two = compile_image(
        "extern \"C\" __global__ void a1(int* x) { x[0] = 1; }\n"
        "__global__ void mangled(int* x) { x[0] = 2; }\n"
        "extern \"C\" __global__ void deadlock(int* x) {\n"
        "    int v = threadIdx.x;\n"
        "    if (threadIdx.x == 1) __syncthreads();\n"
        "    else v = __shfl_xor_sync(0xffffffffu, v, 1);\n"
        "    x[threadIdx.x] = v;\n"
        "}\n"
        "extern \"C\" __global__ void trap(int* x) { if (threadIdx.x == 3) __trap(); }\n"
        "/* extern \"C\" __global__ void commented(int* x) {} */\n"
        "extern \"C\" __global__ void __launch_bounds__(32 * 2, 4) bounded(void) {}\n");
    REQUIRE(a.ModuleLoadData(&m, two.data()) == 0);
    CHECK(a.ModuleGetFunction(&fn, m, "nothere") == 500);
    CHECK(a.ModuleGetFunction(&fn, m, "mangled") == 500);  // C++ linkage: not by this name
    CHECK(a.ModuleGetFunction(&fn, m, "commented") == 500);
    REQUIRE(a.ModuleGetFunction(&fn, m, "bounded") == 0);
    CHECK(launch(fn, 1, 65, {}) == 701);
    CHECK(launch(fn, 1, 64, {}) == 0);
    CUdeviceptr d = upload(std::vector<int>(64));
    Handle dl = nullptr, tr = nullptr;
    REQUIRE(a.ModuleGetFunction(&dl, m, "deadlock") == 0);
    REQUIRE(a.ModuleGetFunction(&tr, m, "trap") == 0);
    CHECK(launch(dl, 1, 64, {&d}) == 719);
    CHECK(launch(tr, 2, 64, {&d}) == 719);
    REQUIRE(a.ModuleGetFunction(&fn, m, "a1") == 0);
    CHECK(launch(fn, 1, 1, {&d}) == 0);
    CHECK(download<int>(d, 1)[0] == 1);
    // After the failures, fiber kernels still run.
    Handle f = load_kernel(kBlockSums, "block_sums");
    CUdeviceptr dx = upload(std::vector<float>(256, 1.0f)), dout = upload(std::vector<float>(1));
    long long n = 256;
    CHECK(launch(f, 1, 256, {&dx, &dout, &n}) == 0);
    CHECK(download<float>(dout, 1)[0] == 256.0f);
    // A trap in a kernel without barriers (threads run as plain calls) fails the launch too.
    Handle serial_trap = load_kernel(
        "extern \"C\" __global__ void strap(int* x) { if (threadIdx.x == 3) __trap(); }\n",
        "strap");
    CHECK(launch(serial_trap, 2, 64, {&d}) == 719);
    CHECK(a.ModuleUnload(m) == 0);
    CHECK(a.ModuleUnload(m) == 400);
    CHECK(launch(fn, 1, 1, {&d}) == 400);  // its module is gone
    for (CUdeviceptr p : {d, dx, dout}) CHECK(a.MemFree(p) == 0);
}

TEST_CASE("fake CUDA kernels: launches from several host threads") {
    Handle ctx = init_context();
    Handle sums = load_kernel(kBlockSums, "block_sums");
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            const Api& a = api();
            a.CtxSetCurrent(ctx);
            std::vector<float> x(256 * 3, static_cast<float>(t + 1));
            CUdeviceptr dx = 0, dout = 0;
            a.MemAlloc(&dx, x.size() * 4);
            a.MemAlloc(&dout, 12);
            a.MemcpyHtoD(dx, x.data(), x.size() * 4, nullptr);
            long long n = static_cast<long long>(x.size());
            void* params[] = {&dx, &dout, &n};
            for (int i = 0; i < 5; ++i) {
                failures[t] +=
                    a.LaunchKernel(sums, 2, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr) != 0;
                float out[3];
                a.MemcpyDtoH(out, dout, 12, nullptr);
                for (float v : out) failures[t] += v != 256.0f * static_cast<float>(t + 1);
            }
            failures[t] += a.MemFree(dx) != 0 || a.MemFree(dout) != 0;
        });
    for (std::thread& th : threads) th.join();
    CHECK(failures == std::vector<int>(4, 0));
}
