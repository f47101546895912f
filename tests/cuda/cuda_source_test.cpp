// The CUDA renderer's text for small hand-built kernels (key lines, golden-ish), its launch
// shapes, and its errors. These need no NVRTC; where it is available the same kernels are also
// compiled.
#include <cmath>

#include "codegen/cuda/cuda_source.h"
#include "codegen/kernel_util.h"
#include "cuda/cuda_util.h"
#include "kiln/error.h"

namespace kiln::test {
namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// The source, compiled too where NVRTC is available.
std::string render(const ir::LoopKernel& k, const std::string& name) {
    std::string src = codegen::render_cuda(k, name);
    if (codegen::nvrtc_available()) {
        INFO(src);
        CHECK(has(codegen::compile_ptx(src, name), ".visible .entry " + name + "("));
    }
    return src;
}

/// out[i] = sum_j x[i, j] (rows x cols), as lowering makes it: reduce, then a store per row.
ir::LoopKernel row_sum(int64_t rows, int64_t cols, Op op = Op::ReduceSum, DType t = kFloat32) {
    ir::LoopKernel k;
    k.name = "row_sum";
    k.buffers = {{t, rows * cols, false}, {t, rows, true}};
    k.outer = {rows};
    k.stages.push_back(reduce(op, load(0, t, add(mul(var(0), idx(cols)), var(1))), {cols}));
    k.stages.push_back(store(1, var(0), stage(0, t)));
    return k;
}

}  // namespace

TEST_CASE("CUDA source: an elementwise kernel is vector loads and stores, then a scalar tail",
          "[cuda]") {
    NodeRef a = load(0, kFloat32, var(0)), b = load(1, kFloat32, var(0));
    auto k =
        elementwise("ew", {kFloat32, kFloat32}, kFloat32, 1003, add(mul(a, b), cst(1.5, kFloat32)));
    std::string src = render(k, "ew");
    INFO(src);
    CHECK(has(src, "#define KILN_BLOCK 256\n"));
    CHECK(has(src, "4 consecutive outer points per thread"));
    CHECK(has(src, "extern \"C\" __global__ void __launch_bounds__(KILN_BLOCK)\n"
                   "ew(const float* __restrict__ b0,\n"
                   "    const float* __restrict__ b1,\n"
                   "    float* __restrict__ b2,\n"
                   "    const long long* __restrict__ sizes, long long begin, long long end) {\n"));
    CHECK(has(src, "    const long long hi = end < 1003LL ? end : 1003LL;\n"));
    CHECK(has(src, "    const long long points = hi - lo;\n"));
    // Groups of 4 where lo and every pointer are aligned.
    CHECK(has(src, "    if (lo % 4LL == 0 &&\n"
                   "        (((unsigned long long)b0 | (unsigned long long)b1 | "
                   "(unsigned long long)b2) & 15ULL) == 0) {\n"
                   "        const long long groups = points / 4LL;\n"));
    CHECK(has(src, "            const long long v0 = lo + g * 4LL;\n"
                   "            const float4 x0 = *(const float4*)(b0 + v0);\n"
                   "            const float4 x1 = *(const float4*)(b1 + v0);\n"
                   "            const float t0 = x0.x;\n"
                   "            const float t1 = x1.x;\n"
                   "            const float t2 = t0 * t1;\n"
                   "            const float t3 = t2 + 1.5f;\n"));
    CHECK(has(src, "            const float t15 = t14 + 1.5f;\n"
                   "            const float4 x2 = {t3, t7, t11, t15};\n"
                   "            *(float4*)(b2 + v0) = x2;\n"
                   "        }\n"
                   "        done = groups * 4LL;\n"
                   "    }\n"));
    // The scalar loop: the last partial group (or everything when unaligned).
    CHECK(has(src,
              "    for (long long p = done + (long long)blockIdx.x * KILN_BLOCK + threadIdx.x; "
              "p < points;\n         p += (long long)gridDim.x * KILN_BLOCK) {\n"));
    CHECK(has(src, "        const long long v0 = lo + q;\n"
                   "        const float t16 = b0[v0];\n"
                   "        const float t17 = b1[v0];\n"
                   "        const float t18 = t16 * t17;\n"
                   "        const float t19 = t18 + 1.5f;\n"
                   "        b2[v0] = t19;\n"));
    CHECK(!has(src, "__syncthreads"));
    codegen::CudaLaunch l = codegen::launch_shape(k);
    CHECK(!l.block_per_point);
    CHECK(l.block_threads == 256);
    CHECK(l.points_per_thread == 4);
    CHECK(codegen::launch_points(l, 0, 1003) == 1003);
    CHECK(codegen::launch_grid(l, 1003) == 1);  // 250 groups and a tail of 3 in one block
    CHECK(codegen::launch_grid(l, 1024) == 1);
    CHECK(codegen::launch_grid(l, 1025) == 2);
    CHECK(codegen::launch_grid(l, 100000, 2) == 2);
    CHECK(codegen::launch_points(l, 500, 5000) == 503);
    CHECK(codegen::launch_grid(l, 0) == 0);
}

