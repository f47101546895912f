#pragma once
/// Runs a compiled program: kernel launches on the thread pool and extern calls, in order, with
/// temporaries released back to the caching allocator after their last use.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/program.h"
#include "runtime/buffer.h"
#include "runtime/cuda/driver.h"
#include "runtime/kernel_fn.h"

namespace kiln::runtime {

/// What the executor derives from a program once (see plan_execution): when each buffer is
/// allocated and released, and how each kernel is split across threads.
struct ExecutionPlan {
    /// Program buffers (not inputs) first used by step s: allocated just before it runs.
    std::vector<std::vector<int64_t>> allocate_before;
    /// Temp buffers last used by step s: returned to the allocator right after it.
    std::vector<std::vector<int64_t>> release_after;
    /// Output buffers no step writes (allocated, uninitialized, at the end).
    std::vector<int64_t> unwritten_outputs;
    /// Per step: the smallest range of outer loop 0 worth a thread (0 for extern steps).
    std::vector<int64_t> min_chunk;
    /// Program buffer bound to each input placeholder.
    std::vector<int64_t> input_buffer;
    /// Set by plan_execution().
    bool ready = false;
    /// True when this plan was made for a program of this size (a cheap sanity check).
    bool matches(const ir::Program& program) const {
        return ready && min_chunk.size() == program.steps.size() &&
               input_buffer.size() == static_cast<size_t>(program.num_inputs);
    }
};

/// A CUDA function and how to launch it: gridDim (grid, 1, 1), blockDim (block, 1, 1). Loop
/// kernels take codegen/cuda/cuda_source.h's parameters, gather/scatter_add and conv steps
/// runtime/cuda/extern_kernels.h's. grid 0: nothing to run.
struct CudaLaunchFn {
    CUfunction function = nullptr;
    unsigned grid = 0;
    unsigned block = 0;
};

/// A program compiled for one device. On the CPU, kernels[i] runs the i-th KernelStep (in step
/// order). On a CUDA device, cuda_steps[s] launches step s (kernel, index and conv steps;
/// matmul steps go to cuBLAS and have an empty entry) and `kernels` is empty.
struct CompiledProgram {
    ir::Program program;
    Device device;
    std::vector<KernelFn> kernels;
    std::vector<CudaLaunchFn> cuda_steps;
    /// Filled by plan_execution(); when it does not match the program, execute() makes a plan
    /// for that run only.
    ExecutionPlan plan;
};

/// Validates `compiled` (buffer indices, kernel/program buffer agreement, one KernelFn per
/// KernelStep; violations are KILN_CHECK failures) and stores its plan in compiled.plan. Call it
/// once after compiling so that execute() does not re-derive the plan on every run.
void plan_execution(CompiledProgram& compiled);

/// Elements a thread should process per chunk of a kernel before splitting is worth it.
inline constexpr int64_t kMinElementsPerChunk = 16384;

struct ExecutorStats {
    int64_t kernels_launched = 0;  ///< KernelSteps run (a launch may use several threads)
    int64_t extern_calls = 0;      ///< extern steps run (matmul, gather/scatter_add, conv)
    int64_t programs_run = 0;
};

/// Runs `compiled` with inputs[i] bound to input placeholder i (dtype and numel must match) and
/// returns one buffer per program output (an output that is an input returns that input), on
/// the program's device. An input on another device is copied there first (that is how tensors
/// move between devices). CPU kernels run on ThreadPool::global(); an exception from a kernel
/// propagates and the run's buffers are released. CUDA programs are queued on the device's
/// stream and execute() returns before they finish (reads synchronize). Several threads may
/// run programs at the same time.
std::vector<std::shared_ptr<Buffer>> execute(const CompiledProgram& compiled,
                                             const std::vector<std::shared_ptr<Buffer>>& inputs);

/// Process-wide counters (monotonic).
ExecutorStats executor_stats();

/// A step as the profiler, KILN_DEBUG=4 and KILN_DUMP name it: "kernel NAME",
/// "matmul 64x784x512 f32" ([batch] m x k x n, "^T" on a transposed operand),
/// "conv 256x1x28x28 * 16x1x3x3 f32" (x * w; "conv grad_input", "conv grad_weight"),
/// "gather 8x1000x1 [16] f32" / "scatter_add ..." (the dense tensor as outer x size x inner,
/// and the index count).
std::string step_label(const ir::Step& step);

/// Bytes a step reads and writes (every buffer it binds, once each).
int64_t step_bytes(const ir::Program& program, const ir::Step& step);

}  // namespace kiln::runtime
