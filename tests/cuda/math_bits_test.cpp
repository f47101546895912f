// The CUDA backend's math functions (codegen/cuda/cuda_math.h) against the CPU backend's, bit for
// bit, without a GPU: the helper functions' CUDA C is compiled by the host C++ compiler with
// CUDA's non-contracting intrinsics as plain IEEE operations (__fadd_rn(a, b) is a + b, compiled
// with -ffp-contract=off; fmaf is libm's), run on many inputs (special values, denormals,
// large arguments, random bit patterns), and compared with the JIT-compiled CPU kernels
// (codegen/llvm/vector_math_selftest.h, the kernel emitter's path). NaN results only need to be
// NaN: their payloads may differ between CPU and GPU.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "codegen/cuda/cuda_math.h"
#include "codegen/cuda/nvrtc.h"
#include "codegen/llvm/vector_math_selftest.h"
#include "ir/op.h"

namespace {

using kiln::ir::Op;

const Op kOps[] = {Op::Exp, Op::Log, Op::Sin, Op::Cos, Op::Tanh, Op::Sigmoid, Op::Erf, Op::Pow};

std::string helper_name(Op op, bool f64) {
    return fmt::format("kiln_{}_{}", kiln::ir::op_name(op), f64 ? "f64" : "f32");
}

/// What the emulation must define for the helpers' CUDA C to be host C++.
const char* const kPrelude = R"(#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#define __device__
#define __forceinline__ inline
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
using std::fma;  // and ::fmaf, floorf, rintf, fabsf, copysignf from <cmath>
template <class To, class From>
static inline To bits_as(From f) {
    To t;
    std::memcpy(&t, &f, sizeof t);
    return t;
}
static inline int __float_as_int(float x) { return bits_as<int>(x); }
static inline float __int_as_float(int x) { return bits_as<float>(x); }
static inline long long __double_as_longlong(double x) { return bits_as<long long>(x); }
static inline double __longlong_as_double(long long x) { return bits_as<double>(x); }
)";

/// The driver: for each helper, reads <dir>/<name>.in (x, or x and y interleaved) and writes
/// <dir>/<name>.out.
std::string driver_source() {
    std::string s = kPrelude;
    for (Op op : kOps)
        for (bool f64 : {false, true}) s += kiln::codegen::cuda::math_helper(helper_name(op, f64));
    s += R"(
template <class T, class F>
static bool run(const char* dir, const char* name, int arity, F f) {
    std::string base = std::string(dir) + "/" + name;
    std::FILE* in = std::fopen((base + ".in").c_str(), "rb");
    if (!in) return false;
    std::vector<T> x;
    T v;
    while (std::fread(&v, sizeof v, 1, in) == 1) x.push_back(v);
    std::fclose(in);
    std::vector<T> out;
    for (size_t i = 0; i + arity <= x.size(); i += arity) out.push_back(f(&x[i]));
    std::FILE* o = std::fopen((base + ".out").c_str(), "wb");
    bool ok = o && std::fwrite(out.data(), sizeof(T), out.size(), o) == out.size();
    if (o) std::fclose(o);
    return ok;
}

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const char* d = argv[1];
    bool ok = true;
)";
    for (Op op : kOps)
        for (bool f64 : {false, true}) {
            std::string name = helper_name(op, f64);
            const char* ty = f64 ? "double" : "float";
            bool pow = op == Op::Pow;
            s += fmt::format(
                "    ok = run<{0}>(d, \"{1}\", {2}, [](const {0}* p) {{ return {1}(p[0]{3}); }}) "
                "&& ok;\n",
                ty, name, pow ? 2 : 1, pow ? ", p[1]" : "");
        }
    s += "    return ok ? 0 : 1;\n}\n";
    return s;
}

/// The C++ compiler CMake used (tests/CMakeLists.txt passes it).
std::string host_compiler() { return KILN_CXX_COMPILER; }

template <class T>
void write_raw(const std::string& path, const std::vector<T>& v) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(v.data()),
              static_cast<std::streamsize>(v.size() * sizeof(T)));
    REQUIRE(out.good());
}

template <class T>
std::vector<T> read_raw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    std::vector<T> v(s.size() / sizeof(T));
    std::memcpy(v.data(), s.data(), v.size() * sizeof(T));
    return v;
}

