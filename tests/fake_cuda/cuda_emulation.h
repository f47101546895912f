#pragma once
/// The shim that turns CUDA C into host C++: force-included (`-include`) into every kernel module
/// the fake driver compiles (tests/fake_cuda/fake_module.cpp). It provides NVRTC's built-ins that
/// Kiln's rendered kernels use (codegen/cuda/cuda_source.h: qualifiers, thread indices, barriers,
/// warp shuffles, math functions, bit casts, saturating conversions), plus atomics, votes and the
/// common intrinsics.
///
/// The fake driver includes it too, with KILN_FAKE_CUDA_ABI_ONLY defined, for the one thing both
/// sides share: KilnFakeState, the emulator's per-module state. A module defines it (as
/// `kiln_fake_state`); the driver finds it with dlsym, writes the running thread's indices into it
/// and hooks its scheduler in. Launches are serialized, so one state per module suffices.
///
/// The whole text of this file is part of the module cache key, so editing it recompiles.

/// One of threadIdx / blockIdx / blockDim / gridDim (CUDA's uint3 and dim3).
struct KilnFakeDim {
    unsigned x, y, z;
};

/// What a module's code reads and calls; the driver fills it before running a block.
struct KilnFakeState {
    KilnFakeDim thread_idx, block_idx, block_dim, grid_dim;
    /// The scheduler of the launch in progress (opaque to the module).
    void* scheduler;
    /// __syncthreads() (mode 0) and __syncthreads_or / _and / _count (modes 1, 2, 3): waits for
    /// every unfinished thread of the block; returns the combined predicate (0 for mode 0).
    int (*block_barrier)(void* scheduler, int mode, int predicate);
    /// Warp exchange: deposits `value`, waits for every unfinished thread of the warp, returns the
    /// value lane `src_lane` deposited (this thread's own value when that lane deposited none).
    unsigned long long (*warp_exchange)(void* scheduler, unsigned long long value, int src_lane);
    /// Warp vote: waits like warp_exchange; returns the mask of lanes whose predicate is nonzero
    /// (in the low 32 bits) and the mask of lanes that voted (the high 32 bits).
    unsigned long long (*warp_vote)(void* scheduler, int predicate);
    /// __trap(): ends the launch with an error (prints `what`); does not return.
    void (*trap)(void* scheduler, const char* what);
};

#ifndef KILN_FAKE_CUDA_ABI_ONLY

