#pragma once
/// cuBLAS, loaded with dlopen on the first CUDA matmul (never linked). Looked for, in order:
/// $KILN_CUBLAS_LIBRARY when set, libcublas.so.13, libcublas.so.12, libcublas.so (the loader's
/// search path), then /usr/local/cuda/lib64/libcublas.so.13 and .../libcublas.so.
#include <atomic>
#include <cstdint>

#include "ir/program.h"
#include "runtime/cuda/driver.h"

namespace kiln::runtime {

/// Queues `mm` (row-major [batch] (m x k) @ (k x n), operands transposed as its flags say) on
/// device `device`'s stream through cuBLAS's strided-batched gemm. f32 and f64. Throws
/// kiln::Error when cuBLAS cannot be loaded (saying where it looked) or a call fails.
void cuda_gemm(int device, const ir::MatmulStep& mm, CUdeviceptr a, CUdeviceptr b,
               CUdeviceptr out);

/// Whether f32 matmuls may use TF32 tensor cores (kiln::cuda::allow_tf32); off by default.
std::atomic<bool>& cuda_tf32_allowed();

}  // namespace kiln::runtime
