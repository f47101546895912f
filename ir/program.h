#pragma once
/// A scheduled graph: the buffers and ordered steps that compute a set of roots. Produced by
/// passes/lower from a canonical graph (inputs are placeholders 0..n-1), compiled by a backend,
/// run by the runtime executor.
#include <functional>
#include <variant>
#include <vector>

#include "ir/conv.h"
#include "ir/loop_kernel.h"

namespace kiln::ir {

enum class BufferKind { Input, Output, Temp };

/// A buffer of the program. Inputs are bound per run (placeholder `index`); outputs are
/// allocated per run and handed to the caller (root `index`); temps live only during a run.
struct ProgramBuffer {
    DType dtype;
    Shape shape;
    BufferKind kind = BufferKind::Temp;
    int64_t index = 0;
};

/// Run a loop kernel; `buffers[i]` is the program buffer bound to kernel buffer i.
struct KernelStep {
    LoopKernel kernel;
    std::vector<int64_t> buffers;
};

/// out[b] = a[b] @ b[b] for contiguous row-major a [batch,m,k], b [batch,k,n], out [batch,m,n];
/// with trans_a the buffer holds a as [batch,k,m] (a transposed view read in place by BLAS),
/// with trans_b b as [batch,n,k].
struct MatmulStep {
    int64_t a = 0, b = 0, out = 0;
    int64_t batch = 1, m = 0, k = 0, n = 0;
    DType dtype = DType::Float32;
    bool trans_a = false, trans_b = false;
};

/// A gather or scatter_add (see ops.def) on contiguous buffers: `dense` is the tensor indexed
/// along the axis ([outer, size, inner]), `rows` the index's count per outer position; `rows`
/// buffer holds [outer, rows, inner] elements (gather's result / scatter_add's source).
struct IndexStep {
    bool scatter = false;
    int64_t dense = 0, index = 0, rows = 0;  ///< program buffers
    AxisSplit split;                         ///< of the dense tensor
    int64_t count = 0;                       ///< index entries per outer position
    DType dtype = DType::Float32;
    int64_t site = 0;  ///< the user call that bad indices are reported for (IndexAttr::site)
};

/// Which buffer a convolution step writes: y from x and w (conv2d), x from y and w
/// (conv2d_grad_input, y holding dy), or w from x and y (conv2d_grad_weight).
enum class ConvPass { Forward, InputGrad, WeightGrad };

/// A convolution on contiguous buffers x [n, c, h, w], w [o, c/groups, kh, kw], y [n, o, ho, wo].
struct ConvStep {
    ConvPass pass = ConvPass::Forward;
    int64_t x = 0, w = 0, y = 0;  ///< program buffers
    ConvGeometry geometry;
    DType dtype = DType::Float32;
};

using Step = std::variant<KernelStep, MatmulStep, IndexStep, ConvStep>;

/// The program buffers a step reads and writes (a merged kernel may read what it writes).
struct StepBuffers {
    std::vector<int64_t> reads, writes;
};
StepBuffers step_buffers(const Step& step);

/// Calls `f` on every program-buffer number `step` holds, so that it can be renumbered.
void for_each_buffer(Step& step, const std::function<void(int64_t&)>& f);

struct Program {
    std::vector<ProgramBuffer> buffers;
    std::vector<Step> steps;
    /// Program buffer holding each root, in the order the roots were given. A root that is an
    /// input placeholder maps to that input buffer (no copy).
    std::vector<int64_t> outputs;
    int64_t num_inputs = 0;
};

}  // namespace kiln::ir