TEST_CASE("CUDA source: vector widths follow the widest element", "[cuda]") {
    SECTION("f64 is double2") {
        NodeRef a = load(0, kFloat64, var(0));
        auto k = elementwise("ew64", {kFloat64}, kFloat64, 7, un(Op::Exp, a));
        std::string src = render(k, "ew64");
        INFO(src);
        CHECK(codegen::launch_shape(k).points_per_thread == 2);
        CHECK(has(src, "const double2 x0 = *(const double2*)(b0 + v0);"));
        CHECK(has(src, "*(double2*)(b1 + v0) = x1;"));
        CHECK(has(src, "& 15ULL) == 0"));
        CHECK(has(src, "const long long groups = points / 2LL;"));
    }
    SECTION("f32 with bool: float4 and uchar4") {
        // b2 = 1 < where(m, x, 0) (bool), b3 = where(m, x, 0) * b2 + i: stores of both widths.
        NodeRef x = load(0, kFloat32, var(0)), m = load(1, kBool, var(0));
        NodeRef picked = where(m, x, cst(0, kFloat32));
        ir::LoopKernel k;
        k.name = "mixed";
        k.buffers = {
            {kFloat32, 10, false}, {kBool, 10, false}, {kBool, 10, true}, {kFloat32, 10, true}};
        k.outer = {10};
        k.stages.push_back(store(2, var(0), bin(Op::Lt, cst(1, kFloat32), picked)));
        // Stage 1 reads stage 0's output back (from the register) and casts the point to i32.
        NodeRef back = cast(load(2, kBool, cast(var(0), kInt32)), kFloat32);
        k.stages.push_back(
            store(3, cast(var(0), kInt32), add(mul(picked, back), cast(var(0), kFloat32))));
        std::string src = render(k, "mixed");
        INFO(src);
        CHECK(codegen::launch_shape(k).points_per_thread == 4);
        CHECK(has(src, "const float4 x0 = *(const float4*)(b0 + v0);"));
        CHECK(has(src, "const uchar4 x1 = *(const uchar4*)(b1 + v0);"));
        CHECK(has(src, "*(uchar4*)(b2 + v0) = x2;"));
        CHECK(has(src, "*(float4*)(b3 + v0) = x3;"));
        CHECK(has(src, "(x2.w != 0)"));  // stage 1 reads the stored register
        CHECK(has(src, "(v0 + 3LL)"));   // lane 3's point
        CHECK(has(src, "(((unsigned long long)b1 | (unsigned long long)b2) & 3ULL) == 0 &&\n"));
        CHECK(has(src, "(((unsigned long long)b0 | (unsigned long long)b3) & 15ULL) == 0) {"));
    }
    SECTION("f32 with i64: W = 2, float2 and longlong2") {
        NodeRef x = load(0, kFloat32, var(0)), i = load(1, kInt64, var(0));
        auto k = elementwise("fi", {kFloat32, kInt64}, kFloat32, 9, add(x, cast(i, kFloat32)));
        std::string src = render(k, "fi");
        INFO(src);
        CHECK(codegen::launch_shape(k).points_per_thread == 2);
        CHECK(has(src, "const float2 x0 = *(const float2*)(b0 + v0);"));
        CHECK(has(src, "const longlong2 x1 = *(const longlong2*)(b1 + v0);"));
        CHECK(has(src, "*(float2*)(b2 + v0) = x2;"));
    }
}

