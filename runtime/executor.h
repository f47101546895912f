#pragma once
/// Runs a compiled program: kernel launches on the thread pool and extern calls, in order, with
/// temporaries released back to the caching allocator after their last use.
#include <memory>
#include <vector>

#include "ir/program.h"
#include "runtime/buffer.h"
#include "runtime/kernel_fn.h"

namespace kiln::runtime {

/// A program and its compiled kernels: kernels[i] runs the i-th KernelStep (in step order).
struct CompiledProgram {
    ir::Program program;
    std::vector<KernelFn> kernels;
};

struct ExecutorStats {
    int64_t kernels_launched = 0;  ///< KernelSteps run (a launch may use several threads)
    int64_t extern_calls = 0;      ///< MatmulSteps run
    int64_t programs_run = 0;
};

/// Runs `compiled` with inputs[i] bound to input placeholder i (dtype and numel must match) and
/// returns one buffer per program output (an output that is an input returns that input).
std::vector<std::shared_ptr<Buffer>> execute(const CompiledProgram& compiled,
                                             const std::vector<std::shared_ptr<Buffer>>& inputs);

/// Process-wide counters (monotonic).
ExecutorStats executor_stats();

}  // namespace kiln::runtime
