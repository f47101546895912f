#pragma once
// The self-test's view of the fake CUDA stack: the three libraries loaded with dlopen (as Kiln
// loads the real ones), their entry points by the real symbol names, and small helpers for
// contexts, device buffers and kernels compiled through the fake NVRTC.
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace fake_test {

using CUresult = int;
using CUdeviceptr = unsigned long long;
using Handle = void*;  // CUcontext, CUstream, CUevent, CUmodule, CUfunction, cublasHandle_t

/// Entry points of the three fakes (the real libraries' C signatures).
struct Api {
    // driver
    CUresult (*Init)(unsigned);
    CUresult (*DriverGetVersion)(int*);
    CUresult (*DeviceGetCount)(int*);
    CUresult (*DeviceGet)(int*, int);
    CUresult (*DeviceGetName)(char*, int, int);
    CUresult (*DeviceGetAttribute)(int*, int, int);
    CUresult (*DeviceTotalMem)(size_t*, int);
    CUresult (*PrimaryCtxRetain)(Handle*, int);
    CUresult (*PrimaryCtxRelease)(int);
    CUresult (*CtxSetCurrent)(Handle);
    CUresult (*CtxGetCurrent)(Handle*);
    CUresult (*StreamCreate)(Handle*, unsigned);
    CUresult (*StreamDestroy)(Handle);
    CUresult (*StreamSynchronize)(Handle);
    CUresult (*MemAlloc)(CUdeviceptr*, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemGetInfo)(size_t*, size_t*);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void*, size_t, Handle);
    CUresult (*MemcpyDtoH)(void*, CUdeviceptr, size_t, Handle);
    CUresult (*MemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t, Handle);
    CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t, Handle);
    CUresult (*ModuleLoadData)(Handle*, const void*);
    CUresult (*ModuleUnload)(Handle);
    CUresult (*ModuleGetFunction)(Handle*, Handle, const char*);
    CUresult (*LaunchKernel)(Handle, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, Handle, void**, void**);
    CUresult (*GetErrorName)(CUresult, const char**);
    CUresult (*GetErrorString)(CUresult, const char**);
    CUresult (*EventCreate)(Handle*, unsigned);
    CUresult (*EventRecord)(Handle, Handle);
    CUresult (*EventSynchronize)(Handle);
    CUresult (*EventElapsedTime)(float*, Handle, Handle);
    CUresult (*EventDestroy)(Handle);
    void (*Counters)(long long*, long long*, long long*, long long*);
    // NVRTC
    const char* (*NvrtcGetErrorString)(int);
    int (*NvrtcVersion)(int*, int*);
    int (*NvrtcCreateProgram)(Handle*, const char*, const char*, int, const char* const*,
                              const char* const*);
    int (*NvrtcDestroyProgram)(Handle*);
    int (*NvrtcCompileProgram)(Handle, int, const char* const*);
    int (*NvrtcGetProgramLogSize)(Handle, size_t*);
    int (*NvrtcGetProgramLog)(Handle, char*);
    int (*NvrtcGetPTXSize)(Handle, size_t*);
    int (*NvrtcGetPTX)(Handle, char*);
    int (*NvrtcGetCUBINSize)(Handle, size_t*);
    int (*NvrtcGetCUBIN)(Handle, char*);
    // cuBLAS
    int (*BlasCreate)(Handle*);
    int (*BlasDestroy)(Handle);
    int (*BlasSetStream)(Handle, Handle);
    int (*BlasSetMathMode)(Handle, int);
    int (*BlasGetMathMode)(Handle, int*);
    const char* (*BlasGetStatusString)(int);
    int (*Sgemm)(Handle, int, int, int, int, int, const float*, const float*, int, const float*,
                 int, const float*, float*, int);
    int (*Dgemm)(Handle, int, int, int, int, int, const double*, const double*, int, const double*,
                 int, const double*, double*, int);
    int (*SgemmBatched)(Handle, int, int, int, int, int, const float*, const float*, int, long long,
                        const float*, int, long long, const float*, float*, int, long long, int);
    int (*DgemmBatched)(Handle, int, int, int, int, int, const double*, const double*, int,
                        long long, const double*, int, long long, const double*, double*, int,
                        long long, int);
    long long (*BlasCalls)();
};

/// Driver calls made when the libraries were loaded, before and at the first cuInit (which only
/// the loader makes, so that no test can run before it).
struct PreInit {
    struct Call {
        std::string what;
        int result, expected;
    };
    std::vector<Call> calls;
};
const PreInit& pre_init();

/// The fakes, loaded once (REQUIREs that every symbol is there); loading also makes pre_init()'s
/// calls, so the driver is initialized (with 12 GiB of device memory) afterwards.
const Api& api();

/// cuInit, then device 0's primary context current on this thread; returns the context.
Handle init_context();

/// The counters of kiln_fake_cuda_counters.
struct Counters {
    long long allocs = 0, frees = 0, launches = 0, bytes = 0;
};
Counters counters();

/// The fake NVRTC's image of `source` (for architecture `arch`).
std::string compile_image(const std::string& source, const std::string& arch = "compute_90");

/// Loads `source` as a module (through the fake NVRTC) and returns kernel `name`; REQUIREs
/// success. Modules stay loaded for the rest of the process.
Handle load_kernel(const std::string& source, const std::string& name);

/// A device buffer holding `values` (freed by the test).
template <class T>
CUdeviceptr upload(const std::vector<T>& values) {
    CUdeviceptr p = 0;
    REQUIRE(api().MemAlloc(&p, values.size() * sizeof(T)) == 0);
    REQUIRE(api().MemcpyHtoD(p, values.data(), values.size() * sizeof(T), nullptr) == 0);
    return p;
}

template <class T>
std::vector<T> download(CUdeviceptr p, size_t n) {
    std::vector<T> out(n);
    REQUIRE(api().MemcpyDtoH(out.data(), p, n * sizeof(T), nullptr) == 0);
    return out;
}

}  // namespace fake_test