TEST_CASE("CUDA source: kernels not of the elementwise shape keep the scalar loop", "[cuda]") {
    auto scalar = [](const ir::LoopKernel& k, const char* name) {
        std::string src = render(k, name);
        INFO(src);
        CHECK(codegen::launch_shape(k).points_per_thread == 1);
        CHECK(!has(src, "float4"));
        CHECK(!has(src, "done"));
    };
    SECTION("broadcast input") {
        ir::LoopKernel k;  // out[i] = x[i] + y[0]
        k.name = "bcast";
        k.buffers = {{kFloat32, 64, false}, {kFloat32, 1, false}, {kFloat32, 64, true}};
        k.outer = {64};
        k.stages.push_back(
            store(2, var(0), add(load(0, kFloat32, var(0)), load(1, kFloat32, idx(0)))));
        scalar(k, "bcast");
    }
    SECTION("transposed read") {
        ir::LoopKernel k;  // out[i, j] = x[j, i] over [8, 8]
        k.name = "transpose";
        k.buffers = {{kFloat32, 64, false}, {kFloat32, 64, true}};
        k.outer = {8, 8};
        k.stages.push_back(store(1, add(mul(var(0), idx(8)), var(1)),
                                 load(0, kFloat32, add(mul(var(1), idx(8)), var(0)))));
        scalar(k, "transpose");
    }
    SECTION("reversed read over one loop") {
        ir::LoopKernel k;  // out[i] = x[63 - i]
        k.name = "reversed";
        k.buffers = {{kFloat32, 64, false}, {kFloat32, 64, true}};
        k.outer = {64};
        k.stages.push_back(store(1, var(0), load(0, kFloat32, sub(idx(63), var(0)))));
        scalar(k, "reversed");
    }
    SECTION("reduction") {
        scalar(row_sum(64, 8), "short_sum");   // per point, a serial reduce stage
        scalar(row_sum(64, 100), "long_sum");  // a block per point
    }
}

TEST_CASE("CUDA source: outer loops split the flat point number", "[cuda]") {
    ir::LoopKernel k;  // [4, 6, 10] outer: v0 = lo + q / 60, v1 = q / 10 % 6, v2 = q % 10
    k.name = "three";
    k.buffers = {{kFloat64, 240, false}, {kFloat64, 240, true}};
    k.outer = {4, 6, 10};
    NodeRef at = add(mul(add(mul(var(0), idx(6)), var(1)), idx(10)), var(2));
    k.stages.push_back(store(1, at, un(Op::Exp, load(0, kFloat64, at))));
    std::string src = render(k, "three");
    INFO(src);
    CHECK(has(src, "const long long points = (hi - lo) * 60LL;\n"));
    CHECK(has(src, "const long long v0 = lo + q / 60u;\n"
                   "        const long long v1 = q / 10u % 6u;\n"
                   "        const long long v2 = q % 10u;\n"));
    CHECK(has(src, "= kiln_exp_f64(t"));  // double precision, Kiln's exp (cuda_math.h)
    codegen::CudaLaunch l = codegen::launch_shape(k);
    CHECK(l.outer0 == 4);
    CHECK(l.points_per_outer0 == 60);
    CHECK(codegen::launch_points(l, 1, 3) == 120);
}

TEST_CASE("CUDA source: a row reduction is a block per row with a block reduction", "[cuda]") {
    ir::LoopKernel k = row_sum(8, 100);
    std::string src = render(k, "rows");
    INFO(src);
    codegen::CudaLaunch l = codegen::launch_shape(k);
    CHECK(l.block_per_point);
    CHECK(l.block_threads == 128);  // enough warps for 100 elements
    CHECK(codegen::launch_grid(l, 8) == 8);
    CHECK(has(src, "#define KILN_BLOCK 128\n"));
    CHECK(has(src, "static __device__ __forceinline__ float kiln_block_sum_f32(float v) {\n"
                   "    __shared__ float partial[32];\n"));
    CHECK(has(src, "        v = v + w;\n"));
    CHECK(has(src, "    for (long long p = blockIdx.x; p < points; p += gridDim.x) {\n"));
    CHECK(has(src, "        float a0 = 0.0f;\n"
                   "        for (unsigned i = threadIdx.x; i < 100u; i += KILN_BLOCK) {\n"
                   "            const long long v1 = i;\n"));
    CHECK(has(src, "            a0 = a0 + t2;\n"
                   "        }\n"
                   "        const float s0 = kiln_block_sum_f32(a0);\n"));
    CHECK(has(src, "        if (threadIdx.x == 0) {\n"
                   "            b1[v0] = s0;\n"
                   "        }\n"));
}

