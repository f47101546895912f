#include "runtime/buffer.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "kiln/error.h"
#include "runtime/cpu_allocator.h"
#include "runtime/cuda/cuda_allocator.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/driver.h"

namespace kiln::runtime {

namespace {

// Ids start at 1 and are never reused, so an id names one buffer for the whole process (graph
// placeholders use small ids of their own, with no data attached).
std::atomic<int64_t> g_next_id{1};
}  // namespace

std::shared_ptr<Buffer> Buffer::allocate_cuda(DType dtype, int64_t numel, size_t bytes,
                                             Device device) {
    std::string why = cuda_unavailable_reason(device.index);
    if (!why.empty()) throw Error(device.str() + " is not available: " + why);
    CUdeviceptr p = cuda_allocate(device.index, bytes);
    Buffer* buffer = nullptr;
    try {
        buffer = new Buffer(reinterpret_cast<void*>(p), dtype, numel, bytes, device);
    } catch (...) {
        cuda_deallocate(device.index, p, bytes);
        throw;
    }
    return std::shared_ptr<Buffer>(buffer);
}

std::shared_ptr<Buffer> Buffer::allocate(DType dtype, int64_t numel, Device device) {
    if (numel < 0)
        throw ValueError("Buffer::allocate: numel must be >= 0, got " + std::to_string(numel) +
                         " (" + dtype_name(dtype) + ")");
    size_t elem = dtype_size(dtype);
    if (static_cast<uint64_t>(numel) > std::numeric_limits<size_t>::max() / 2 / elem)
        throw ValueError("Buffer::allocate: " + std::to_string(numel) + " elements of " +
                         dtype_name(dtype) + " do not fit in memory");
    size_t bytes = static_cast<size_t>(numel) * elem;
    if (device.is_cuda()) return allocate_cuda(dtype, numel, bytes, device);
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

Buffer::~Buffer() {
    if (device_.is_cuda())
        cuda_deallocate(device_.index, reinterpret_cast<CUdeviceptr>(data_), bytes_);
    else
        CpuAllocator::global().deallocate(data_, bytes_);
}

void copy_buffer(Buffer& dst, const Buffer& src) {
    KILN_CHECK(dst.dtype() == src.dtype() && dst.numel() == src.numel(),
               "copy_buffer: " + std::to_string(src.numel()) + " " + dtype_name(src.dtype()) +
                   " into " + std::to_string(dst.numel()) + " " + dtype_name(dst.dtype()));
    size_t bytes = src.bytes();
    if (bytes == 0) return;
    auto device_ptr = [](const Buffer& b) { return reinterpret_cast<CUdeviceptr>(b.data()); };
    std::string what = "a copy of " + format_bytes(static_cast<int64_t>(bytes)) + " from " +
                       src.device().str() + " to " + dst.device().str();
    if (src.device().is_cpu() && dst.device().is_cpu()) {
        std::memcpy(dst.data(), src.data(), bytes);
    } else if (src.device().is_cpu()) {
        // From pageable memory the driver stages the data before returning, so the host buffer
        // may be reused as soon as this returns.
        CUstream stream = cuda_device(dst.device().index).stream;
        check_cuda(cuda_api().MemcpyHtoDAsync(device_ptr(dst), src.data(), bytes, stream), what);
    } else if (dst.device().is_cpu()) {
        CUstream stream = cuda_device(src.device().index).stream;
        check_cuda(cuda_api().MemcpyDtoHAsync(dst.data(), device_ptr(src), bytes, stream), what);
        cuda_synchronize(src.device().index);
    } else {
        KILN_CHECK(src.device() == dst.device(),
                   "copy_buffer between two GPUs is not supported (" + what + ")");
        CUstream stream = cuda_device(src.device().index).stream;
        check_cuda(cuda_api().MemcpyDtoDAsync(device_ptr(dst), device_ptr(src), bytes, stream),
                   what);
    }
}

void zero_buffer(Buffer& buffer) {
    if (buffer.bytes() == 0) return;
    if (buffer.device().is_cpu()) {
        std::memset(buffer.data(), 0, buffer.bytes());
        return;
    }
    CUstream stream = cuda_device(buffer.device().index).stream;
    check_cuda(cuda_api().MemsetD8Async(reinterpret_cast<CUdeviceptr>(buffer.data()), 0,
                                        buffer.bytes(), stream),
               "clearing " + format_bytes(static_cast<int64_t>(buffer.bytes())) + " on " +
                   buffer.device().str());
}

std::shared_ptr<Buffer> copy_to_device(const Buffer& src, Device device) {
    std::shared_ptr<Buffer> dst = Buffer::allocate(src.dtype(), src.numel(), device);
    copy_buffer(*dst, src);
    return dst;
}

}  // namespace kiln::runtime
