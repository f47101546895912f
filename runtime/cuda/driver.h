#pragma once
/// The CUDA driver (libcuda.so.1), loaded with dlopen at first use and never linked, so one
/// build runs on machines with and without a GPU. This slice only finds out whether a usable
/// driver and device are there; contexts, memory and launches come with the CUDA runtime.
#include <string>

namespace kiln::runtime {

/// What the first use of the driver found. Computed once per process (thread-safe).
struct CudaDriverStatus {
    /// libcuda.so.1 loaded, cuInit succeeded and at least one device is present.
    bool available = false;
    int device_count = 0;
    int driver_version = 0;  ///< cuDriverGetVersion, e.g. 13000; 0 when unknown
    /// Why CUDA cannot be used, for error messages (empty when available): no driver library,
    /// the toolkit's stub library (cuInit returns CUDA_ERROR_STUB_LIBRARY), cuInit failing,
    /// or no device.
    std::string reason;
};
const CudaDriverStatus& cuda_driver_status();

/// Why `device` (a CUDA device, "cuda:N") cannot hold tensors in this process: the driver
/// status's reason, a device number past the count, or that Kiln's CUDA runtime is not built
/// yet. Used by every place that refuses a CUDA device, so they all say the same.
std::string cuda_unavailable_reason(int device_index);

}  // namespace kiln::runtime
