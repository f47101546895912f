#include "runtime/buffer.h"

#include <atomic>
#include <limits>
#include <string>

#include "kiln/error.h"
#include "runtime/cpu_allocator.h"

namespace kiln::runtime {

namespace {
// Ids start at 1 and are never reused, so an id names one buffer for the whole process (graph
// placeholders use small ids of their own, with no data attached).
std::atomic<int64_t> g_next_id{1};
}  // namespace

std::shared_ptr<Buffer> Buffer::allocate(DType dtype, int64_t numel, Device device) {
    if (!device.is_cpu())
        throw Error(device.str() + " is not available: this build has no CUDA backend yet");
    if (numel < 0)
        throw ValueError("Buffer::allocate: numel must be >= 0, got " + std::to_string(numel) +
                         " (" + dtype_name(dtype) + ")");
    size_t elem = dtype_size(dtype);
    if (static_cast<uint64_t>(numel) > std::numeric_limits<size_t>::max() / 2 / elem)
        throw ValueError("Buffer::allocate: " + std::to_string(numel) + " elements of " +
                         dtype_name(dtype) + " do not fit in memory");
    size_t bytes = static_cast<size_t>(numel) * elem;
    void* data = CpuAllocator::global().allocate(bytes);
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

Buffer::Buffer(void* data, DType dtype, int64_t numel, size_t bytes, Device device)
    : data_(data), dtype_(dtype), numel_(numel), bytes_(bytes), device_(device),
      id_(g_next_id.fetch_add(1, std::memory_order_relaxed)) {}

Buffer::~Buffer() { CpuAllocator::global().deallocate(data_, bytes_); }

}  // namespace kiln::runtime
