#include "runtime/cuda/driver.h"

#include <dlfcn.h>

#include <cstdlib>

#include <fmt/format.h>

#include "kiln/error.h"

namespace kiln::runtime {
namespace {

constexpr CUresult kSuccess = 0;
constexpr CUresult kStubLibrary = 34;  // CUDA_ERROR_STUB_LIBRARY
constexpr CUresult kNoDevice = 100;    // CUDA_ERROR_NO_DEVICE

template <typename F>
bool find(void* lib, F& fn, const char* symbol, std::string& missing) {
    fn = reinterpret_cast<F>(dlsym(lib, symbol));
    if (!fn) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
    return fn != nullptr;
}

/// Every entry point, by the symbol the driver exports (the _v2 names are the 64-bit ABI that
/// cuda.h maps the plain names to).
std::string load_api(void* lib, CudaDriverApi& a) {
    std::string missing;
    find(lib, a.GetErrorName, "cuGetErrorName", missing);
    find(lib, a.GetErrorString, "cuGetErrorString", missing);
    find(lib, a.DeviceGet, "cuDeviceGet", missing);
    find(lib, a.DeviceGetName, "cuDeviceGetName", missing);
    find(lib, a.DeviceGetAttribute, "cuDeviceGetAttribute", missing);
    find(lib, a.DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", missing);
    find(lib, a.CtxSetCurrent, "cuCtxSetCurrent", missing);
    find(lib, a.StreamCreate, "cuStreamCreate", missing);
    find(lib, a.StreamSynchronize, "cuStreamSynchronize", missing);
    find(lib, a.MemAlloc, "cuMemAlloc_v2", missing);
    find(lib, a.MemFree, "cuMemFree_v2", missing);
    find(lib, a.MemGetInfo, "cuMemGetInfo_v2", missing);
    find(lib, a.MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", missing);
    find(lib, a.MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", missing);
    find(lib, a.MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", missing);
    find(lib, a.MemsetD8Async, "cuMemsetD8Async", missing);
    find(lib, a.ModuleLoadData, "cuModuleLoadData", missing);
    find(lib, a.ModuleGetFunction, "cuModuleGetFunction", missing);
    find(lib, a.LaunchKernel, "cuLaunchKernel", missing);
    return missing;
}

CudaDriverStatus probe() {
    CudaDriverStatus s;
    const char* override_path = std::getenv("KILN_CUDA_DRIVER_LIBRARY");
    std::string path = override_path && *override_path ? override_path : "libcuda.so.1";
    // RTLD_LOCAL: the driver's symbols never interpose on anything of the host program's. The
    // library stays loaded for the life of the process (contexts and modules point into it).
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        s.reason = fmt::format("no CUDA driver ({} cannot be loaded: {})", path,
                               why ? why : "unknown error");
        return s;
    }
    auto init = reinterpret_cast<CUresult (*)(unsigned)>(dlsym(lib, "cuInit"));
    auto count = reinterpret_cast<CUresult (*)(int*)>(dlsym(lib, "cuDeviceGetCount"));
    auto version = reinterpret_cast<CUresult (*)(int*)>(dlsym(lib, "cuDriverGetVersion"));
    if (!init || !count) {
        s.reason = "the CUDA driver library lacks cuInit or cuDeviceGetCount";
        return s;
    }
    if (version) version(&s.driver_version);
    CUresult r = init(0);
    if (r == kStubLibrary) {
        s.reason = "no CUDA driver (libcuda.so.1 is the CUDA toolkit's stub library, not a driver)";
        return s;
    }
    if (r == kNoDevice) {
        s.reason = "no CUDA device (the driver found none)";
        return s;
    }
    if (r != kSuccess) {
        s.reason = fmt::format("the CUDA driver failed to initialize (cuInit error {})", r);
        return s;
    }
    if (count(&s.device_count) != kSuccess || s.device_count <= 0) {
        s.device_count = 0;
        s.reason = "no CUDA device (the driver found none)";
        return s;
    }
    std::string missing = load_api(lib, s.api);
    if (!missing.empty()) {
        s.device_count = 0;
        s.reason = "the CUDA driver library lacks " + missing + " (too old a driver?)";
        return s;
    }
    s.available = true;
    return s;
}

}  // namespace

const CudaDriverStatus& cuda_driver_status() {
    static const CudaDriverStatus status = probe();
    return status;
}

const CudaDriverApi& cuda_api() {
    const CudaDriverStatus& s = cuda_driver_status();
    if (!s.available) throw Error("CUDA is not available: " + s.reason);
    return s.api;
}

void check_cuda(CUresult r, const std::string& call) {
    if (r == kSuccess) return;
    const CudaDriverApi& a = cuda_driver_status().api;
    const char* name = nullptr;
    const char* text = nullptr;
    if (a.GetErrorName) a.GetErrorName(r, &name);
    if (a.GetErrorString) a.GetErrorString(r, &text);
    std::string what = fmt::format("CUDA error in {}: {} ({})", call,
                                   name ? name : fmt::format("error {}", r),
                                   text ? text : "no description");
    if (r == 2) throw OutOfMemoryError(what);  // CUDA_ERROR_OUT_OF_MEMORY
    throw Error(what);
}

std::string cuda_unavailable_reason(int device_index) {
    const CudaDriverStatus& s = cuda_driver_status();
    if (!s.available) return s.reason;
    if (device_index < 0 || device_index >= s.device_count)
        return fmt::format("this machine has {} CUDA device{}", s.device_count,
                           s.device_count == 1 ? "" : "s");
    return "";
}

}  // namespace kiln::runtime
