#pragma once
/// The CUDA half of the executor (runtime/executor.h): queues a program's steps on the device's
/// stream. Called by execute() once the inputs are on the device.
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/executor.h"

namespace kiln::runtime {

struct CudaStepCounts {
    int64_t kernels = 0;  ///< loop kernels launched
    int64_t externs = 0;  ///< matmul, index and conv steps queued
};

/// Queues every step of `compiled` (a CUDA program) on its device's stream, with `bufs` holding
/// the inputs' device buffers (by program buffer); allocates and releases the other buffers as
/// `plan` says (released memory is reused by later steps, which the stream orders after the
/// ones that used it). Returns without waiting for the device.
CudaStepCounts run_cuda_steps(const CompiledProgram& compiled, const ExecutionPlan& plan,
                              std::vector<std::shared_ptr<Buffer>>& bufs);

}  // namespace kiln::runtime