// No host header: <math.h> alone would be most of a module's compile time. What CUDA C may call
// without an #include is declared here (libm's functions as glibc declares them, with the float
// overloads CUDA has); modules are linked with -lm.
typedef decltype(sizeof(0)) size_t;
extern "C" {
int printf(const char* format, ...);
void* memcpy(void* dst, const void* src, size_t n) noexcept;
void* memset(void* dst, int c, size_t n) noexcept;
int abs(int) noexcept;
long long llabs(long long) noexcept;
}
#define KILN_FAKE_MATH1(NAME)                                                                      \
    extern "C" double NAME(double) noexcept;                                                       \
    extern "C" float NAME##f(float) noexcept;                                                      \
    static inline float NAME(float x) { return NAME##f(x); }
#define KILN_FAKE_MATH2(NAME)                                                                      \
    extern "C" double NAME(double, double) noexcept;                                               \
    extern "C" float NAME##f(float, float) noexcept;                                               \
    static inline float NAME(float x, float y) { return NAME##f(x, y); }                           \
    template <class A, class B>                                                                    \
    static inline double NAME(A x, B y) {                                                          \
        return NAME((double)x, (double)y);                                                         \
    }
// The functions, one list per arity.
// clang-format off
#define KILN_FAKE_UNARY(X)                                                                         \
    X(acos) X(asin) X(atan) X(acosh) X(asinh) X(atanh) X(cbrt) X(ceil) X(cos) X(cosh) X(erf)       \
    X(erfc) X(exp) X(exp2) X(exp10) X(expm1) X(fabs) X(floor) X(lgamma) X(log) X(log10)           \
    X(log1p) X(log2) X(logb) X(nearbyint) X(rint) X(round) X(sin) X(sinh) X(sqrt) X(tan)          \
    X(tanh) X(tgamma) X(trunc)
#define KILN_FAKE_BINARY(X)                                                                        \
    X(atan2) X(copysign) X(fdim) X(fmax) X(fmin) X(fmod) X(hypot) X(nextafter) X(pow) X(remainder)
// clang-format on
KILN_FAKE_UNARY(KILN_FAKE_MATH1)
KILN_FAKE_BINARY(KILN_FAKE_MATH2)
#undef KILN_FAKE_UNARY
#undef KILN_FAKE_BINARY
#undef KILN_FAKE_MATH1
#undef KILN_FAKE_MATH2
extern "C" {
double fma(double, double, double) noexcept;
float fmaf(float, float, float) noexcept;
double frexp(double, int*) noexcept;
float frexpf(float, int*) noexcept;
double ldexp(double, int) noexcept;
float ldexpf(float, int) noexcept;
double scalbn(double, int) noexcept;
float scalbnf(float, int) noexcept;
double modf(double, double*) noexcept;
float modff(float, float*) noexcept;
void sincos(double, double*, double*) noexcept;
void sincosf(float, float*, float*) noexcept;
int ilogb(double) noexcept;
int ilogbf(float) noexcept;
long long llrint(double) noexcept;
long long llrintf(float) noexcept;
long long llround(double) noexcept;
long long llroundf(float) noexcept;
double nan(const char*) noexcept;
float nanf(const char*) noexcept;
}
static inline float fma(float a, float b, float c) { return fmaf(a, b, c); }
static inline float ldexp(float x, int e) { return ldexpf(x, e); }
static inline float abs(float x) { return fabsf(x); }
static inline double abs(double x) { return fabs(x); }
static inline long long abs(long long x) { return llabs(x); }
static inline bool isnan(float x) { return __builtin_isnan(x); }
static inline bool isnan(double x) { return __builtin_isnan(x); }
static inline bool isinf(float x) { return __builtin_isinf(x); }
static inline bool isinf(double x) { return __builtin_isinf(x); }
static inline bool isfinite(float x) { return __builtin_isfinite(x); }
static inline bool isfinite(double x) { return __builtin_isfinite(x); }
static inline bool signbit(float x) { return __builtin_signbit(x); }
static inline bool signbit(double x) { return __builtin_signbit(x); }

extern "C" {
/// The module's state (see above); the driver looks it up by this name.
__attribute__((visibility("default"))) KilnFakeState kiln_fake_state;
}

// ---- qualifiers and built-in variables
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __maxnreg__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one at a time, so static storage serves as a block's shared memory. __constant__
// variables are plain statics too (cuModuleGetGlobal, which would set them, is not emulated).
#define __shared__ static
#define __constant__ static
#define __managed__

// ---- vector types (CUDA's alignments: a vector of N elements of size S is aligned to N * S)
struct __align__(2) uchar2 { unsigned char x, y; };
struct __align__(4) uchar4 { unsigned char x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(8) float2 { float x, y; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(16) double2 { double x, y; };
struct __align__(16) longlong2 { long long x, y; };

typedef KilnFakeDim uint3;
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    dim3(KilnFakeDim d) : x(d.x), y(d.y), z(d.z) {}
};

#define threadIdx (kiln_fake_state.thread_idx)
#define blockIdx (kiln_fake_state.block_idx)
#define blockDim (kiln_fake_state.block_dim)
#define gridDim (kiln_fake_state.grid_dim)
#define warpSize 32

/// The lane of the running thread: its linear index in the block modulo 32.
static inline int kiln_fake_lane() {
    const KilnFakeState& s = kiln_fake_state;
    unsigned linear =
        s.thread_idx.x + s.block_dim.x * (s.thread_idx.y + s.block_dim.y * s.thread_idx.z);
    return (int)(linear & 31u);
}

// ---- barriers, warp shuffles and votes
static inline void __syncthreads() {
    kiln_fake_state.block_barrier(kiln_fake_state.scheduler, 0, 0);
}
static inline int __syncthreads_or(int p) {
    return kiln_fake_state.block_barrier(kiln_fake_state.scheduler, 1, p != 0);
}
static inline int __syncthreads_and(int p) {
    return kiln_fake_state.block_barrier(kiln_fake_state.scheduler, 2, p != 0);
}
static inline int __syncthreads_count(int p) {
    return kiln_fake_state.block_barrier(kiln_fake_state.scheduler, 3, p != 0);
}
static inline void __syncwarp(unsigned mask = 0xffffffffu) {
    kiln_fake_state.warp_vote(kiln_fake_state.scheduler, 0);
}
static inline void __threadfence() {}
static inline void __threadfence_block() {}
static inline void __threadfence_system() {}
static inline void __trap() { kiln_fake_state.trap(kiln_fake_state.scheduler, "__trap()"); }

/// Any value of at most 8 bytes through a warp exchange (masks are not modelled: every
/// unfinished lane of the warp takes part, as with Kiln's full masks).
template <class T>
static inline T kiln_fake_exchange(T v, int src_lane) {
    static_assert(sizeof(T) <= 8, "warp shuffles of at most 8 bytes");
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof(T));
    bits = kiln_fake_state.warp_exchange(kiln_fake_state.scheduler, bits, src_lane);
    T out;
    memcpy(&out, &bits, sizeof(T));
    return out;
}
// Lanes form segments of `width` (a power of two); a source outside the thread's segment (below
// it for up, above it for down and xor) gives the thread its own value, as CUDA specifies.
template <class T>
static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    int lane = kiln_fake_lane(), base = lane & ~(width - 1);
    return kiln_fake_exchange(v, base + (src & (width - 1)));
}
template <class T>
static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = kiln_fake_lane();
    int src = (lane & (width - 1)) < (int)delta ? lane : lane - (int)delta;
    return kiln_fake_exchange(v, src);
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = kiln_fake_lane();
    int src = (lane & (width - 1)) + (int)delta >= width ? lane : lane + (int)delta;
    return kiln_fake_exchange(v, src);
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    int lane = kiln_fake_lane(), src = lane ^ lane_mask;
    if (src >= (lane & ~(width - 1)) + width) src = lane;
    return kiln_fake_exchange(v, src);
}
static inline unsigned __ballot_sync(unsigned mask, int p) {
    return (unsigned)kiln_fake_state.warp_vote(kiln_fake_state.scheduler, p != 0);
}
static inline int __any_sync(unsigned mask, int p) { return __ballot_sync(mask, p) != 0u; }
static inline int __all_sync(unsigned mask, int p) {
    unsigned long long v = kiln_fake_state.warp_vote(kiln_fake_state.scheduler, p != 0);
    return (unsigned)v == (unsigned)(v >> 32);
}
static inline unsigned __activemask() {
    return (unsigned)(kiln_fake_state.warp_vote(kiln_fake_state.scheduler, 1) >> 32);
}