TEST_CASE("CUDA source: a full reduction of a long loop is a two-pass grid reduction", "[cuda]") {
    ir::LoopKernel k = row_sum(1, 1 << 20);  // one outer point, 2^20 iterations
    std::string src = render(k, "full");
    INFO(src);
    codegen::CudaLaunch l = codegen::launch_shape(k);
    CHECK(l.block_per_point);
    CHECK(l.block_threads == 256);
    CHECK(l.grid_blocks == 512);  // 2^20 / (256 threads * 8 iterations)
    CHECK(codegen::launch_grid(l, 1) == 512);
    CHECK(codegen::launch_grid(l, 1, 4) == 512);  // exactly KILN_GRID, whatever the cap
    CHECK(codegen::launch_grid(l, 0) == 0);
    CHECK(codegen::launch_points(l, 1, 2) == 0);
    CHECK(has(src, "#define KILN_GRID 512\n"));
    CHECK(has(src, "static __device__ float kiln_partial[KILN_GRID];\n"
                   "static __device__ unsigned int kiln_arrived;\n"));
    CHECK(has(src, "if (gridDim.x != KILN_GRID) __trap();"));
    CHECK(has(src, "for (unsigned i = blockIdx.x * KILN_BLOCK + threadIdx.x; i < 1048576u;\n"));
    CHECK(has(src, " i += KILN_GRID * KILN_BLOCK) {\n"));
    CHECK(has(src, "const float r0 = kiln_block_sum_f32(a0);\n"));
    CHECK(has(src, "kiln_partial[blockIdx.x] = r0;\n"));
    CHECK(has(src, "__threadfence();"));
    CHECK(has(src, "kiln_ticket = atomicAdd(&kiln_arrived, 1u);\n"));
    CHECK(has(src, "if (!__syncthreads_or(kiln_ticket == KILN_GRID - 1u)) return;\n"));
    CHECK(has(src, "for (unsigned j = threadIdx.x; j < KILN_GRID; j += KILN_BLOCK) {\n"));
    CHECK(has(src, "const float s0 = kiln_block_sum_f32(g0);\n"));
    CHECK(has(src, "if (threadIdx.x == 0) kiln_arrived = 0u;"));
    CHECK(has(src, "b1[v0] = s0;\n"));
    CHECK_FALSE(has(src, "p += gridDim.x"));

    // Max, f64 and i64 partials take the reduce type; the grid is at least 2 blocks.
    ir::LoopKernel m = row_sum(1, 65536, Op::ReduceMax, kFloat64);
    std::string msrc = render(m, "full_max");
    INFO(msrc);
    CHECK(codegen::launch_shape(m).grid_blocks == 32);
    CHECK(has(msrc, "static __device__ double kiln_partial[KILN_GRID];\n"));
    CHECK(has(msrc, "g0 = kiln_max_f64(g0, w0);"));
    ir::LoopKernel i = row_sum(1, 100000, Op::ReduceSum, kInt64);
    std::string isrc = render(i, "full_i64");
    CHECK(has(isrc, "static __device__ long long kiln_partial[KILN_GRID];\n"));

    // Short full sums, row-wise sums, and iterations below the threshold keep the block form.
    for (const ir::LoopKernel& keep : {row_sum(1, 1000), row_sum(4, 1 << 20), row_sum(1, 65535)}) {
        std::string ksrc = render(keep, "keep");
        INFO(ksrc);
        CHECK(codegen::launch_shape(keep).grid_blocks == 0);
        CHECK_FALSE(has(ksrc, "kiln_partial"));
        CHECK_FALSE(has(ksrc, "atomicAdd"));
        CHECK(has(ksrc, "for (long long p = blockIdx.x; p < points; p += gridDim.x) {\n"));
    }
    CHECK(codegen::launch_grid(codegen::launch_shape(row_sum(4, 1 << 20)), 4) == 4);
}

TEST_CASE("CUDA source: short reductions run in the point's thread", "[cuda]") {
    ir::LoopKernel k = row_sum(1000, 4, Op::ReduceMax);  // a pooling window, say
    std::string src = render(k, "window");
    INFO(src);
    codegen::CudaLaunch l = codegen::launch_shape(k);
    CHECK(!l.block_per_point);
    CHECK(l.block_threads == 256);
    CHECK(has(src, "        float a0 = __int_as_float((int)0xff800000u);\n"
                   "        for (long long v1 = 0; v1 < 4LL; ++v1) {\n"));
    CHECK(has(src, "            a0 = kiln_max_f32(a0, t2);\n"
                   "        }\n"
                   "        const float s0 = a0;\n"
                   "        b1[v0] = s0;\n"));
    CHECK(!has(src, "kiln_block_"));
    CHECK(!has(src, "__syncthreads"));
}

