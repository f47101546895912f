#pragma once
/// CUDA C for the program steps that are not loop kernels on the GPU: gather / scatter_add
/// (ir::IndexStep) and the three convolution passes (ir::ConvStep). Matmuls go to cuBLAS
/// (runtime/cuda/cublas.h). The geometry is compiled into the source (one kernel per shape,
/// cached like loop kernels), so the parameters are only pointers.
///
/// Launch: blockDim (kCudaExternBlock, 1, 1), gridDim (grid, 1, 1); every kernel loops over
/// its `threads` work items with a grid stride. Parameters, in order:
/// - gather / scatter_add: `T* dense, const long long* index, T* rows, long long* error`
///   (scatter_add expects `dense` zeroed first: the executor clears it on the stream).
///   `error` is the device's error record (runtime/cuda/device_errors.h): an index outside
///   [0, size) is recorded there (its value, the bound and the call site) and reads row 0
///   (gather; zeros when size is 0) or adds nothing (scatter_add), as on the CPU.
/// - conv: `const T* x, const T* w, const T* y` with the pass's output not const: forward
///   writes y, grad_input x, grad_weight w (all of it).
#include <cstdint>
#include <string>

#include "ir/program.h"

namespace kiln::runtime {

inline constexpr int kCudaExternBlock = 256;

struct CudaExternSource {
    std::string name;    ///< the entry point (unique per geometry and dtype)
    std::string source;  ///< a complete translation unit for NVRTC
    int64_t threads = 0; ///< work items (0: nothing to launch)
};

CudaExternSource index_step_source(const ir::IndexStep& step);
CudaExternSource conv_step_source(const ir::ConvStep& step);

/// A good gridDim.x for `threads` work items of kCudaExternBlock threads each.
unsigned extern_grid(int64_t threads);

}  // namespace kiln::runtime