// ---- bit casts and integer intrinsics
template <class To, class From>
static inline To kiln_fake_bits(From f) {
    static_assert(sizeof(To) == sizeof(From), "bit cast between equal sizes");
    To t;
    memcpy(&t, &f, sizeof(To));
    return t;
}
static inline float __int_as_float(int x) { return kiln_fake_bits<float>(x); }
static inline float __uint_as_float(unsigned x) { return kiln_fake_bits<float>(x); }
static inline int __float_as_int(float x) { return kiln_fake_bits<int>(x); }
static inline unsigned __float_as_uint(float x) { return kiln_fake_bits<unsigned>(x); }
static inline double __longlong_as_double(long long x) { return kiln_fake_bits<double>(x); }
static inline long long __double_as_longlong(double x) { return kiln_fake_bits<long long>(x); }
static inline unsigned __umulhi(unsigned a, unsigned b) {
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline long long __mul64hi(long long a, long long b) {
    return (long long)(((__int128)a * b) >> 64);
}
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
static inline int __clzll(long long x) {
    return x == 0 ? 64 : __builtin_clzll((unsigned long long)x);
}
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x) {
    unsigned r = 0;
    for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
    return r;
}
template <class T>
static inline T __ldg(const T* p) {
    return *p;
}

// ---- float -> integer conversions: PTX cvt.rni/rzi/rmi/rpi, saturating, NaN -> 0
#define KILN_FAKE_CVT(NAME, F, I, LO, HI, ROUND)                                                   \
    static inline I NAME(F x) {                                                                    \
        if (x != x) return 0;                                                                      \
        F r = ROUND(x);                                                                            \
        if (r >= (F)(HI)) return (I)(HI);                                                          \
        if (r <= (F)(LO)) return (I)(LO);                                                          \
        return (I)r;                                                                               \
    }