TEST_CASE("CUDA source: max and min propagate NaN / integers wrap / bool reduces by votes",
          "[cuda]") {
    std::string max = render(row_sum(4, 33, Op::ReduceMax), "rmax");
    CHECK(has(max, "return a != a || b != b ? a + b : fmaxf(a, b);"));
    CHECK(has(max, "float a0 = __int_as_float((int)0xff800000u);"));  // -inf
    CHECK(has(max, "a0 = kiln_max_f32(a0, t2);"));
    CHECK(has(max, "kiln_block_max_f32(a0)"));
    std::string imin = render(row_sum(4, 33, Op::ReduceMin, kInt64), "rmin");
    CHECK(has(imin, "long long a0 = 9223372036854775807LL;"));
    CHECK(has(imin, "a0 = t2 < a0 ? t2 : a0;"));
    std::string isum = render(row_sum(4, 33, Op::ReduceSum, kInt32), "isum");
    CHECK(has(isum, "a0 = (int)((unsigned)a0 + (unsigned)t2);"));
    std::string any = render(row_sum(4, 33, Op::ReduceMax, kBool), "any");
    CHECK(has(any, "const bool s0 = __syncthreads_or(a0) != 0;"));
    CHECK(has(any, "(b0[t1] != 0)"));
    CHECK(has(any, "b1[v0] = (unsigned char)s0;"));
}

TEST_CASE("CUDA source: integer ops follow ops.def where C would not", "[cuda]") {
    NodeRef a = load(0, kInt32, var(0)), b = load(1, kInt32, var(0));
    NodeRef value = add(bin(Op::Div, a, b), bin(Op::Mod, a, icst(4, kInt32)));
    value = add(value, cast(load(2, kFloat32, var(0)), kInt32));
    auto k = elementwise("ints", {kInt32, kInt32, kFloat32}, kInt32, 64, value);
    std::string src = render(k, "ints");
    INFO(src);
    CHECK(has(src, "return b == 0 ? 0 : b == -1 ? (int)((unsigned)0 - (unsigned)a) : a / b;"));
    CHECK(has(src, "= kiln_div_i32(t0, t1);"));
    CHECK(has(src, "= t0 % 4;"));  // a constant divisor is plain C
    CHECK(has(src, "= (int)((unsigned)t2 + (unsigned)t3);"));
    CHECK(has(src, "= __float2int_rz(t5);"));  // saturating, NaN -> 0
    CHECK(!has(src, "kiln_mod_i32"));
}

TEST_CASE("CUDA source: masked loads never touch memory outside the mask", "[cuda]") {
    // out[i] = i >= 2 ? x[i - 2] : 0 (a pad of 2 in front), n = 10
    NodeRef valid = bin(Op::Lt, idx(1), var(0));
    NodeRef v = load(0, kFloat32, sub(var(0), idx(2)), valid);
    ir::LoopKernel k;
    k.name = "pad";
    k.buffers = {{kFloat32, 8, false}, {kFloat32, 10, true}};
    k.outer = {10};
    k.stages.push_back(store(1, var(0), v));
    std::string src = render(k, "pad");
    INFO(src);
    CHECK(has(src, "const long long t0 = v0 - 2LL;\n"));  // index arithmetic is plain C
    CHECK(has(src, "const bool t1 = 1LL < v0;\n"));
    CHECK(has(src, "const float t2 = t1 ? b0[t0] : 0.0f;\n"));
}

TEST_CASE("CUDA source: stages that read other threads' stores are separated by a barrier",
          "[cuda]") {
    // Stage 0 stores a row; stage 1 sums it reversed (other threads' elements): barrier. Stage
    // 2 rewrites the row at the same index over the same loops as stage 0: no barrier needed
    // after the reduction (itself a barrier).
    const int64_t n = 64;
    NodeRef at = add(mul(var(0), idx(n)), var(1));
    NodeRef reversed = add(mul(var(0), idx(n)), sub(idx(n - 1), var(1)));
    ir::LoopKernel k;
    k.name = "barrier";
    k.buffers = {{kFloat32, 4 * n, false}, {kFloat32, 4 * n, true}};
    k.outer = {4};
    k.stages.push_back(store(1, at, un(Op::Exp, load(0, kFloat32, at)), {n}));
    k.stages.push_back(reduce(Op::ReduceSum, load(1, kFloat32, reversed), {n}));
    k.stages.push_back(store(1, at, bin(Op::Div, load(1, kFloat32, at), stage(1, kFloat32)), {n}));
    std::string src = render(k, "barrier");
    INFO(src);
    size_t first = src.find("__syncthreads();  // a later stage");
    CHECK(first != std::string::npos);
    CHECK(src.find("__syncthreads();  // a later stage", first + 1) == std::string::npos);
    CHECK(first < src.find("// stage 1: reduce_sum"));
    CHECK(first > src.find("// stage 0: store"));

    // The same row read back at the same index by the same thread needs no barrier.
    k.stages[1] = reduce(Op::ReduceSum, load(1, kFloat32, at), {n});
    CHECK(!has(render(k, "no_barrier"), "__syncthreads();  // a later stage"));
}

