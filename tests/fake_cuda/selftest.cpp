// The fake CUDA stack's own tests: loading, initialization and contexts, memory, streams and
// events, error texts, NVRTC. Kernels are in selftest_kernels.cpp, cuBLAS in selftest_cublas.cpp,
// Kiln's rendered kernels in selftest_kiln.cpp.
#include "selftest.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <thread>

namespace fake_test {
namespace {

void* open_library(const char* path) {
    void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const char* why = lib ? nullptr : dlerror();
    INFO("dlopen " << path << ": " << (why ? why : "ok"));
    REQUIRE(lib != nullptr);
    return lib;
}

template <class F>
void bind(void* lib, F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(lib, name));
    INFO("symbol " << name);
    REQUIRE(fn != nullptr);
}

PreInit g_pre_init;

Api load() {
    Api a{};
    void* cuda = open_library(KILN_FAKE_CUDA_LIBRARY);
    void* nvrtc = open_library(KILN_FAKE_NVRTC_LIBRARY);
    void* blas = open_library(KILN_FAKE_CUBLAS_LIBRARY);
    bind(cuda, a.Init, "cuInit");
    bind(cuda, a.DriverGetVersion, "cuDriverGetVersion");
    bind(cuda, a.DeviceGetCount, "cuDeviceGetCount");
    bind(cuda, a.DeviceGet, "cuDeviceGet");
    bind(cuda, a.DeviceGetName, "cuDeviceGetName");
    bind(cuda, a.DeviceGetAttribute, "cuDeviceGetAttribute");
    bind(cuda, a.DeviceTotalMem, "cuDeviceTotalMem_v2");
    bind(cuda, a.PrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(cuda, a.PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    bind(cuda, a.CtxSetCurrent, "cuCtxSetCurrent");
    bind(cuda, a.CtxGetCurrent, "cuCtxGetCurrent");
    bind(cuda, a.StreamCreate, "cuStreamCreate");
    bind(cuda, a.StreamDestroy, "cuStreamDestroy_v2");
    bind(cuda, a.StreamSynchronize, "cuStreamSynchronize");
    bind(cuda, a.MemAlloc, "cuMemAlloc_v2");
    bind(cuda, a.MemFree, "cuMemFree_v2");
    bind(cuda, a.MemGetInfo, "cuMemGetInfo_v2");
    bind(cuda, a.MemcpyHtoD, "cuMemcpyHtoDAsync_v2");
    bind(cuda, a.MemcpyDtoH, "cuMemcpyDtoHAsync_v2");
    bind(cuda, a.MemcpyDtoD, "cuMemcpyDtoDAsync_v2");
    bind(cuda, a.MemsetD8, "cuMemsetD8Async");
    bind(cuda, a.ModuleLoadData, "cuModuleLoadData");
    bind(cuda, a.ModuleUnload, "cuModuleUnload");
    bind(cuda, a.ModuleGetFunction, "cuModuleGetFunction");
    bind(cuda, a.LaunchKernel, "cuLaunchKernel");
    bind(cuda, a.GetErrorName, "cuGetErrorName");
    bind(cuda, a.GetErrorString, "cuGetErrorString");
    bind(cuda, a.EventCreate, "cuEventCreate");
    bind(cuda, a.EventRecord, "cuEventRecord");
    bind(cuda, a.EventSynchronize, "cuEventSynchronize");
    bind(cuda, a.EventElapsedTime, "cuEventElapsedTime");
    bind(cuda, a.EventDestroy, "cuEventDestroy_v2");
    bind(cuda, a.Counters, "kiln_fake_cuda_counters");
    bind(nvrtc, a.NvrtcGetErrorString, "nvrtcGetErrorString");
    bind(nvrtc, a.NvrtcVersion, "nvrtcVersion");
    bind(nvrtc, a.NvrtcCreateProgram, "nvrtcCreateProgram");
    bind(nvrtc, a.NvrtcDestroyProgram, "nvrtcDestroyProgram");
    bind(nvrtc, a.NvrtcCompileProgram, "nvrtcCompileProgram");
    bind(nvrtc, a.NvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
    bind(nvrtc, a.NvrtcGetProgramLog, "nvrtcGetProgramLog");
    bind(nvrtc, a.NvrtcGetPTXSize, "nvrtcGetPTXSize");
    bind(nvrtc, a.NvrtcGetPTX, "nvrtcGetPTX");
    bind(nvrtc, a.NvrtcGetCUBINSize, "nvrtcGetCUBINSize");
    bind(nvrtc, a.NvrtcGetCUBIN, "nvrtcGetCUBIN");
    bind(blas, a.BlasCreate, "cublasCreate_v2");
    bind(blas, a.BlasDestroy, "cublasDestroy_v2");
    bind(blas, a.BlasSetStream, "cublasSetStream_v2");
    bind(blas, a.BlasSetMathMode, "cublasSetMathMode");
    bind(blas, a.BlasGetMathMode, "cublasGetMathMode");
    bind(blas, a.BlasGetStatusString, "cublasGetStatusString");
    bind(blas, a.Sgemm, "cublasSgemm_v2");
    bind(blas, a.Dgemm, "cublasDgemm_v2");
    bind(blas, a.SgemmBatched, "cublasSgemmStridedBatched");
    bind(blas, a.DgemmBatched, "cublasDgemmStridedBatched");
    bind(blas, a.BlasCalls, "kiln_fake_cublas_calls");

    // Before cuInit everything but the version and error texts is CUDA_ERROR_NOT_INITIALIZED;
    // with KILN_FAKE_CUDA_DEVICES=0 cuInit finds no device and the driver stays uninitialized.
    auto& calls = g_pre_init.calls;
    int n = 0, version = 0;
    CUdeviceptr p = 0;
    Handle h = nullptr;
    calls.push_back({"cuDeviceGetCount", a.DeviceGetCount(&n), 3});
    calls.push_back({"cuMemAlloc_v2", a.MemAlloc(&p, 16), 3});
    calls.push_back({"cuDevicePrimaryCtxRetain", a.PrimaryCtxRetain(&h, 0), 3});
    calls.push_back({"cuCtxSetCurrent", a.CtxSetCurrent(nullptr), 3});
    calls.push_back({"cuStreamCreate", a.StreamCreate(&h, 0), 3});
    calls.push_back({"cuModuleLoadData", a.ModuleLoadData(&h, "x"), 3});
    calls.push_back({"cuDriverGetVersion", a.DriverGetVersion(&version), 0});
    calls.push_back({"cuDriverGetVersion's value", version, 13000});
    const char* saved = std::getenv("KILN_FAKE_CUDA_DEVICES");
    std::string restore = saved ? saved : "";
    setenv("KILN_FAKE_CUDA_DEVICES", "0", 1);
    calls.push_back({"cuInit with KILN_FAKE_CUDA_DEVICES=0", a.Init(0), 100});
    calls.push_back({"cuDeviceGetCount after that", a.DeviceGetCount(&n), 3});
    if (saved)
        setenv("KILN_FAKE_CUDA_DEVICES", restore.c_str(), 1);
    else
        unsetenv("KILN_FAKE_CUDA_DEVICES");
    // The first successful cuInit fixes the device memory: 12 GiB here (16 GiB by default).
    setenv("KILN_FAKE_CUDA_MEMORY", "12884901888", 1);
    calls.push_back({"cuInit", a.Init(0), 0});
    unsetenv("KILN_FAKE_CUDA_MEMORY");
    return a;
}

}  // namespace

const Api& api() {
    static const Api a = load();
    return a;
}

const PreInit& pre_init() {
    api();
    return g_pre_init;
}

Handle init_context() {
    const Api& a = api();
    REQUIRE(a.Init(0) == 0);
    Handle ctx = nullptr;
    REQUIRE(a.PrimaryCtxRetain(&ctx, 0) == 0);
    REQUIRE(a.CtxSetCurrent(ctx) == 0);
    return ctx;
}

Counters counters() {
    Counters c;
    api().Counters(&c.allocs, &c.frees, &c.launches, &c.bytes);
    return c;
}

std::string compile_image(const std::string& source, const std::string& arch) {
    const Api& a = api();
    Handle prog = nullptr;
    REQUIRE(a.NvrtcCreateProgram(&prog, source.c_str(), "test.cu", 0, nullptr, nullptr) == 0);
    std::string opt = "--gpu-architecture=" + arch;
    const char* opts[] = {opt.c_str(), "--std=c++17"};
    REQUIRE(a.NvrtcCompileProgram(prog, 2, opts) == 0);
    size_t size = 0;
    REQUIRE(a.NvrtcGetPTXSize(prog, &size) == 0);
    std::string image(size, '\0');
    REQUIRE(a.NvrtcGetPTX(prog, image.data()) == 0);
    REQUIRE(a.NvrtcDestroyProgram(&prog) == 0);
    return image;
}

Handle load_kernel(const std::string& source, const std::string& name) {
    init_context();
    std::string image = compile_image(source);
    Handle module = nullptr, function = nullptr;
    INFO(source);
    REQUIRE(api().ModuleLoadData(&module, image.data()) == 0);
    REQUIRE(api().ModuleGetFunction(&function, module, name.c_str()) == 0);
    return function;
}

}  // namespace fake_test

using namespace fake_test;

TEST_CASE("fake CUDA: before cuInit calls are CUDA_ERROR_NOT_INITIALIZED") {
    for (const PreInit::Call& c : pre_init().calls) {
        INFO(c.what);
        CHECK(c.result == c.expected);
    }
}

TEST_CASE("fake CUDA: devices and primary contexts") {
    init_context();
    const Api& a = api();
    int n = 0, dev = -1, v = 0;
    REQUIRE(a.DeviceGetCount(&n) == 0);
    CHECK(n == 1);
    CHECK(a.DeviceGet(&dev, 0) == 0);
    CHECK(dev == 0);
    CHECK(a.DeviceGet(&dev, 1) == 101);
    char name[64];
    CHECK(a.DeviceGetName(name, sizeof name, 0) == 0);
    CHECK(std::string(name) == "Kiln fake CUDA device (CPU emulation)");
    for (auto [attribute, want] :
         {std::pair{75, 9}, {76, 0}, {16, 4}, {1, 1024}, {10, 32}, {30, 0}}) {
        INFO("attribute " << attribute);
        CHECK(a.DeviceGetAttribute(&v, attribute, 0) == 0);
        CHECK(v == want);
    }
    size_t total = 0;
    CHECK(a.DeviceTotalMem(&total, 0) == 0);
    CHECK(total == size_t{12} << 30);  // KILN_FAKE_CUDA_MEMORY, set when loading
    Handle current = nullptr;
    CHECK(a.CtxGetCurrent(&current) == 0);
    CHECK(current != nullptr);
    int bogus = 0;
    CHECK(a.CtxSetCurrent(&bogus) == 201);
}

TEST_CASE("fake CUDA: contexts are current per thread") {
    Handle ctx = init_context();
    const Api& a = api();
    CUdeviceptr p = 0;
    CUresult without = -1, with = -1, after_unset = -1;
    std::thread([&] {
        without = a.MemAlloc(&p, 64);
        Handle s = nullptr;
        CHECK(a.StreamCreate(&s, 0) == 201);
        CHECK(a.ModuleLoadData(&s, "KILN-FAKE-CUDA-SOURCE\n") == 201);
        CHECK(a.LaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr) == 201);
        a.CtxSetCurrent(ctx);
        with = a.MemAlloc(&p, 64);
        a.CtxSetCurrent(nullptr);
        after_unset = a.MemFree(p);
    }).join();
    CHECK(without == 201);
    CHECK(with == 0);
    CHECK(after_unset == 201);
    CHECK(a.MemFree(p) == 0);  // still current on this thread
}

TEST_CASE("fake CUDA: memory round trip, bounds and counters") {
    init_context();
    const Api& a = api();
    Counters before = counters();
    std::vector<float> x(1000);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f;
    CUdeviceptr d = upload(x);
    CHECK(d % 256 == 0);
    CHECK(download<float>(d, 1000) == x);
    CUdeviceptr e = 0;
    REQUIRE(a.MemAlloc(&e, 4000) == 0);
    CHECK(std::isnan(download<float>(e, 1)[0]));  // fresh memory is poisoned
    CHECK(a.MemcpyDtoD(e, d, 4000, nullptr) == 0);
    CHECK(download<float>(e, 1000) == x);
    CHECK(a.MemsetD8(e + 4, 0, 8, nullptr) == 0);
    std::vector<float> y = download<float>(e, 4);
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.0f);
    CHECK(y[2] == 0.0f);
    CHECK(y[3] == 1.5f);