#define KILN_FAKE_CVTS(SFX, ROUNDF, ROUNDD)                                                        \
    KILN_FAKE_CVT(__float2int_##SFX, float, int, -2147483647 - 1, 2147483647, ROUNDF)              \
    KILN_FAKE_CVT(__float2uint_##SFX, float, unsigned, 0u, 4294967295u, ROUNDF)                    \
    KILN_FAKE_CVT(__float2ll_##SFX, float, long long, -9223372036854775807LL - 1,                  \
                  9223372036854775807LL, ROUNDF)                                                   \
    KILN_FAKE_CVT(__float2ull_##SFX, float, unsigned long long, 0ull, 18446744073709551615ull,     \
                  ROUNDF)                                                                          \
    KILN_FAKE_CVT(__double2int_##SFX, double, int, -2147483647 - 1, 2147483647, ROUNDD)            \
    KILN_FAKE_CVT(__double2uint_##SFX, double, unsigned, 0u, 4294967295u, ROUNDD)                  \
    KILN_FAKE_CVT(__double2ll_##SFX, double, long long, -9223372036854775807LL - 1,                \
                  9223372036854775807LL, ROUNDD)                                                   \
    KILN_FAKE_CVT(__double2ull_##SFX, double, unsigned long long, 0ull, 18446744073709551615ull,   \
                  ROUNDD)
KILN_FAKE_CVTS(rz, truncf, trunc)
KILN_FAKE_CVTS(rn, nearbyintf, nearbyint)
KILN_FAKE_CVTS(rd, floorf, floor)
KILN_FAKE_CVTS(ru, ceilf, ceil)
#undef KILN_FAKE_CVTS
#undef KILN_FAKE_CVT
static inline float __int2float_rn(int x) { return (float)x; }
static inline double __int2double_rn(int x) { return (double)x; }
static inline float __ll2float_rn(long long x) { return (float)x; }
static inline double __ll2double_rn(long long x) { return (double)x; }
static inline float __double2float_rn(double x) { return (float)x; }

// ---- math beyond <math.h>: CUDA-only functions and the fast intrinsics (here precise)
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
static inline double rcbrt(double x) { return 1.0 / cbrt(x); }
static inline float sinpif(float x) { return sinf(3.14159265358979323846f * x); }
static inline double sinpi(double x) { return sin(3.14159265358979323846 * x); }
static inline float cospif(float x) { return cosf(3.14159265358979323846f * x); }
static inline double cospi(double x) { return cos(3.14159265358979323846 * x); }
static inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
static inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }
// glibc declares __expf & co. as its own names for the same functions: macros, not overloads.
#define __expf expf
#define __exp10f exp10f
#define __logf logf
#define __log2f log2f
#define __log10f log10f
#define __sinf sinf
#define __cosf cosf
#define __tanf tanf
#define __powf powf
static inline float __fdividef(float x, float y) { return x / y; }
static inline float fdividef(float x, float y) { return x / y; }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float __fsqrt_rn(float x) { return sqrtf(x); }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
static inline float __saturatef(float x) {
    return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
}

// CUDA's global min/max: fminf/fmaxf for floating point, plain comparisons otherwise.
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
template <class A, class B>
static inline auto min(A a, B b) -> decltype(a + b) {
    return b < a ? b : a;
}
template <class A, class B>
static inline auto max(A a, B b) -> decltype(a + b) {
    return a < b ? b : a;
}

// ---- atomics: threads are fibers of one host thread, switched only at barriers, so a plain
// read-modify-write is atomic.
template <class T>
struct KilnFakeSame {
    typedef T type;
};
#define KILN_FAKE_ATOMIC(NAME, EXPR)                                                               \
    template <class T>                                                                             \
    static inline T NAME(T* p, typename KilnFakeSame<T>::type v) {                                 \
        T old = *p;                                                                                \
        *p = (EXPR);                                                                               \
        return old;                                                                                \
    }
KILN_FAKE_ATOMIC(atomicAdd, old + v)
KILN_FAKE_ATOMIC(atomicSub, old - v)
KILN_FAKE_ATOMIC(atomicExch, v)
KILN_FAKE_ATOMIC(atomicMax, old < v ? v : old)
KILN_FAKE_ATOMIC(atomicMin, v < old ? v : old)
KILN_FAKE_ATOMIC(atomicAnd, old& v)
KILN_FAKE_ATOMIC(atomicOr, old | v)
KILN_FAKE_ATOMIC(atomicXor, old ^ v)
#undef KILN_FAKE_ATOMIC
template <class T>
static inline T atomicCAS(T* p, typename KilnFakeSame<T>::type compare,
                          typename KilnFakeSame<T>::type v) {
    T old = *p;
    if (old == compare) *p = v;
    return old;
}
static inline unsigned atomicInc(unsigned* p, unsigned limit) {
    unsigned old = *p;
    *p = old >= limit ? 0u : old + 1u;
    return old;
}
static inline unsigned atomicDec(unsigned* p, unsigned limit) {
    unsigned old = *p;
    *p = (old == 0u || old > limit) ? limit : old - 1u;
    return old;
}

#endif  // KILN_FAKE_CUDA_ABI_ONLY
