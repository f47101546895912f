#pragma once
/// The CUDA driver (libcuda.so.1), loaded with dlopen at first use and never linked, so one
/// build runs on machines with and without a GPU. The entry points Kiln calls are declared here
/// with the driver's C ABI (CUresult is an int enum, handles are opaque pointers), so the build
/// needs no CUDA header.
///
/// $KILN_CUDA_DRIVER_LIBRARY, when set, names the library to load instead (tests run the whole
/// CUDA path on a CPU-only machine against tests/fake_cuda's emulation that way).
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::runtime {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUstream = struct CUstream_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUevent = struct CUevent_st*;

/// The driver entry points Kiln uses (symbol names in driver.cpp). Filled once by the probe;
/// every pointer is non-null when CudaDriverStatus::available.
struct CudaDriverApi {
    CUresult (*GetErrorName)(CUresult, const char**) = nullptr;
    CUresult (*GetErrorString)(CUresult, const char**) = nullptr;
    CUresult (*DeviceGet)(CUdevice*, int) = nullptr;
    CUresult (*DeviceGetName)(char*, int, CUdevice) = nullptr;
    CUresult (*DeviceGetAttribute)(int*, int, CUdevice) = nullptr;
    CUresult (*DevicePrimaryCtxRetain)(CUcontext*, CUdevice) = nullptr;
    CUresult (*CtxSetCurrent)(CUcontext) = nullptr;
    CUresult (*StreamCreate)(CUstream*, unsigned) = nullptr;
    CUresult (*StreamSynchronize)(CUstream) = nullptr;
    CUresult (*MemAlloc)(CUdeviceptr*, size_t) = nullptr;
    CUresult (*MemFree)(CUdeviceptr) = nullptr;
    CUresult (*MemGetInfo)(size_t*, size_t*) = nullptr;
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream) = nullptr;
    CUresult (*MemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream) = nullptr;
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream) = nullptr;
    CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream) = nullptr;
    CUresult (*ModuleLoadData)(CUmodule*, const void*) = nullptr;
    CUresult (*ModuleGetFunction)(CUfunction*, CUmodule, const char*) = nullptr;
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void**, void**) = nullptr;
};

/// What the first use of the driver found. Computed once per process (thread-safe).
struct CudaDriverStatus {
    /// The driver library loaded, every entry point was found, cuInit succeeded and at least
    /// one device is present.
    bool available = false;
    int device_count = 0;
    int driver_version = 0;  ///< cuDriverGetVersion, e.g. 13000; 0 when unknown
    /// Why CUDA cannot be used, for error messages (empty when available): no driver library,
    /// the toolkit's stub library (cuInit returns CUDA_ERROR_STUB_LIBRARY), cuInit failing,
    /// or no device.
    std::string reason;
    /// The entry points (meaningful only when available).
    CudaDriverApi api;
};
const CudaDriverStatus& cuda_driver_status();

/// The driver's entry points; throws kiln::Error with the status's reason when unavailable.
const CudaDriverApi& cuda_api();

/// Throws kiln::Error "CUDA error in CALL: CUDA_ERROR_NAME (driver's text)" unless r is success.
/// `call` names what Kiln was doing (e.g. "cuMemAlloc of 4.00 MiB on cuda:0").
void check_cuda(CUresult r, const std::string& call);

/// Why `device` (a CUDA device, "cuda:N") cannot hold tensors in this process: the driver
/// status's reason or a device number past the count; "" when it can. Used by every place that
/// refuses a CUDA device, so they all say the same.
std::string cuda_unavailable_reason(int device_index);

}  // namespace kiln::runtime
