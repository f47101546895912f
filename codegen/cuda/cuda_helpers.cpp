// The device functions rendered kernels call: integer division and powers with ops.def's rules,
// NaN-propagating max/min, Philox, block reductions, and Kiln's math functions (exp, log, sin,
// ..., pow: cuda_math.h). A translation unit defines only the ones its kernel uses, so small
// kernels stay small for NVRTC.
#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "codegen/cuda/cuda_expr.h"
#include "codegen/cuda/cuda_math.h"
#include "ir/philox.h"
#include "kiln/error.h"

namespace kiln::codegen::cuda {
namespace {

constexpr const char* kInline = "static __device__ __forceinline__";

std::string int_div(DType t, bool remainder) {
    bool i32 = t == DType::Int32;
    const char* ty = i32 ? "int" : "long long";
    const char* u = i32 ? "unsigned" : "unsigned long long";
    const char* sx = i32 ? "i32" : "i64";
    if (remainder)
        return fmt::format("// ops.def: x % 0 = 0; x % -1 = 0 without the trapping INT_MIN % -1.\n"
                           "{} {} kiln_mod_{}({} a, {} b) {{\n"
                           "    return b == 0 || b == -1 ? 0 : a % b;\n}}\n",
                           kInline, ty, sx, ty, ty);
    return fmt::format("// ops.def: x / 0 = 0; x / -1 = -x, wrapping (INT_MIN / -1 = INT_MIN).\n"
                       "{} {} kiln_div_{}({} a, {} b) {{\n"
                       "    return b == 0 ? 0 : b == -1 ? ({})(({})0 - ({})a) : a / b;\n}}\n",
                       kInline, ty, sx, ty, ty, ty, u, u);
}

std::string int_pow(DType t) {
    bool i32 = t == DType::Int32;
    const char* ty = i32 ? "int" : "long long";
    const char* u = i32 ? "unsigned" : "unsigned long long";
    return fmt::format(
        "// Square-and-multiply, wrapping. Negative exponents: 1 ** e = 1, (-1) ** e = +-1,\n"
        "// anything else truncates to 0 (the CPU backend's rule).\n"
        "{0} {1} kiln_pow_{2}({1} b, {1} e) {{\n"
        "    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;\n"
        "    {3} r = 1, p = ({3})b;\n"
        "    for (; e != 0; e >>= 1) {{\n"
        "        if (e & 1) r *= p;\n"
        "        p *= p;\n"
        "    }}\n"
        "    return ({1})r;\n}}\n",
        kInline, ty, i32 ? "i32" : "i64", u);
}

std::string max_min(DType t, bool max) {
    bool f32 = t == DType::Float32;
    const char* ty = f32 ? "float" : "double";
    return fmt::format("// NaN-propagating (fmax{0} alone would return the other operand).\n"
                       "{1} {2} kiln_{3}_{4}({2} a, {2} b) {{\n"
                       "    return a != a || b != b ? a + b : f{3}{0}(a, b);\n}}\n",
                       f32 ? "f" : "", kInline, ty, max ? "max" : "min", f32 ? "f32" : "f64");
}

std::string philox() {
    return fmt::format(
        "// Philox-4x32-10 (ir/philox.h, the definition): counter (lo, hi, 0, 0), key (seed lo,\n"
        "// seed hi). Unrolled, so the caller's constant word index selects a register.\n"
        "{0} void kiln_philox(unsigned long long seed, unsigned long long counter,\n"
        "                     unsigned c[4]) {{\n"
        "    unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);\n"
        "    c[0] = (unsigned)counter;\n"
        "    c[1] = (unsigned)(counter >> 32);\n"
        "    c[2] = 0u;\n"
        "    c[3] = 0u;\n"
        "#pragma unroll\n"
        "    for (int round = 0; round < 10; ++round) {{\n"
        "        if (round > 0) {{\n"
        "            k0 += {1:#x}u;\n"
        "            k1 += {2:#x}u;\n"
        "        }}\n"
        "        const unsigned hi0 = __umulhi({3:#x}u, c[0]), lo0 = {3:#x}u * c[0];\n"
        "        const unsigned hi1 = __umulhi({4:#x}u, c[2]), lo1 = {4:#x}u * c[2];\n"
        "        const unsigned n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;\n"
        "        c[0] = n0;\n"
        "        c[1] = lo1;\n"
        "        c[2] = n2;\n"
        "        c[3] = lo0;\n"
        "    }}\n}}\n",
        kInline, ir::kPhiloxW0, ir::kPhiloxW1, ir::kPhiloxM0, ir::kPhiloxM1);
}

std::string philox_uniform(DType t) {
    if (t == DType::Float32)
        return fmt::format(
            "// Uniform [0, 1): the top 24 bits of output word `word`.\n"
            "{} float kiln_philox_f32(long long seed, long long counter, int word) {{\n"
            "    unsigned c[4];\n"
            "    kiln_philox(seed, counter, c);\n"
            "    return (float)(c[word] >> 8) * 0x1p-24f;\n}}\n",
            kInline);
    return fmt::format(
        "// Uniform [0, 1): the top 53 bits of words `word` (low half) and `word` + 1.\n"
        "{} double kiln_philox_f64(long long seed, long long counter, int word) {{\n"
        "    unsigned c[4];\n"
        "    kiln_philox(seed, counter, c);\n"
        "    const unsigned long long bits = ((unsigned long long)c[word + 1] << 32) | c[word];\n"
        "    return (double)(bits >> 11) * 0x1p-53;\n}}\n",
        kInline);
}

/// Block reduction `kiln_block_<op>_<dtype>` (op sum/max/min; bool reductions use
/// __syncthreads_or/and directly and need no helper).
std::string block_reduce(const std::string& op, DType t) {
    std::string sx = dtype_name(t);
    const char* ty = register_type(t);
    std::string combine, identity;
    bool f = is_floating(t);
    if (op == "sum") {
        combine = f ? "v + w"
                    : fmt::format("({})(({})v + ({})w)", ty,
                                  t == DType::Int32 ? "unsigned" : "unsigned long long",
                                  t == DType::Int32 ? "unsigned" : "unsigned long long");
        identity = zero_literal(t);
    } else {
        bool max = op == "max";
        combine = f ? fmt::format("kiln_{}_{}(v, w)", op, sx)
                    : fmt::format("v {} w ? v : w", max ? ">" : "<");
        if (f)
            identity = float_literal(max ? -std::numeric_limits<double>::infinity()
                                         : std::numeric_limits<double>::infinity(),
                                     t);
        else if (t == DType::Int32)
            identity = max ? "(-2147483647 - 1)" : "2147483647";
        else
            identity = max ? "(-9223372036854775807LL - 1LL)" : "9223372036854775807LL";
    }
    return fmt::format(
        "// The {0} of v over the block, in every thread: butterflies within each warp, one\n"
        "// partial per warp through shared memory, the same butterflies over the partials in\n"
        "// every warp, and lane 0's result broadcast so all threads agree bit for bit.\n"
        "{1} {2} kiln_block_{0}_{3}({2} v) {{\n"
        "    __shared__ {2} partial[32];\n"
        "    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;\n"
        "    for (int o = 16; o > 0; o >>= 1) {{\n"
        "        const {2} w = __shfl_xor_sync(0xffffffffu, v, o);\n"
        "        v = {4};\n"
        "    }}\n"
        "    if (lane == 0u) partial[warp] = v;\n"
        "    __syncthreads();\n"
        "    v = lane < KILN_BLOCK / 32 ? partial[lane] : {5};\n"
        "    for (int o = 16; o > 0; o >>= 1) {{\n"
        "        const {2} w = __shfl_xor_sync(0xffffffffu, v, o);\n"
        "        v = {4};\n"
        "    }}\n"
        "    v = __shfl_sync(0xffffffffu, v, 0);\n"
        "    __syncthreads();  // partial[] is reused by the next reduction\n"
        "    return v;\n}}\n",
        op, kInline, ty, sx, combine, identity);
}

/// Helpers without dependencies on later ones come first; math functions and block reductions
/// last.
const std::array<const char*, 13> kOrder = {
    "kiln_div_i32", "kiln_mod_i32",    "kiln_div_i64",   "kiln_mod_i64", "kiln_pow_i32",
    "kiln_pow_i64", "kiln_max_f32",    "kiln_min_f32",   "kiln_max_f64", "kiln_min_f64",
    "kiln_philox",  "kiln_philox_f32", "kiln_philox_f64"};

std::string definition(const std::string& name) {
    if (name == "kiln_div_i32") return int_div(DType::Int32, false);
    if (name == "kiln_mod_i32") return int_div(DType::Int32, true);
    if (name == "kiln_div_i64") return int_div(DType::Int64, false);
    if (name == "kiln_mod_i64") return int_div(DType::Int64, true);
    if (name == "kiln_pow_i32") return int_pow(DType::Int32);
    if (name == "kiln_pow_i64") return int_pow(DType::Int64);
    if (name == "kiln_max_f32") return max_min(DType::Float32, true);
    if (name == "kiln_min_f32") return max_min(DType::Float32, false);
    if (name == "kiln_max_f64") return max_min(DType::Float64, true);
    if (name == "kiln_min_f64") return max_min(DType::Float64, false);
    if (name == "kiln_philox") return philox();
    if (name == "kiln_philox_f32") return philox_uniform(DType::Float32);
    if (name == "kiln_philox_f64") return philox_uniform(DType::Float64);
    // kiln_block_<op>_<dtype>
    const std::string prefix = "kiln_block_";
    if (name.rfind(prefix, 0) == 0) {
        std::string rest = name.substr(prefix.size());
        size_t us = rest.find('_');
        DType t;
        if (us != std::string::npos && parse_dtype(rest.substr(us + 1), t) && t != DType::Bool) {
            std::string op = rest.substr(0, us);
            if (op == "sum" || op == "max" || op == "min") return block_reduce(op, t);
        }
    }
    std::string math = math_helper(name);  // kiln_exp_f32, kiln_pow_f64, ...
    if (!math.empty()) return math;
    throw InternalError("cuda codegen: unknown helper " + name);
}

}  // namespace

std::string ExprRenderer::helper_source() const {
    std::string out;
    for (const char* name : kOrder)
        if (helpers_.count(name)) out += definition(name) + "\n";
    // Then the math functions (self-contained) and block reductions (which may call max/min).
    for (const std::string& name : helpers_)
        if (std::find(kOrder.begin(), kOrder.end(), name) == kOrder.end())
            out += definition(name) + "\n";
    return out;
}

}  // namespace kiln::codegen::cuda
