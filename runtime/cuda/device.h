#pragma once
/// A CUDA device as Kiln uses it: the device's primary context (shared with anything else in
/// the process that uses the runtime API, as PyTorch does) and one non-blocking stream on which
/// every copy, kernel and cuBLAS call for that device is queued, in program order. One stream
/// per device is what makes the caching allocator safe without events: memory freed by a
/// tensor is only reused by work queued after the work that last used it.
#include <string>

#include "runtime/cuda/driver.h"

namespace kiln::runtime {

struct CudaDevice {
    int index = 0;
    CUcontext context = nullptr;
    CUstream stream = nullptr;
    std::string name;           ///< e.g. "NVIDIA H200"
    int compute_major = 0;      ///< compute capability, e.g. 9.0
    int compute_minor = 0;
    int multiprocessors = 0;
    /// "sm_90": the real architecture NVRTC compiles this device's kernels for.
    std::string arch() const;
};

/// Device `index`, set up on first use (thread-safe) and made current on the calling thread.
/// Throws kiln::Error naming the reason when the device is unavailable.
const CudaDevice& cuda_device(int index);

/// Waits for everything queued on the device's stream; throws the driver's error (with what
/// failed) when queued work failed, and runtime::IndexOutOfRange when a gather or scatter_add
/// queued since the last synchronization met a bad index (the device's error record).
void cuda_synchronize(int index);

/// The device's error record (4 long longs: set flag, index value, bound, call site; zeroed),
/// which kernels that can meet bad input write instead of failing (a kernel cannot throw, and
/// reading the record back after every step would end asynchronous execution). Checked by
/// cuda_synchronize(). Allocated on first use.
CUdeviceptr cuda_error_record(int index);

}  // namespace kiln::runtime
