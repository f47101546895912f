#pragma once
/// Device memory holding one tensor's elements, contiguous and row-major.
#include <cstdint>
#include <memory>
#include <string>

#include "kiln/device.h"
#include "kiln/dtype.h"

namespace kiln::runtime {

/// Owns `numel` elements of `dtype` on `device`. Memory comes from the device's caching allocator
/// (CPU: 64-byte aligned; CUDA: 256-byte aligned, runtime/cuda/cuda_allocator.h) and goes back
/// to it when the Buffer dies. For a CUDA buffer data() is the device address (not
/// dereferenceable on the host). Not copyable; share it through std::shared_ptr.
class Buffer {
public:
    /// Allocates uninitialized memory. Throws kiln::Error for a device that is unavailable and
    /// kiln::OutOfMemoryError (bytes asked for, bytes the allocator holds) when memory ran out.
    static std::shared_ptr<Buffer> allocate(DType dtype, int64_t numel, Device device = Device());
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    void* data() const { return data_; }
    DType dtype() const { return dtype_; }
    int64_t numel() const { return numel_; }
    size_t bytes() const { return bytes_; }
    Device device() const { return device_; }
    /// A process-unique id (never reused), used as the IR input id.
    int64_t id() const { return id_; }

private:
    static std::shared_ptr<Buffer> allocate_cuda(DType dtype, int64_t numel, size_t bytes,
                                                 Device device);
    Buffer(void* data, DType dtype, int64_t numel, size_t bytes, Device device);
    void* data_;
    DType dtype_;
    int64_t numel_;
    size_t bytes_;
    Device device_;
    int64_t id_;
};

/// Copies src's elements into dst (same dtype and numel; any pair of devices). Work involving a
/// device is queued on its stream and returns at once, except a copy to the CPU, which waits
/// for the data (and so for everything queued before it).
void copy_buffer(Buffer& dst, const Buffer& src);

/// Sets every byte of `buffer` to 0 (queued on the device's stream for a CUDA buffer).
void zero_buffer(Buffer& buffer);

/// A new buffer on `device` holding src's elements (copy_buffer's rules).
std::shared_ptr<Buffer> copy_to_device(const Buffer& src, Device device);

/// "4.00 TiB (4398046511104 bytes)", or "512 bytes", for messages.
std::string format_bytes(int64_t bytes);

}  // namespace kiln::runtime
