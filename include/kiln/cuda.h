#pragma once
/// Whether this process can use NVIDIA GPUs (LibTorch's torch::cuda::is_available() and
/// device_count()). The CUDA driver is loaded at run time, so one build of Kiln runs on machines
/// with and without one; without a driver or a device these say so instead of failing.
namespace kiln::cuda {

/// True when the CUDA driver loads, initializes and finds at least one device.
bool is_available();
/// The number of CUDA devices; 0 without a usable driver.
int device_count();

}  // namespace kiln::cuda
