#pragma once
/// Caching allocator for device memory, one per device (PyTorch's CUDA caching allocator in
/// miniature): a block freed by a tensor is kept by size class and handed out again, so a
/// training loop in its steady state makes no cuMemAlloc/cuMemFree calls (each of which
/// synchronizes the device). Reuse is safe without events because all of a device's work is
/// queued on one stream (runtime/cuda/device.h): the next user of a block is queued after its
/// last one.
#include <cstddef>
#include <cstdint>

#include "runtime/cuda/driver.h"

namespace kiln::runtime {

struct CudaAllocatorStats {
    int64_t bytes_in_use = 0;        ///< size-class bytes handed out and not yet returned
    int64_t bytes_cached = 0;        ///< returned and kept for reuse
    int64_t driver_allocations = 0;  ///< cuMemAlloc calls
    int64_t driver_frees = 0;        ///< cuMemFree calls
};

/// Device memory of at least `bytes` on cuda:`device` (256-byte aligned, as cuMemAlloc's).
/// Takes a cached block of the same size class, else asks the driver; when the driver is out of
/// memory, frees the cache and asks again before throwing kiln::OutOfMemoryError (bytes asked
/// for, bytes in use and cached). `bytes` 0 gets a 256-byte block.
CUdeviceptr cuda_allocate(int device, size_t bytes);
/// Returns a block from cuda_allocate (`bytes` as asked). Never throws.
void cuda_deallocate(int device, CUdeviceptr ptr, size_t bytes) noexcept;
/// Gives every cached block of `device` back to the driver.
void cuda_empty_cache(int device);
CudaAllocatorStats cuda_allocator_stats(int device);

/// The size class of a request: 512-byte multiples up to 1 MiB, then 2 MiB multiples (blocks
/// at most ~2 MiB or 50% larger than asked, and a re-used size always lands in the same class).
size_t cuda_size_class(size_t bytes);

}  // namespace kiln::runtime
