#include "runtime/cuda/cuda_allocator.h"

#include <mutex>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "kiln/error.h"
#include "runtime/buffer.h"
#include "runtime/cuda/device.h"

namespace kiln::runtime {
namespace {

constexpr size_t kSmall = size_t{1} << 20;
constexpr size_t kLargeStep = size_t{2} << 20;

struct DevicePool {
    std::unordered_map<size_t, std::vector<CUdeviceptr>> free;  // size class -> cached blocks
    CudaAllocatorStats stats;
};

struct Pools {
    std::mutex mutex;
    std::unordered_map<int, DevicePool> by_device;
};

Pools& pools() {
    static Pools* p = new Pools();  // leaked: buffers may be freed during static destruction
    return *p;
}

/// Frees every cached block of `pool` (the caller holds the mutex and has made the device's
/// context current).
void release_cached(int device, DevicePool& pool) {
    for (auto& [size, blocks] : pool.free) {
        for (CUdeviceptr p : blocks) {
            check_cuda(cuda_api().MemFree(p), fmt::format("cuMemFree on cuda:{}", device));
            pool.stats.driver_frees++;
            pool.stats.bytes_cached -= static_cast<int64_t>(size);
        }
    }
    pool.free.clear();
}

}  // namespace

size_t cuda_size_class(size_t bytes) {
    if (bytes == 0) return 512;
    if (bytes <= kSmall) return (bytes + 511) / 512 * 512;
    return (bytes + kLargeStep - 1) / kLargeStep * kLargeStep;
}

CUdeviceptr cuda_allocate(int device, size_t bytes) {
    size_t size = cuda_size_class(bytes);
    (void)cuda_device(device);  // the device's context, current on this thread
    Pools& all = pools();
    std::lock_guard lock(all.mutex);
    DevicePool& pool = all.by_device[device];
    auto it = pool.free.find(size);
    if (it != pool.free.end() && !it->second.empty()) {
        CUdeviceptr p = it->second.back();
        it->second.pop_back();
        pool.stats.bytes_cached -= static_cast<int64_t>(size);
        pool.stats.bytes_in_use += static_cast<int64_t>(size);
        return p;
    }
    const CudaDriverApi& api = cuda_api();
    CUdeviceptr p = 0;
    CUresult r = api.MemAlloc(&p, size);
    if (r == 2) {  // CUDA_ERROR_OUT_OF_MEMORY: what is cached may be enough
        release_cached(device, pool);
        r = api.MemAlloc(&p, size);
    }
    if (r == 2)
        throw OutOfMemoryError(fmt::format(
            "out of memory on cuda:{}: cannot allocate {}; Kiln's CUDA allocator holds {} in use",
            device, format_bytes(static_cast<int64_t>(size)),
            format_bytes(pool.stats.bytes_in_use)));
    check_cuda(r, fmt::format("cuMemAlloc of {} on cuda:{}", format_bytes(static_cast<int64_t>(size)),
                              device));
    pool.stats.driver_allocations++;
    pool.stats.bytes_in_use += static_cast<int64_t>(size);
    return p;
}

void cuda_deallocate(int device, CUdeviceptr ptr, size_t bytes) noexcept {
    size_t size = cuda_size_class(bytes);
    Pools& all = pools();
    std::lock_guard lock(all.mutex);
    DevicePool& pool = all.by_device[device];
    try {
        pool.free[size].push_back(ptr);
    } catch (...) {
        return;  // out of host memory: the block leaks rather than the process failing
    }
    pool.stats.bytes_in_use -= static_cast<int64_t>(size);
    pool.stats.bytes_cached += static_cast<int64_t>(size);
}

void cuda_empty_cache(int device) {
    (void)cuda_device(device);
    // Blocks may still be in use by queued work: wait for it before handing them back.
    cuda_synchronize(device);
    Pools& all = pools();
    std::lock_guard lock(all.mutex);
    release_cached(device, all.by_device[device]);
}

CudaAllocatorStats cuda_allocator_stats(int device) {
    Pools& all = pools();
    std::lock_guard lock(all.mutex);
    auto it = all.by_device.find(device);
    return it == all.by_device.end() ? CudaAllocatorStats{} : it->second.stats;
}

}  // namespace kiln::runtime