    std::vector<float> host(1001);
    CHECK(a.MemcpyHtoD(d, host.data(), 4004, nullptr) == 1);  // one float past the end
    CHECK(a.MemcpyDtoH(host.data(), d + 4, 4000, nullptr) == 1);
    CHECK(a.MemcpyDtoD(e, d + 8, 4000, nullptr) == 1);
    CHECK(a.MemsetD8(e + 3999, 0, 2, nullptr) == 1);
    CHECK(a.MemcpyHtoD(reinterpret_cast<CUdeviceptr>(host.data()), x.data(), 4, nullptr) == 1);
    CHECK(a.MemcpyHtoD(d, host.data(), 0, nullptr) == 0);
    CHECK(a.MemcpyHtoD(d, reinterpret_cast<void*>(e), 4, nullptr) == 1);  // device as host
    CHECK(a.MemcpyDtoH(reinterpret_cast<void*>(e), d, 4, nullptr) == 1);
    CUdeviceptr z = 0;
    CHECK(a.MemAlloc(&z, 0) == 1);
    CHECK(a.MemAlloc(&z, size_t{13} << 30) == 2);

    size_t free_bytes = 0, total = 0;
    CHECK(a.MemGetInfo(&free_bytes, &total) == 0);
    CHECK(total == size_t{12} << 30);
    CHECK(total - free_bytes >= 8192);
    Counters mid = counters();
    CHECK(mid.allocs - before.allocs == 2);
    CHECK(mid.bytes - before.bytes == 8000);
    CHECK(a.MemFree(d) == 0);
    CHECK(a.MemFree(d) == 1);  // double free
    CHECK(a.MemFree(e + 4) == 1);
    CHECK(a.MemFree(e) == 0);
    CHECK(a.MemcpyDtoH(host.data(), d, 4, nullptr) == 1);  // freed
    Counters after = counters();
    CHECK(after.frees - before.frees == 2);
    CHECK(after.bytes == before.bytes);
}

