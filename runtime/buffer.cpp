#include "runtime/buffer.h"

#include <atomic>
#include <cstdio>
#include <limits>
#include <new>
#include <string>

#include "kiln/error.h"
#include "runtime/cpu_allocator.h"
#include "runtime/cuda/driver.h"

namespace kiln::runtime {

namespace {

// Ids start at 1 and are never reused, so an id names one buffer for the whole process (graph
// placeholders use small ids of their own, with no data attached).
std::atomic<int64_t> g_next_id{1};
}  // namespace

std::shared_ptr<Buffer> Buffer::allocate(DType dtype, int64_t numel, Device device) {
    if (!device.is_cpu())
        throw Error(device.str() + " is not available: " + cuda_unavailable_reason(device.index));
    if (numel < 0)
        throw ValueError("Buffer::allocate: numel must be >= 0, got " + std::to_string(numel) +
                         " (" + dtype_name(dtype) + ")");
    size_t elem = dtype_size(dtype);
    if (static_cast<uint64_t>(numel) > std::numeric_limits<size_t>::max() / 2 / elem)
        throw ValueError("Buffer::allocate: " + std::to_string(numel) + " elements of " +
                         dtype_name(dtype) + " do not fit in memory");
    size_t bytes = static_cast<size_t>(numel) * elem;
    void* data = nullptr;
    try {
        data = CpuAllocator::global().allocate(bytes);
    } catch (const std::bad_alloc&) {
        AllocatorStats held = CpuAllocator::global().stats();
        throw OutOfMemoryError(
            "out of memory: cannot allocate " + format_bytes(static_cast<int64_t>(bytes)) +
            " for " + std::to_string(numel) + " " + dtype_name(dtype) +
            " elements; the CPU allocator holds " + format_bytes(held.bytes_in_use) +
            " in use and " + format_bytes(held.bytes_cached) + " cached");
    }
    Buffer* buffer = nullptr;
    try {
        buffer = new Buffer(data, dtype, numel, bytes, device);
    } catch (...) {
        CpuAllocator::global().deallocate(data, bytes);
        throw;
    }
    // The constructor is private, so no make_shared; if the control block cannot be allocated,
    // shared_ptr deletes the Buffer, which returns its memory.
    return std::shared_ptr<Buffer>(buffer);
}

std::string format_bytes(int64_t bytes) {
    static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 6) v /= 1024, ++u;
    if (u == 0) return std::to_string(bytes) + " bytes";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
    return std::string(buf) + " (" + std::to_string(bytes) + " bytes)";
}

Buffer::Buffer(void* data, DType dtype, int64_t numel, size_t bytes, Device device)
    : data_(data), dtype_(dtype), numel_(numel), bytes_(bytes), device_(device),
      id_(g_next_id.fetch_add(1, std::memory_order_relaxed)) {}

Buffer::~Buffer() { CpuAllocator::global().deallocate(data_, bytes_); }

}  // namespace kiln::runtime