/// Inputs of one float type: special values, denormals, powers of two, large arguments (trig),
/// uniform ranges where the functions switch formulas, and random bit patterns (every
/// exponent, NaNs included).
template <class T>
std::vector<T> inputs(uint64_t seed) {
    using L = std::numeric_limits<T>;
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    std::vector<T> xs = {0,
                         -T(0),
                         1,
                         -1,
                         T(0.5),
                         2,
                         T(0.55),
                         T(1.125),
                         T(0.84375),
                         T(1.25),
                         6,
                         T(0x1.f5a88ap+1),
                         88,
                         89,
                         -103,
                         -104,
                         709,
                         710,
                         -745,
                         -746,
                         L::infinity(),
                         -L::infinity(),
                         L::quiet_NaN(),
                         -L::quiet_NaN(),
                         L::denorm_min(),
                         -L::denorm_min(),
                         L::min(),
                         -L::min(),
                         L::max(),
                         -L::max(),
                         L::epsilon(),
                         T(3.14159265358979),
                         T(1e4),
                         T(1e5),
                         T(1e30)};
    for (int e = L::min_exponent - L::digits - 1; e <= L::max_exponent; ++e) {
        xs.push_back(std::ldexp(T(1), e));
        xs.push_back(-std::ldexp(T(1), e));
    }
    std::mt19937_64 rng(seed);
    auto uni = [&](double lo, double hi, int n) {
        std::uniform_real_distribution<double> d(lo, hi);
        for (int i = 0; i < n; ++i) xs.push_back(static_cast<T>(d(rng)));
    };
    uni(-10, 10, 20000);
    uni(0, 1, 5000);    // randn's uniforms
    uni(0.5, 2, 5000);  // log near 1
    uni(-120, 120, 5000);
    uni(-800, 800, 3000);
    uni(-1e6, 1e6, 3000);              // trig reduction
    for (int i = 0; i < 30000; ++i) {  // any bits: denormals, huge values, NaNs
        U u = static_cast<U>(rng());
        T v;
        std::memcpy(&v, &u, sizeof v);
        xs.push_back(v);
    }
    for (int i = 0; i < 3000; ++i) {  // denormals
        U u = static_cast<U>(rng()) & ((U(1) << (L::digits - 1)) - 1);
        T v;
        std::memcpy(&v, &u, sizeof v);
        xs.push_back(i % 2 ? -v : v);
    }
    return xs;
}

/// pow's (x, y) pairs, interleaved: every special value against every other, then random
/// pairs (random bits, moderate x with integer, half-integer and random y).
template <class T>
std::vector<T> pow_inputs(uint64_t seed) {
    std::vector<T> base = inputs<T>(seed);
    std::vector<T> special(base.begin(), base.begin() + 35);
    for (T y : {T(0.5), T(-0.5), T(3), T(-3), T(2), T(-2), T(1e10), T(-1e10), T(0.25)})
        special.push_back(y);
    std::vector<T> xy;
    for (T x : special)
        for (T y : special) xy.insert(xy.end(), {x, y});
    std::mt19937_64 rng(seed + 1);
    std::uniform_int_distribution<size_t> pick(0, base.size() - 1);
    std::uniform_real_distribution<double> mx(-4, 4), my(-40, 40);
    for (int i = 0; i < 30000; ++i) xy.insert(xy.end(), {base[pick(rng)], base[pick(rng)]});
    for (int i = 0; i < 30000; ++i) {
        T x = static_cast<T>(mx(rng)), y = static_cast<T>(my(rng));
        if (i % 3 == 1) y = std::round(y);
        if (i % 3 == 2) y = std::round(2 * y) / 2;
        xy.insert(xy.end(), {x, y});
    }
    return xy;
}

template <class T>
std::vector<T> cpu_results(Op op, const std::vector<T>& in) {
    using namespace kiln::codegen;
    if (op != Op::Pow) {
        if constexpr (sizeof(T) == 4)
            return eval_math_f32(op, in);
        else
            return eval_math_f64(op, in);
    }
    std::vector<T> x, y;
    for (size_t i = 0; i + 1 < in.size(); i += 2) {
        x.push_back(in[i]);
        y.push_back(in[i + 1]);
    }
    if constexpr (sizeof(T) == 4)
        return eval_pow_f32(x, y);
    else
        return eval_pow_f64(x, y);
}

