#pragma once
/// The CUDA backend: loop kernels (and the extern steps' CUDA C, runtime/cuda/extern_kernels.h)
/// -> CUDA C -> NVRTC -> CUBIN for the device's architecture -> a loaded module. CUBINs are
/// cached on disk under the CPU cache's rules (runtime/disk_cache.h), keyed by the source, the
/// architecture and the NVRTC version; loaded functions are cached per device in memory.
#include <memory>
#include <mutex>

#include "ir/loop_kernel.h"
#include "kiln/cuda.h"
#include "runtime/cuda/extern_kernels.h"
#include "runtime/executor.h"

namespace kiln::codegen {

/// Thread-safe; the process-wide instance lives until exit (modules stay loaded).
class CudaCompiler {
public:
    static CudaCompiler& global();

    /// `kernel` compiled and loaded on cuda:`device`, with its launch (launch_shape /
    /// launch_grid over the whole of outer loop 0). A kernel with nothing to run gets grid 0 and
    /// no function. Throws kiln::Error when the device or NVRTC is unavailable, and
    /// kiln::InternalError with NVRTC's log and the source when the source does not compile.
    runtime::CudaLaunchFn compile(const ir::LoopKernel& kernel, int device);
    /// The same for an extern step's source.
    runtime::CudaLaunchFn compile(const runtime::CudaExternSource& source, int device);

    cuda::CompileStats stats() const;

    CudaCompiler();
    ~CudaCompiler();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::codegen
