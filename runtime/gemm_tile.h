#pragma once
/// Register tiles of a matrix product, shared by the portable gemm (runtime/blas.cpp) and the
/// convolution steps (runtime/conv.cpp). Header-only templates: each caller instantiates them
/// inside functions compiled for one instruction set (gnu::target), since the library itself is
/// built without -march.
#include <cstdint>
#include <cstring>

namespace kiln::runtime {

template <typename T, int Bytes>
using Vec [[gnu::vector_size(Bytes)]] = T;

// Unaligned vector load/store. Vectors pass by reference: returning a 64-byte vector from a
// function compiled without AVX-512 would be an ABI change (-Wpsabi), even when inlined.
template <typename V>
[[gnu::always_inline]] inline void load_vec(V& v, const void* p) {
    std::memcpy(&v, p, sizeof v);
}

template <typename V>
[[gnu::always_inline]] inline void store_vec(void* p, const V& v) {
    std::memcpy(p, &v, sizeof v);
}

/// The rows of a matrix at a fixed stride: row r starts at data + r * ld.
template <typename T>
struct StridedRows {
    const T* data;
    int64_t ld;
    const T* row(int64_t r) const { return data + r * ld; }
    /// The block whose (0, 0) is (r, col) here.
    StridedRows block(int64_t r, int64_t col) const { return {data + r * ld + col, ld}; }
};

/// Rows at arbitrary offsets of one buffer: row r starts at base + offsets[r] + col. A conv
/// reads the windows of a zero-padded image this way (implicit GEMM, no im2col copy).
template <typename T>
struct OffsetRows {
    const T* base;
    const int64_t* offsets;
    int64_t col = 0;
    const T* row(int64_t r) const { return base + offsets[r] + col; }
    OffsetRows block(int64_t r, int64_t c) const { return {base, offsets + r, col + c}; }
};

// c[R, C*L] (+)= a[R, kb] @ b[kb, C*L], L = lanes of V; a and b are row accessors (above).
template <typename T, typename V, int R, int C, typename A, typename B>
[[gnu::always_inline]] inline void micro_tile(int64_t kb, const A& a, const B& b, T* c,
                                              int64_t ldc, bool accumulate) {
    constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
    V acc[R][C];
    const T* arow[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
        arow[r] = a.row(r);
#pragma GCC unroll 4
        for (int j = 0; j < C; ++j) acc[r][j] = V{};
    }
    for (int64_t p = 0; p < kb; ++p) {
        V bv[C];
        const T* brow = b.row(p);
#pragma GCC unroll 4
        for (int j = 0; j < C; ++j) load_vec(bv[j], brow + j * L);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
            T av = arow[r][p];
#pragma GCC unroll 4
            for (int j = 0; j < C; ++j) acc[r][j] += av * bv[j];
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < C; ++j) {
            T* cp = c + r * ldc + j * L;
            if (accumulate) {
                V old;
                load_vec(old, cp);
                acc[r][j] += old;
            }
            store_vec(cp, acc[r][j]);
        }
}

// The same with both operands row-major at strides lda, ldb.
template <typename T, typename V, int R, int C>
[[gnu::always_inline]] inline void micro_tile(int64_t kb, const T* a, int64_t lda, const T* b,
                                              int64_t ldb, T* c, int64_t ldc, bool accumulate) {
    micro_tile<T, V, R, C>(kb, StridedRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, accumulate);
}

// Any tile smaller than the micro-kernel's (the edges of C).
template <typename T>
void edge_tile(int64_t rows, int64_t cols, int64_t kb, const T* a, int64_t lda, const T* b,
               int64_t ldb, T* c, int64_t ldc, bool accumulate) {
    for (int64_t r = 0; r < rows; ++r) {
        T* cr = c + r * ldc;
        if (!accumulate)
            for (int64_t j = 0; j < cols; ++j) cr[j] = 0;
        for (int64_t p = 0; p < kb; ++p) {
            T av = a[r * lda + p];
            const T* br = b + p * ldb;
            for (int64_t j = 0; j < cols; ++j) cr[j] += av * br[j];
        }
    }
}

/// Instruction sets the tiles are compiled for.
enum class Isa { Base, Avx2, Avx512 };

/// The widest vector instruction set the tiles may use on this CPU (and OS).
inline Isa detect_isa() {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return Isa::Avx2;
#endif
    return Isa::Base;
}

}  // namespace kiln::runtime
