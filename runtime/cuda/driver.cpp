#include "runtime/cuda/driver.h"

#include <dlfcn.h>

#include <fmt/format.h>

namespace kiln::runtime {
namespace {

// The few driver entry points this slice needs, declared with the driver's C ABI (CUresult is
// an int enum): the build needs no CUDA header.
using CUresult = int;
constexpr CUresult kSuccess = 0;
constexpr CUresult kStubLibrary = 34;  // CUDA_ERROR_STUB_LIBRARY
constexpr CUresult kNoDevice = 100;    // CUDA_ERROR_NO_DEVICE

CudaDriverStatus probe() {
    CudaDriverStatus s;
    // RTLD_LOCAL: the driver's symbols never interpose on anything of the host program's.
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        s.reason = fmt::format("no CUDA driver (libcuda.so.1 cannot be loaded: {})",
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
    s.available = true;
    return s;
}

}  // namespace

const CudaDriverStatus& cuda_driver_status() {
    static const CudaDriverStatus status = probe();
    return status;
}

std::string cuda_unavailable_reason(int device_index) {
    const CudaDriverStatus& s = cuda_driver_status();
    if (!s.available) return s.reason;
    if (device_index >= s.device_count)
        return fmt::format("this machine has {} CUDA device{}", s.device_count,
                           s.device_count == 1 ? "" : "s");
    return "Kiln's CUDA runtime is not built yet (kernels render and compile with NVRTC; "
           "running them on the device comes next)";
}

}  // namespace kiln::runtime
