// One thread per output element, with the geometry as compile-time constants: simple, and fast
// enough for the sizes Kiln's examples use. (Convolutions as implicit GEMMs would be the next
// step; matmuls already use cuBLAS.)
#include "runtime/cuda/extern_kernels.h"

#include <algorithm>

#include <fmt/format.h>

#include "kiln/error.h"

namespace kiln::runtime {
namespace {

const char* c_type(DType t) {
    switch (t) {
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    case DType::Int32: return "int";
    case DType::Int64: return "long long";
    case DType::Bool: return "unsigned char";
    }
    return "void";
}

// atomicAdd has no signed 64-bit overload; two's complement addition is the same on the
// unsigned type.
std::string atomic_add(DType t) {
    if (t == DType::Int64)
        return "atomicAdd(reinterpret_cast<unsigned long long*>(slot), "
               "static_cast<unsigned long long>(v))";
    return "atomicAdd(slot, v)";
}

const std::string kGridLoop =
    "    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < THREADS;\n"
    "         e += (long long)gridDim.x * blockDim.x) {\n";

}  // namespace

unsigned extern_grid(int64_t threads) {
    int64_t blocks = (threads + kCudaExternBlock - 1) / kCudaExternBlock;
    return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, int64_t{1} << 20));
}

CudaExternSource index_step_source(const ir::IndexStep& st) {
    CudaExternSource s;
    const int64_t outer = st.split.outer, size = st.split.size, inner = st.split.inner;
    s.threads = outer * st.count * inner;
    s.name = fmt::format("kiln_{}_{}_{}x{}x{}_{}", st.scatter ? "scatter_add" : "gather",
                         dtype_name(st.dtype), outer, size, inner, st.count);
    KILN_CHECK(!st.scatter || st.dtype != DType::Bool, "scatter_add on bool");
    std::string body;
    if (st.scatter) {
        body = fmt::format(
            "        if (j < 0 || j >= SIZE) {{ kiln_index_error(error, j); continue; }}\n"
            "        T* slot = dense + (a * SIZE + j) * INNER + i;\n"
            "        const T v = rows[e];\n"
            "        {};\n",
            atomic_add(st.dtype));
    } else {
        body =
            "        if (j < 0 || j >= SIZE) {\n"
            "            kiln_index_error(error, j);\n"
            "            rows[e] = SIZE > 0 ? dense[a * SIZE * INNER + i] : T(0);\n"
            "            continue;\n"
            "        }\n"
            "        rows[e] = dense[(a * SIZE + j) * INNER + i];\n";
    }
    s.source = fmt::format(
        "typedef {0} T;\n"
        "#define SIZE {1}LL\n#define INNER {2}LL\n#define COUNT {3}LL\n#define THREADS {4}LL\n"
        "// The first bad index of the run: [0] set once (0 -> 1), then value, bound, site.\n"
        "__device__ void kiln_index_error(long long* error, long long j) {{\n"
        "    if (atomicCAS(reinterpret_cast<unsigned long long*>(error), 0ULL, 1ULL) == 0ULL) {{\n"
        "        error[1] = j; error[2] = SIZE; error[3] = {5}LL;\n"
        "    }}\n"
        "}}\n"
        "extern \"C\" __global__ void __launch_bounds__({6}) {7}(T* __restrict__ dense,\n"
        "        const long long* __restrict__ index, T* __restrict__ rows, long long* error) {{\n",
        c_type(st.dtype), size, inner, st.count, s.threads, st.site, kCudaExternBlock, s.name);
    s.source += kGridLoop +
                "        const long long i = e % INNER, ak = e / INNER;\n"
                "        const long long a = ak / COUNT;\n"
                "        const long long j = index[ak];\n" +
                body + "    }\n}\n";
    return s;
}

