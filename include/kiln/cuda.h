#pragma once
/// NVIDIA GPUs (LibTorch's torch::cuda namespace). The CUDA driver, NVRTC and cuBLAS are loaded
/// at run time, so one build of Kiln runs on machines with and without a GPU; without a driver
/// or a device these functions say so instead of failing, and asking for kCUDA is a kiln::Error
/// that gives the reason.
///
/// Tensors move with `t.to(kiln::kCUDA)` / `t.to(kiln::kCPU)` or are made there with
/// `TensorOptions().device(kiln::kCUDA)`. Work on a device is queued on that device's stream and
/// runs asynchronously: only reads (`item`, `to_vector`, a copy to the CPU) and synchronize()
/// wait for it.
#include <cstdint>
#include <string>

namespace kiln::cuda {

/// True when the CUDA driver loads, initializes and finds at least one device.
bool is_available();
/// The number of CUDA devices; 0 without a usable driver.
int device_count();
/// Why CUDA is unavailable ("no CUDA driver (...)", "no CUDA device ..."); "" when available.
std::string unavailable_reason();

/// Waits until all work queued on device `index`'s stream has finished
/// (torch.cuda.synchronize()). Throws kiln::Error when the device is unavailable, or with the
/// driver's error when queued work failed.
void synchronize(int index = 0);

/// The device's name as the driver reports it, e.g. "NVIDIA H200".
std::string device_name(int index = 0);

/// Whether float32 matmuls may use TF32 tensor cores (faster, ~10 bits of mantissa).
/// Off by default, like torch.backends.cuda.matmul.allow_tf32: results match the CPU's to float32
/// rounding. Applies to programs run after the call.
void allow_tf32(bool allow);
bool tf32_allowed();

/// The caching device allocator of device `index` (torch.cuda.memory_stats): memory handed to
/// tensors, memory kept for reuse, and how often the driver was asked (a training loop in its
/// steady state makes no driver allocations).
struct MemoryStats {
    int64_t bytes_in_use = 0;
    int64_t bytes_cached = 0;  ///< freed by tensors, kept for reuse
    int64_t driver_allocations = 0;
    int64_t driver_frees = 0;
};
MemoryStats memory_stats(int index = 0);
/// Returns cached, unused device memory to the driver (torch.cuda.empty_cache()).
void empty_cache(int index = 0);

/// What the CUDA kernel compiler did so far in this process.
struct CompileStats {
    int64_t kernels_compiled = 0;  ///< compiled by NVRTC
    int64_t memory_hits = 0;       ///< found already loaded in this process
    int64_t disk_hits = 0;         ///< CUBIN/PTX loaded from the disk cache (no NVRTC)
    double compile_ms = 0;         ///< time spent compiling and loading on misses
};
CompileStats compile_stats();

}  // namespace kiln::cuda