template <class T>
std::string show(T v) {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    U u;
    std::memcpy(&u, &v, sizeof u);
    return fmt::format("{} ({:#x})", static_cast<double>(v), static_cast<unsigned long long>(u));
}

/// Compares one helper's results with the CPU's; returns the number of mismatches.
template <class T>
size_t compare(Op op, const std::vector<T>& in, const std::vector<T>& gpu) {
    std::vector<T> cpu = cpu_results(op, in);
    REQUIRE(gpu.size() == cpu.size());
    size_t bad = 0, arity = op == Op::Pow ? 2 : 1;
    for (size_t i = 0; i < cpu.size(); ++i) {
        bool same = std::memcmp(&cpu[i], &gpu[i], sizeof(T)) == 0 ||
                    (std::isnan(cpu[i]) && std::isnan(gpu[i]));
        if (same) continue;
        if (++bad <= 5)
            UNSCOPED_INFO(fmt::format(
                "{}({}{}): cpu {} cuda {}", helper_name(op, sizeof(T) == 8), show(in[i * arity]),
                arity == 2 ? ", " + show(in[i * arity + 1]) : "", show(cpu[i]), show(gpu[i])));
    }
    return bad;
}

}  // namespace

TEST_CASE("CUDA math helpers are bit-identical to the CPU's (host-compiled)", "[cuda][math]") {
    char tmpl[] = "/tmp/kiln-cuda-math-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    { std::ofstream(dir + "/driver.cpp") << driver_source(); }
    std::string cmd = fmt::format("'{}' -std=c++17 -O2 -ffp-contract=off -o '{}/driver' "
                                  "'{}/driver.cpp' > '{}/build.log' 2>&1",
                                  host_compiler(), dir, dir, dir);
    INFO(cmd);
    if (std::system(cmd.c_str()) != 0) {
        std::ifstream log(dir + "/build.log");
        std::stringstream ss;
        ss << log.rdbuf();
        FAIL("the host compiler rejected the helpers:\n" << ss.str());
    }
    for (Op op : kOps) {
        write_raw(dir + "/" + helper_name(op, false) + ".in",
                  op == Op::Pow ? pow_inputs<float>(1) : inputs<float>(1));
        write_raw(dir + "/" + helper_name(op, true) + ".in",
                  op == Op::Pow ? pow_inputs<double>(2) : inputs<double>(2));
    }
    REQUIRE(std::system(fmt::format("'{}/driver' '{}'", dir, dir).c_str()) == 0);
    for (Op op : kOps)
        for (bool f64 : {false, true}) {
            std::string base = dir + "/" + helper_name(op, f64);
            size_t bad =
                f64 ? compare(op, read_raw<double>(base + ".in"), read_raw<double>(base + ".out"))
                    : compare(op, read_raw<float>(base + ".in"), read_raw<float>(base + ".out"));
            CHECK(bad == 0);
        }
    std::system(fmt::format("rm -rf '{}'", dir).c_str());
}

TEST_CASE("CUDA math helpers compile with NVRTC", "[cuda][math]") {
    if (!kiln::codegen::nvrtc_available()) {
        WARN("SKIPPED: NVRTC (libnvrtc) is not available on this machine, nothing was compiled");
        return;
    }
    std::string src, body;
    int k = 0;
    for (Op op : kOps)
        for (bool f64 : {false, true}) {
            std::string name = helper_name(op, f64);
            src += kiln::codegen::cuda::math_helper(name);
            const char* ty = f64 ? "double" : "float";
            body += fmt::format("    (({0}*)out)[16 * i + {1}] = {2}((({0})in[i]){3});\n", ty, k++,
                                name, op == Op::Pow ? fmt::format(", ({})i", ty) : "");
        }
    src += "extern \"C\" __global__ void all_math(const double* in, void* out) {\n"
           "    const int i = threadIdx.x;\n" +
           body + "}\n";
    INFO(src);
    std::string ptx = kiln::codegen::compile_ptx(src, "all_math");
    CHECK(ptx.find(".visible .entry all_math(") != std::string::npos);
}
