#pragma once
/// The CUDA backend's renderer: a loop kernel (ir/loop_kernel.h) as one CUDA C translation unit
/// that NVRTC compiles (codegen/cuda/nvrtc.h). The text needs no header, not even the toolkit's:
/// it uses only NVRTC's built-in declarations (math functions, warp shuffles, intrinsics).
///
/// Semantics are ir/ops.def's, as the CPU backend implements them: integer arithmetic wraps,
/// integer division by 0 gives 0, float->int casts saturate (NaN -> 0), max/min propagate NaN.
/// Transcendentals (exp, log, sin, cos, tanh, sigmoid, erf, pow) are Kiln's own algorithms, not
/// CUDA's functions: the CPU backend's, written out operation by operation with non-contracting
/// intrinsics (codegen/cuda/cuda_math.h), so they are bit-identical to the CPU's (NaN payloads
/// aside). Only sums are reassociated (per-thread partial sums, then a tree over the block).
///
/// ## Launch contract (what the runtime must do)
///
/// Signature, in this order (cuLaunchKernel's kernelParams point at each value):
///
///     extern "C" __global__ void NAME(T0* b0, ..., Tn* bn, const long long* sizes,
///                                     long long begin, long long end)
///
/// - `bK` is kernel buffer K (LoopKernel::buffers order): a device pointer to `numel` elements,
///   `const T*` for inputs, `T*` for outputs (which the kernel may also read back). f32 float,
///   f64 double, i32 int, i64 long long, bool one byte (unsigned char: 0 false, nonzero true;
///   the kernel writes 0 or 1). Every pointer is `__restrict__`: no two buffers may overlap.
/// - `sizes` is reserved for symbolic sizes (unused; pass nullptr), as in the CPU ABI.
/// - Outer loop 0 runs over [begin, end) clamped to [0, outer[0]) (over [0, 1) when `outer` is
///   empty), exactly as on the CPU; pass [0, outer[0]) to run everything at once.
/// - blockDim must be (CudaLaunch::block_threads, 1, 1): the source is compiled for that size
///   (`KILN_BLOCK`, `__launch_bounds__`). gridDim is (G, 1, 1) for any G >= 1 (grid reductions
///   aside, below): the kernel loops over its work with a grid stride, so G only trades parallelism
///   for launch size; launch_grid() gives a good G. Do not launch when launch_points() is 0.
/// - Dynamic shared memory: none (each block-reduction helper has 32 values of static shared
///   memory).
/// - Per-point kernels (block_per_point false: no stage loops over more than 32 iterations):
///   thread t of block b handles outer points b * block + t, then + G * block, ... of the
///   flattened range (row-major over the outer loops, outer loop 0 slowest), running every
///   stage there in order, its loops and reductions included, as the CPU does.
/// - Vector kernels (CudaLaunch::points_per_thread W > 1): per-point kernels over one outer loop
///   whose stages are all stores without loops, where every load and store index is exactly
///   the point (loop variable 0, perhaps cast) and every buffer has outer[0] elements (an
///   elementwise chain). When lo = max(begin, 0) is a multiple of W and every buffer is aligned
///   to W of its elements, thread t of block b handles the group of points lo + W * (b * block
///   + t), then + W * G * block, ..., with one vector load per buffer read (float4, int4,
///   double2, longlong2; narrower types take the same W lanes: uchar4 for bools, float2 for
///   floats when W = 2) and one vector store per stage; the last (hi - lo) % W points then run
///   as per-point kernels do, starting at point lo + W * floor((hi - lo) / W). Otherwise (an
///   unaligned lo or pointer) the whole range runs as a per-point kernel. W is 16 bytes over
///   the widest element (at least 4 bytes: 4 for f32/i32/bool, 2 for f64/i64); device
///   allocations are aligned, so the runtime's [0, outer[0]) always takes the vector path.
/// - Block kernels (block_per_point true: a stage loops over more than 32 iterations, as in a
///   softmax row or a long sum): block b handles outer points b, b + G, ...; at each point its
///   threads split every stage's loops (flattened, consecutive threads on consecutive
///   innermost iterations), reduce stages end in a block reduction whose result every thread
///   reads, a stage without loops runs on thread 0, and stages are separated by
///   __syncthreads() where one reads or writes a buffer an earlier stage wrote (or writes one
///   it read).
/// - Grid reductions (CudaLaunch::grid_blocks G > 0: a block kernel with exactly one outer point
///   whose first stage reduces (sum/max/min, not bool) over at least 65536 iterations and whose
///   other stages do not reduce, as in a full sum or mean): gridDim must be exactly (G, 1, 1),
///   G = `KILN_GRID` in the source (launch_grid() returns it whatever max_blocks says; another
///   grid traps). Thread t of block b reduces iterations b * block + t, then + G * block, ...;
///   thread 0 stores the block's result in the module's `__device__ T kiln_partial[KILN_GRID]`,
///   fences and counts itself in `__device__ unsigned kiln_arrived` (zero at module load). The
///   block that arrives last reduces kiln_partial in a fixed order (so results are the same bits
///   run to run), resets kiln_arrived to 0 and alone runs the other stages; the others return.
///   [begin, end) works as for other kernels (the one point is in it or not: when it is not,
///   no block touches the counter). That state is the module's, so two launches of one module
///   must not overlap: launch them on one stream (Kiln queues a device's work on one), and a
///   launch that fails midway leaves the module unusable (kiln_arrived not reset).
/// - Kernels assume that different outer points never touch each other's elements (what
///   lowering produces, and what the CPU backend's threads rely on too).
/// - LoopKernel::tile (the CPU's cache blocking of transposed copies) is ignored: such a copy
///   is coalesced on its store side only (a shared-memory tile would fix the loads).
#include <cstdint>
#include <string>

