#pragma once
/// Device memory holding one tensor's elements, contiguous and row-major.
#include <cstdint>
#include <memory>
#include <string>

#include "kiln/device.h"
#include "kiln/dtype.h"

namespace kiln::runtime {

/// Owns `numel` elements of `dtype` on `device`. CPU memory comes from the caching allocator
/// (64-byte aligned) and goes back to it when the Buffer dies. Not copyable; share it through
/// std::shared_ptr.
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
    Buffer(void* data, DType dtype, int64_t numel, size_t bytes, Device device);
    void* data_;
    DType dtype_;
    int64_t numel_;
    size_t bytes_;
    Device device_;
    int64_t id_;
};

/// "4.00 TiB (4398046511104 bytes)", or "512 bytes", for messages.
std::string format_bytes(int64_t bytes);

}  // namespace kiln::runtime