TEST_CASE("CUDA source: Philox is ir/philox.h's arithmetic", "[cuda]") {
    NodeRef seed = load(0, kInt64, idx(0));
    NodeRef counter = add(load(1, kInt64, idx(0)), var(0));
    NodeRef r = ir::Node::make(Op::Philox, kFloat32, {}, {seed, counter}, ir::RandomAttr{1});
    NodeRef r64 = ir::Node::make(Op::Philox, kFloat64, {}, {seed, counter}, ir::RandomAttr{2});
    auto k = elementwise("philox", {kInt64, kInt64}, kFloat64, 100, add(cast(r, kFloat64), r64));
    std::string src = render(k, "philox");
    INFO(src);
    CHECK(has(src, "k0 += 0x9e3779b9u;"));
    CHECK(has(src, "k1 += 0xbb67ae85u;"));
    CHECK(has(src, "__umulhi(0xd2511f53u, c[0])"));
    CHECK(has(src, "__umulhi(0xcd9e8d57u, c[2])"));
    CHECK(has(src, "return (float)(c[word] >> 8) * 0x1p-24f;"));
    CHECK(has(src, "return (double)(bits >> 11) * 0x1p-53;"));
    CHECK(has(src, "kiln_philox_f32(t0, t2, 1)"));
    CHECK(has(src, "kiln_philox_f64(t0, t2, 2)"));
    // The counter is a value: it wraps (unsigned arithmetic), unlike index arithmetic.
    CHECK(has(src, "const long long t2 = (long long)((unsigned long long)t1 + "
                   "(unsigned long long)v0);"));
}

TEST_CASE("CUDA source: literals are exact", "[cuda]") {
    NodeRef x = load(0, kFloat32, var(0));
    NodeRef v = add(add(x, cst(0.1, kFloat32)), cst(std::nan(""), kFloat32));
    v = bin(Op::Max, v, cst(-INFINITY, kFloat32));
    NodeRef i = add(cast(x, kInt32), icst(INT32_MIN, kInt32));
    NodeRef d = add(cast(x, kFloat64), cst(1e300, kFloat64));
    auto k = elementwise("lits", {kFloat32}, kFloat32, 16,
                         add(v, add(cast(i, kFloat32), cast(d, kFloat32))));
    std::string src = render(k, "lits");
    INFO(src);
    CHECK(has(src, "+ 0.1f;"));
    CHECK(has(src, "+ __int_as_float(0x7fc00000);"));
    CHECK(has(src, "__int_as_float((int)0xff800000u)"));
    CHECK(has(src, "(unsigned)(-2147483647 - 1)"));
    CHECK(has(src, "+ 1e+300;"));
}

TEST_CASE("CUDA source: malformed kernels and bad names are internal errors", "[cuda]") {
    auto k = elementwise("ok", {kFloat32}, kFloat32, 4, load(0, kFloat32, var(0)));
    CHECK_THROWS_AS(codegen::render_cuda(k, "1bad"), InternalError);
    CHECK_THROWS_AS(codegen::render_cuda(k, "bad-name"), InternalError);
    auto unbound = elementwise("unbound", {kFloat32}, kFloat32, 4, load(0, kFloat32, var(3)));
    CHECK_THROWS_WITH(codegen::render_cuda(unbound, "unbound"),
                      Catch::Contains("loop variable 3 is not bound here"));
    auto mismatch = elementwise("mismatch", {kFloat32}, kFloat64, 4, load(0, kFloat64, var(0)));
    CHECK_THROWS_WITH(codegen::render_cuda(mismatch, "mismatch"),
                      Catch::Contains("load of f64 from a f32 buffer"));
}

}  // namespace kiln::test