#include "ir/loop_kernel.h"

namespace kiln::codegen {

/// How the runtime must launch a rendered kernel (see the launch contract above).
struct CudaLaunch {
    /// true: one thread block per outer point (stages with long loops: rows of a softmax);
    /// false: one thread per outer point (elementwise kernels, short windows).
    bool block_per_point = false;
    /// blockDim.x, exactly: a power of two in [32, 256].
    int block_threads = 256;
    /// Extent of outer loop 0 (1 when `outer` is empty): the range [begin, end) is clamped to it.
    int64_t outer0 = 1;
    /// Outer points per iteration of loop 0: the product of the other outer extents.
    int64_t points_per_outer0 = 1;
    /// Outer points each thread handles at a time: W > 1 for vector kernels (W consecutive
    /// points through 16-byte loads and stores, see the contract), 1 otherwise. launch_grid()
    /// divides the points by it.
    int64_t points_per_thread = 1;
    /// Grid reductions (see the contract): the exact gridDim.x G the source was compiled for
    /// (`KILN_GRID`, at least 2), whose blocks split the one point's first reduce stage;
    /// 0 for every other kernel.
    int64_t grid_blocks = 0;
};

/// The launch shape of `kernel` (the same one render_cuda() compiles the source for).
CudaLaunch launch_shape(const ir::LoopKernel& kernel);

/// Outer points the kernel runs for the range [begin, end) of outer loop 0 (after clamping).
int64_t launch_points(const CudaLaunch& launch, int64_t begin, int64_t end);

/// A good gridDim.x for `points` outer points: one thread per points_per_thread points (or one
/// block per point), at most
/// `max_blocks` blocks (the grid-stride loop covers the rest); 0 when there is nothing to run.
/// Grid reductions get exactly launch.grid_blocks (when points > 0), whatever max_blocks is.
int64_t launch_grid(const CudaLaunch& launch, int64_t points, int64_t max_blocks = 1 << 20);

/// The kernel as a complete CUDA C translation unit defining `extern "C" __global__` function
/// `name` (a C identifier; the caller makes it unique, e.g. from the kernel cache's hash).
/// Throws kiln::InternalError for an invalid name or a malformed kernel (dtype mismatches, ops
/// that cannot appear in a loop kernel, unbound loop variables), like the CPU backend.
std::string render_cuda(const ir::LoopKernel& kernel, const std::string& name);

}  // namespace kiln::codegen