TEST_CASE("fake CUDA: streams and events") {
    init_context();
    const Api& a = api();
    Handle s = nullptr, e0 = nullptr, e1 = nullptr, e2 = nullptr;
    REQUIRE(a.StreamCreate(&s, 1) == 0);
    CHECK(a.StreamCreate(&e0, 8) == 1);
    REQUIRE(a.EventCreate(&e0, 0) == 0);
    REQUIRE(a.EventCreate(&e1, 0) == 0);
    REQUIRE(a.EventCreate(&e2, 2) == 0);  // CU_EVENT_DISABLE_TIMING
    float ms = -1;
    CHECK(a.EventElapsedTime(&ms, e0, e1) == 400);  // not recorded
    CHECK(a.EventRecord(e0, s) == 0);
    CHECK(a.EventRecord(e1, nullptr) == 0);
    CHECK(a.EventRecord(e2, s) == 0);
    CHECK(a.EventSynchronize(e1) == 0);
    CHECK(a.EventElapsedTime(&ms, e0, e1) == 0);
    CHECK(ms >= 0.0f);
    CHECK(a.EventElapsedTime(&ms, e0, e2) == 400);
    CHECK(a.StreamSynchronize(s) == 0);
    CHECK(a.StreamSynchronize(nullptr) == 0);
    CUdeviceptr d = upload(std::vector<int>{1, 2, 3});
    CHECK(a.StreamDestroy(s) == 0);
    CHECK(a.StreamDestroy(s) == 400);
    CHECK(a.StreamSynchronize(s) == 400);
    int host[3];
    CHECK(a.MemcpyDtoH(host, d, 12, s) == 400);
    CHECK(a.EventRecord(e0, s) == 400);
    for (Handle e : {e0, e1, e2}) CHECK(a.EventDestroy(e) == 0);
    CHECK(a.EventDestroy(e0) == 400);
    CHECK(a.MemFree(d) == 0);
}

