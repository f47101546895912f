#include "runtime/cuda/driver.h"

#include <fmt/format.h>

#include "kiln/error.h"
#include "support/shared_library.h"

namespace kiln::runtime {
namespace {

constexpr CUresult kSuccess = 0;
constexpr CUresult kStubLibrary = 34;  // CUDA_ERROR_STUB_LIBRARY
constexpr CUresult kNoDevice = 100;    // CUDA_ERROR_NO_DEVICE

/// Every entry point, by the symbol the driver exports (the _v2 names are the 64-bit ABI that
/// cuda.h maps the plain names to).
std::string load_api(void* lib, CudaDriverApi& a) {
    support::Symbols sym(lib);
    sym.bind(a.GetErrorName, "cuGetErrorName");
    sym.bind(a.GetErrorString, "cuGetErrorString");
    sym.bind(a.DeviceGet, "cuDeviceGet");
    sym.bind(a.DeviceGetName, "cuDeviceGetName");
    sym.bind(a.DeviceGetAttribute, "cuDeviceGetAttribute");
    sym.bind(a.DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    sym.bind(a.CtxSetCurrent, "cuCtxSetCurrent");
    sym.bind(a.StreamCreate, "cuStreamCreate");
    sym.bind(a.StreamSynchronize, "cuStreamSynchronize");
    sym.bind(a.MemAlloc, "cuMemAlloc_v2");
    sym.bind(a.MemFree, "cuMemFree_v2");
    sym.bind(a.MemGetInfo, "cuMemGetInfo_v2");
    sym.bind(a.MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    sym.bind(a.MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    sym.bind(a.MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    sym.bind(a.MemsetD8Async, "cuMemsetD8Async");
    sym.bind(a.ModuleLoadData, "cuModuleLoadData");
    sym.bind(a.ModuleGetFunction, "cuModuleGetFunction");
    sym.bind(a.LaunchKernel, "cuLaunchKernel");
    return sym.missing();
}

CudaDriverStatus probe() {
    CudaDriverStatus s;
    // The library stays loaded for the life of the process (contexts and modules point into it).
    support::SharedLibrary driver =
        support::load_shared_library("KILN_CUDA_DRIVER_LIBRARY", {"libcuda.so.1"});
    if (!driver.handle) {
        s.reason = "no CUDA driver (cannot load " + driver.tried.substr(3) + ")";  // "\n  " off
        return s;
    }
    void* lib = driver.handle;
    support::Symbols entry(lib);
    CUresult (*init)(unsigned) = nullptr;
    CUresult (*count)(int*) = nullptr;
    CUresult (*version)(int*) = nullptr;
    entry.bind(init, "cuInit");
    entry.bind(count, "cuDeviceGetCount");
    entry.bind(version, "cuDriverGetVersion");
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
