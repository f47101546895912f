#pragma once
/// Loop IR: what lowering produces and backends compile. A kernel is a nest of loops over an
/// outer index space; at each outer point it runs its stages in order. Scalar expressions are
/// ordinary IR nodes of shape [] built from elementwise ops, constants and the Loop-category ops
/// (var, load, stage), so they are hash-consed too.
///
/// Loop variables: var 0 .. outer.size()-1 are the outer loops (var 0 outermost). Inside a
/// stage, its own loops are var outer.size() .. outer.size()+loops.size()-1. Index expressions
/// are i64 element offsets into contiguous buffers.
///
/// Kernel ABI (every backend): `void kernel(void** buffers, const int64_t* sizes, int64_t begin,
/// int64_t end)` runs outer loop 0 over [begin, end) (over [0, 1) when `outer` is empty);
/// `buffers` follow `LoopKernel::buffers`; `sizes` is reserved for symbolic sizes (unused now).
#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/// A buffer a kernel reads or writes; always contiguous, `numel` elements of `dtype`.
struct KernelBuffer {
    DType dtype;
    int64_t numel = 0;
    bool output = false;
};

enum class StageKind { Reduce, Store };

/// One step of the kernel body at an outer point.
struct Stage {
    StageKind kind = StageKind::Store;
    /// Extents of this stage's own loops (empty: runs once at the outer point).
    Shape loops;
    /// Reduce: ReduceSum / ReduceMax / ReduceMin of `value` over `loops`; the result is read as
    /// `stage` node k (k = this stage's index) by later stages. Accumulates in value's dtype.
    Op reduce_op = Op::ReduceSum;
    /// Store: buffers[buffer][index] = value (value's dtype = the buffer's dtype).
    int64_t buffer = -1;
    NodeRef index;
    NodeRef value;
};

/// A compiled unit of work: one backend function.
struct LoopKernel {
    std::string name;
    std::vector<KernelBuffer> buffers;
    Shape outer;
    std::vector<Stage> stages;
    /// When > 0, the last two outer loops run in tile x tile blocks: a kernel that reads its
    /// input transposed then touches a cache-sized block of both buffers at a time.
    int64_t tile = 0;

    /// Extent of outer loop 0, the range split across threads (1 when `outer` is empty).
    int64_t parallel_extent() const { return outer.empty() ? 1 : outer[0]; }
};

/// Human-readable text of a loop kernel (also the kernel cache's key material).
std::string print_loop_kernel(const LoopKernel& kernel);

/// Scalar expression text, e.g. "add(load[0](var0), const(1.0):f32)".
std::string print_expr(const NodeRef& expr);

}  // namespace kiln::ir