TEST_CASE("fake CUDA: error names and texts") {
    const Api& a = api();
    for (int code : {0, 1, 2, 3, 100, 101, 200, 201, 218, 400, 500, 600, 700, 701, 719}) {
        const char* name = nullptr;
        const char* text = nullptr;
        INFO("code " << code);
        CHECK(a.GetErrorName(code, &name) == 0);
        CHECK(a.GetErrorString(code, &text) == 0);
        REQUIRE(name != nullptr);
        REQUIRE(text != nullptr);
        CHECK(std::string(name).rfind("CUDA_", 0) == 0);
        CHECK(std::strlen(text) > 3);
    }
    const char* name = nullptr;
    CHECK(a.GetErrorName(1, &name) == 0);
    CHECK(std::string(name) == "CUDA_ERROR_INVALID_VALUE");
    CHECK(a.GetErrorName(12345, &name) == 1);
}

TEST_CASE("fake NVRTC: the image is the source behind a marker") {
    const Api& a = api();
    int major = -1, minor = -1;
    CHECK(a.NvrtcVersion(&major, &minor) == 0);
    CHECK((major == 0 && minor == 1));
    CHECK(std::string(a.NvrtcGetErrorString(0)) == "NVRTC_SUCCESS");
    std::string src = "extern \"C\" __global__ void k() {}\n";
    Handle prog = nullptr;
    REQUIRE(a.NvrtcCreateProgram(&prog, src.c_str(), "k.cu", 0, nullptr, nullptr) == 0);
    size_t size = 0;
    CHECK(a.NvrtcGetPTXSize(prog, &size) != 0);  // not compiled yet
    const char* opts[] = {"--gpu-architecture=sm_90"};
    REQUIRE(a.NvrtcCompileProgram(prog, 1, opts) == 0);
    CHECK(a.NvrtcGetProgramLogSize(prog, &size) == 0);
    CHECK(size == 1);
    char log[4] = "xyz";
    CHECK(a.NvrtcGetProgramLog(prog, log) == 0);
    CHECK(log[0] == '\0');
    std::string want = "KILN-FAKE-CUDA-SOURCE\n" + src;
    CHECK(a.NvrtcGetPTXSize(prog, &size) == 0);
    CHECK(size == want.size() + 1);
    std::string ptx(size, 'x');
    CHECK(a.NvrtcGetPTX(prog, ptx.data()) == 0);
    CHECK(ptx == want + '\0');
    CHECK(a.NvrtcGetCUBINSize(prog, &size) == 0);
    CHECK(size == want.size() + 1);
    std::string cubin(size, 'x');
    CHECK(a.NvrtcGetCUBIN(prog, cubin.data()) == 0);
    CHECK(cubin == ptx);
    CHECK(a.NvrtcDestroyProgram(&prog) == 0);
    CHECK(prog == nullptr);
    // No CUBIN for a virtual architecture, as with the real NVRTC.
    REQUIRE(a.NvrtcCreateProgram(&prog, src.c_str(), "k.cu", 0, nullptr, nullptr) == 0);
    const char* virt[] = {"--gpu-architecture=compute_90"};
    REQUIRE(a.NvrtcCompileProgram(prog, 1, virt) == 0);
    CHECK(a.NvrtcGetCUBINSize(prog, &size) == 0);
    CHECK(size == 0);
    CHECK(a.NvrtcDestroyProgram(&prog) == 0);
}