CudaExternSource conv_step_source(const ir::ConvStep& st) {
    const ir::ConvGeometry& g = st.geometry;
    CudaExternSource s;
    const char* pass = st.pass == ir::ConvPass::Forward     ? "conv"
                       : st.pass == ir::ConvPass::InputGrad ? "conv_grad_input"
                                                            : "conv_grad_weight";
    s.name = fmt::format("kiln_{}_{}_{}x{}x{}x{}_{}x{}x{}_s{}x{}_p{}x{}_d{}x{}_g{}", pass,
                         dtype_name(st.dtype), g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.sh, g.sw,
                         g.ph, g.pw, g.dh, g.dw, g.groups);
    std::string defines = fmt::format(
        "typedef {} T;\n"
        "#define N {}LL\n#define C {}LL\n#define H {}LL\n#define W {}LL\n#define O {}LL\n"
        "#define KH {}LL\n#define KW {}LL\n#define HO {}LL\n#define WO {}LL\n#define SH {}LL\n"
        "#define SW {}LL\n#define PH {}LL\n#define PW {}LL\n#define DH {}LL\n#define DW {}LL\n"
        "#define GC {}LL\n#define GO {}LL\n",
        c_type(st.dtype), g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.ho, g.wo, g.sh, g.sw, g.ph, g.pw,
        g.dh, g.dw, g.group_channels(), g.group_outputs());
    const char* x_const = st.pass == ir::ConvPass::InputGrad ? "" : "const ";
    const char* w_const = st.pass == ir::ConvPass::WeightGrad ? "" : "const ";
    const char* y_const = st.pass == ir::ConvPass::Forward ? "" : "const ";
    std::string body;
    if (st.pass == ir::ConvPass::Forward) {
        s.threads = g.n * g.o * g.ho * g.wo;
        body =
            "        const long long wo = e % WO, ho = (e / WO) % HO, o = (e / (WO * HO)) % O,\n"
            "                        n = e / (WO * HO * O), grp = o / GO;\n"
            "        T acc = 0;\n"
            "        for (long long c = 0; c < GC; ++c)\n"
            "            for (long long i = 0; i < KH; ++i) {\n"
            "                const long long h = ho * SH - PH + i * DH;\n"
            "                if (h < 0 || h >= H) continue;\n"
            "                for (long long j = 0; j < KW; ++j) {\n"
            "                    const long long w_ = wo * SW - PW + j * DW;\n"
            "                    if (w_ < 0 || w_ >= W) continue;\n"
            "                    acc += x[((n * C + grp * GC + c) * H + h) * W + w_] *\n"
            "                           w[((o * GC + c) * KH + i) * KW + j];\n"
            "                }\n"
            "            }\n"
            "        y[e] = acc;\n";
    } else if (st.pass == ir::ConvPass::InputGrad) {
        s.threads = g.n * g.c * g.h * g.w;
        body =
            "        const long long w_ = e % W, h = (e / W) % H, c = (e / (W * H)) % C,\n"
            "                        n = e / (W * H * C), grp = c / GC, cg = c % GC;\n"
            "        T acc = 0;\n"
            "        for (long long o = grp * GO; o < (grp + 1) * GO; ++o)\n"
            "            for (long long i = 0; i < KH; ++i) {\n"
            "                const long long th = h + PH - i * DH;\n"
            "                if (th < 0 || th % SH != 0 || th / SH >= HO) continue;\n"
            "                for (long long j = 0; j < KW; ++j) {\n"
            "                    const long long tw = w_ + PW - j * DW;\n"
            "                    if (tw < 0 || tw % SW != 0 || tw / SW >= WO) continue;\n"
            "                    acc += y[((n * O + o) * HO + th / SH) * WO + tw / SW] *\n"
            "                           w[((o * GC + cg) * KH + i) * KW + j];\n"
            "                }\n"
            "            }\n"
            "        x[e] = acc;\n";
    } else {
        s.threads = g.o * g.group_channels() * g.kh * g.kw;
        body =
            "        const long long j = e % KW, i = (e / KW) % KH, cg = (e / (KW * KH)) % GC,\n"
            "                        o = e / (KW * KH * GC), grp = o / GO;\n"
            "        T acc = 0;\n"
            "        for (long long n = 0; n < N; ++n)\n"
            "            for (long long ho = 0; ho < HO; ++ho) {\n"
            "                const long long h = ho * SH - PH + i * DH;\n"
            "                if (h < 0 || h >= H) continue;\n"
            "                for (long long wo = 0; wo < WO; ++wo) {\n"
            "                    const long long w_ = wo * SW - PW + j * DW;\n"
            "                    if (w_ < 0 || w_ >= W) continue;\n"
            "                    acc += y[((n * O + o) * HO + ho) * WO + wo] *\n"
            "                           x[((n * C + grp * GC + cg) * H + h) * W + w_];\n"
            "                }\n"
            "            }\n"
            "        w[e] = acc;\n";
    }
    s.source = defines + fmt::format("#define THREADS {}LL\n", s.threads) +
               fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({}T* __restrict__ x, "
                           "{}T* __restrict__ w, {}T* __restrict__ y) {{\n",
                           kCudaExternBlock, s.name, x_const, w_const, y_const) +
               kGridLoop + body + "    }\n}\n";
    return s;
}

}  // namespace kiln::runtime
