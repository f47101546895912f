// Convolutions as small products that stay in cache, one image at a time, multiplied with
// register tiles (runtime/gemm_tile.h); the pool's threads split the images. Kiln's first conv2d
// was one BLAS call on the whole batch's im2col instead: that matrix (taps x batch*positions) is
// far larger than the caches, so it went to memory and back, and BLAS ran the thin [out
// channels, taps] products at a third of its peak.
//
// Stride-1 convs (all three passes) read a zero-padded copy of the image in place (implicit
// GEMM, see PaddedImage). Other strides copy each image's windows into a [taps, positions]
// matrix first (im2col). The passes, per image and group (P = output positions, T = taps =
// C/g * kh * kw):
//   forward      y[og, P]  = w[og, T] @ cols[T, P]
//   input grad   stride 1: the forward conv of dy with the flipped kernel; otherwise
//                cols[T, P] = w^T[T, og] @ dy[og, P], then col2im adds cols into dx
//   weight grad  dw^T[T, og] += cols[T, P] @ dy^T[P, og], summed over the images of a thread
//                and then over the threads in a fixed order (the same result on every run).
// The tiles need a product's width to be a multiple of the vector length, so the matrices that
// are the products' right operands are padded with zero columns in scratch.
#include "runtime/conv.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kiln/error.h"
#include "runtime/gemm_tile.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {
namespace {

using ir::ConvGeometry;

constexpr int64_t kDepthBlock = 256;  // k per pass over a tile: the B panel stays in L1

// A tile of `rows` <= R rows: the R-row micro-kernel, or the one for exactly `rows`.
template <typename T, typename V, int R, int C, typename A, typename B>
[[gnu::always_inline]] inline void rows_tile(int64_t rows, int64_t kb, const A& a, const B& b,
                                             T* c, int64_t ldc, bool accumulate) {
    if constexpr (R > 1) {
        if (rows < R) {
            rows_tile<T, V, R - 1, C>(rows, kb, a, b, c, ldc, accumulate);
            return;
        }
    }
    micro_tile<T, V, R, C>(kb, a, b, c, ldc, accumulate);
}

// c[m, n] (+)= a[m, k] @ b[k, n], n a multiple of the lanes; a and b are row accessors
// (runtime/gemm_tile.h). Column tiles two vectors wide, and one vector for the last columns.
template <typename T, typename V, int R, typename A, typename B>
[[gnu::always_inline]] inline void tile_gemm(int64_t m, int64_t n, int64_t k, const A& a,
                                             const B& b, T* c, int64_t ldc, bool accumulate) {
    constexpr int64_t L = static_cast<int64_t>(sizeof(V) / sizeof(T));
    for (int64_t p0 = 0; p0 < k; p0 += kDepthBlock) {
        int64_t kb = std::min(k - p0, kDepthBlock);
        bool acc = accumulate || p0 > 0;
        for (int64_t j = 0; j < n; j += 2 * L) {
            bool wide = j + 2 * L <= n;
            B bp = b.block(p0, j);
            for (int64_t i = 0; i < m; i += R) {
                int64_t rows = std::min<int64_t>(R, m - i);
                A ap = a.block(i, p0);
                T* cp = c + i * ldc + j;
                if (wide) rows_tile<T, V, R, 2>(rows, kb, ap, bp, cp, ldc, acc);
                else rows_tile<T, V, R, 1>(rows, kb, ap, bp, cp, ldc, acc);
            }
        }
    }
}

/// c[m, n] (+)= a[m, k] @ b[k, n] for one pair of operand layouts.
template <typename T, typename A, typename B>
using TileGemm = void (*)(int64_t m, int64_t n, int64_t k, const A& a, const B& b, T* c,
                          int64_t ldc, bool accumulate);

template <typename T>
using Strided = StridedRows<T>;
template <typename T>
using Windows = OffsetRows<T>;

// Per instruction set: products of two strided matrices (im2col), of a strided weight and an
// image's windows (implicit forward), and of windows and a strided gradient (weight gradient).
#define KILN_TILE_GEMMS(isa, target, T, bytes, rows)                                           \
    target void gemm_##isa(int64_t m, int64_t n, int64_t k, const Strided<T>& a,             \
                           const Strided<T>& b, T* c, int64_t ldc, bool accumulate) {         \
        tile_gemm<T, Vec<T, bytes>, rows>(m, n, k, a, b, c, ldc, accumulate);                  \
    }                                                                                          \
    target void gemm_windows_b_##isa(int64_t m, int64_t n, int64_t k, const Strided<T>& a,   \
                                     const Windows<T>& b, T* c, int64_t ldc, bool accumulate) { \
        tile_gemm<T, Vec<T, bytes>, rows>(m, n, k, a, b, c, ldc, accumulate);                  \
    }                                                                                          \
    target void gemm_windows_a_##isa(int64_t m, int64_t n, int64_t k, const Windows<T>& a,   \
                                     const Strided<T>& b, T* c, int64_t ldc, bool accumulate) { \
        tile_gemm<T, Vec<T, bytes>, rows>(m, n, k, a, b, c, ldc, accumulate);                  \
    }
#if defined(__x86_64__) && defined(__GNUC__)
// AVX-512 has 32 vector registers: 8 x 2 accumulators; AVX2's 16 fit 6 x 2.
KILN_TILE_GEMMS(f32_avx512, [[gnu::target("arch=x86-64-v4")]], float, 64, 8)
KILN_TILE_GEMMS(f64_avx512, [[gnu::target("arch=x86-64-v4")]], double, 64, 8)
KILN_TILE_GEMMS(f32_avx2, [[gnu::target("arch=x86-64-v3")]], float, 32, 6)
KILN_TILE_GEMMS(f64_avx2, [[gnu::target("arch=x86-64-v3")]], double, 32, 6)
#endif
KILN_TILE_GEMMS(f32_base, , float, 16, 4)
KILN_TILE_GEMMS(f64_base, , double, 16, 4)
#undef KILN_TILE_GEMMS

/// The tile products for this CPU and its lane count (what widths must be multiples of).
template <typename T>
struct Tiles {
    TileGemm<T, Strided<T>, Strided<T>> gemm;
    TileGemm<T, Strided<T>, Windows<T>> gemm_windows_b;
    TileGemm<T, Windows<T>, Strided<T>> gemm_windows_a;
    int64_t lanes;

    static const Tiles& get() {
        static const Tiles tiles = pick();
        return tiles;
    }

private:
    static Tiles pick() {
        constexpr bool f32 = std::is_same_v<T, float>;
        constexpr int64_t per16 = 16 / static_cast<int64_t>(sizeof(T));  // lanes per 16 bytes
#define KILN_TILES(isa, lanes) {gemm_##isa, gemm_windows_b_##isa, gemm_windows_a_##isa, lanes}
        switch (detect_isa()) {
#if defined(__x86_64__) && defined(__GNUC__)
        case Isa::Avx512:
            if constexpr (f32) return KILN_TILES(f32_avx512, 4 * per16);
            else return KILN_TILES(f64_avx512, 4 * per16);
        case Isa::Avx2:
            if constexpr (f32) return KILN_TILES(f32_avx2, 2 * per16);
            else return KILN_TILES(f64_avx2, 2 * per16);
#endif
        default:
            if constexpr (f32) return KILN_TILES(f32_base, per16);
            else return KILN_TILES(f64_base, per16);
        }
#undef KILN_TILES
    }
};

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/// Scratch memory of the calling thread, reused across steps (pool threads live on).
template <typename T>
T* scratch(size_t count) {
    thread_local std::vector<T> memory;
    if (memory.size() < count) memory.resize(count);
    return memory.data();
}

/// For kernel offset (ki, kj): the output columns [lo, hi) whose input column lies inside the
/// image, and the input column of output column 0 (may be negative).
struct ColumnRange {
    int64_t lo, hi, first;
};
ColumnRange column_range(const ConvGeometry& g, int64_t kj) {
    int64_t first = kj * g.dw - g.pw;
    int64_t lo = first >= 0 ? 0 : (-first + g.sw - 1) / g.sw;
    int64_t hi = g.w - first <= 0 ? 0 : std::min(g.wo, (g.w - first + g.sw - 1) / g.sw);
    return {std::min(lo, hi), hi, first};
}

/// Visits every (tap row, output row i, input row pointer or null when outside the image) of
/// one group of one image; `fn(row, i, input_row, columns)`.
template <typename X, typename F>
void for_each_window_row(const ConvGeometry& g, X* x, F fn) {
    int64_t cg = g.group_channels();
    for (int64_t c = 0; c < cg; ++c)
        for (int64_t ki = 0; ki < g.kh; ++ki)
            for (int64_t kj = 0; kj < g.kw; ++kj) {
                int64_t t = (c * g.kh + ki) * g.kw + kj;
                ColumnRange cols = column_range(g, kj);
                for (int64_t i = 0; i < g.ho; ++i) {
                    int64_t ih = i * g.sh - g.ph + ki * g.dh;
                    X* row = ih >= 0 && ih < g.h ? x + (c * g.h + ih) * g.w : nullptr;
                    fn(t, i, row, cols);
                }
            }
}

/// cols[t, p] (row stride ld >= P; columns P..ld zero) = the input under tap t at position p.
template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* cols, int64_t ld) {
    int64_t P = g.positions();
    for_each_window_row(g, x, [&](int64_t t, int64_t i, const T* row, ColumnRange r) {
        // Plain loops, not memcpy/memset: rows are short (a few dozen elements), calls cost more.
        T* out = cols + t * ld + i * g.wo;
        int64_t lo = row ? r.lo : g.wo, hi = row ? r.hi : g.wo;
        for (int64_t j = 0; j < lo; ++j) out[j] = T(0);
        if (row != nullptr && g.sw == 1) {
            const T* in = row + r.first;
            for (int64_t j = lo; j < hi; ++j) out[j] = in[j];
        } else if (row != nullptr) {
            for (int64_t j = lo; j < hi; ++j) out[j] = row[r.first + j * g.sw];
        }
        for (int64_t j = std::max(lo, hi); j < g.wo; ++j) out[j] = T(0);
    });
    if (ld > P)
        for (int64_t t = 0; t < g.taps(); ++t) std::fill(cols + t * ld + P, cols + (t + 1) * ld, T(0));
}

/// dx (one group of one image, already zeroed) += cols[t, p] at the input under tap t.
template <typename T>
void col2im(const ConvGeometry& g, const T* cols, int64_t ld, T* dx) {
    for_each_window_row(g, dx, [&](int64_t t, int64_t i, T* row, ColumnRange r) {
        if (row == nullptr) return;
        const T* in = cols + t * ld + i * g.wo;
        for (int64_t j = r.lo; j < r.hi; ++j) row[r.first + j * g.sw] += in[j];
    });
}

/// Stride-1 convolutions multiply with the image itself (implicit GEMM): one group of one image
/// is copied into a zero-padded [cg, hp, wp] block, and output positions are numbered over the
/// padded width (q = i * wp + j, the last wp - wo of each row are computed and dropped). Then
/// the input under tap (c, ki, kj) at position q is padded[offset(tap) + q]: each tap's window
/// row is a contiguous run of the block, read in place by the tiles (OffsetRows). This does
/// kh*kw times less copying than im2col for a few more columns (16 vs 14 for 14x14, padding 1).
struct PaddedImage {
    int64_t hp = 0, wp = 0;
    int64_t positions = 0;         ///< ho * wp: output positions over the padded width
    int64_t size = 0;              ///< elements of the block, with the zero tail the tiles read
    std::vector<int64_t> offsets;  ///< per tap: where its window row starts in the block
};

PaddedImage padded_image(const ConvGeometry& g, int64_t lanes) {
    PaddedImage p;
    p.hp = g.h + 2 * g.ph;
    p.wp = g.w + 2 * g.pw;
    p.positions = g.ho * p.wp;
    int64_t cg = g.group_channels();
    for (int64_t c = 0; c < cg; ++c)
        for (int64_t ki = 0; ki < g.kh; ++ki)
            for (int64_t kj = 0; kj < g.kw; ++kj)
                p.offsets.push_back((c * p.hp + ki * g.dh) * p.wp + kj * g.dw);
    // The last tap's run ends at cg*hp*wp + (kw-1)*dw (ho = hp - dh*(kh-1)); a product's width
    // is rounded up to the lanes, so its last tile reads up to that many columns further.
    p.size = cg * p.hp * p.wp + (g.kw - 1) * g.dw + round_up(p.positions, lanes) - p.positions;
    return p;
}

/// Copies one group of one image [cg, h, w] into the zero-padded block.
template <typename T>
void pad_image(const ConvGeometry& g, const PaddedImage& p, const T* x, T* block) {
    std::fill(block, block + p.size, T(0));
    // Plain loops, not memcpy: rows are short (a few dozen elements), calls cost more.
    for (int64_t c = 0; c < g.group_channels(); ++c)
        for (int64_t r = 0; r < g.h; ++r) {
            T* out = block + (c * p.hp + r + g.ph) * p.wp + g.pw;
            const T* in = x + (c * g.h + r) * g.w;
            for (int64_t j = 0; j < g.w; ++j) out[j] = in[j];
        }
}

/// Runs fn(image) for every image, in parallel.
template <typename F>
void for_each_image(int64_t images, F fn) {
    ThreadPool::global().parallel_for(images, 1, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) fn(b);
    });
}

template <typename T>
void forward_im2col(const ConvGeometry& g, const T* x, const T* w, T* y) {
    const Tiles<T>& tiles = Tiles<T>::get();
    int64_t P = g.positions(), taps = g.taps(), og = g.group_outputs(), cg = g.group_channels();
    int64_t ld = round_up(P, tiles.lanes);
    for_each_image(g.n, [&](int64_t b) {
        T* cols = scratch<T>(static_cast<size_t>(taps * ld + og * ld));
        T* product = cols + taps * ld;
        for (int64_t gr = 0; gr < g.groups; ++gr) {
            T* out = y + (b * g.o + gr * og) * P;
            const T* wg = w + gr * og * taps;
            if (taps == 0) {
                std::fill(out, out + og * P, T(0));
                continue;
            }
            im2col(g, x + (b * g.c + gr * cg) * g.h * g.w, cols, ld);
            bool direct = ld == P;  // no padding columns: write the output in place
            tiles.gemm(og, ld, taps, {wg, taps}, {cols, ld}, direct ? out : product, ld, false);
            if (!direct)
                for (int64_t o = 0; o < og; ++o)
                    std::memcpy(out + o * P, product + o * ld, static_cast<size_t>(P) * sizeof(T));
        }
    });
}

template <typename T>
void input_grad_im2col(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
    const Tiles<T>& tiles = Tiles<T>::get();
    int64_t P = g.positions(), taps = g.taps(), og = g.group_outputs(), cg = g.group_channels();
    int64_t ld = round_up(P, tiles.lanes);
    // w^T per group, [taps, og]: the left operand of the products.
    std::vector<T> wt(static_cast<size_t>(g.groups * taps * og));
    for (int64_t gr = 0; gr < g.groups; ++gr)
        for (int64_t o = 0; o < og; ++o)
            for (int64_t t = 0; t < taps; ++t)
                wt[static_cast<size_t>((gr * taps + t) * og + o)] = w[(gr * og + o) * taps + t];
    for_each_image(g.n, [&](int64_t b) {
        T* image = dx + b * g.c * g.h * g.w;
        std::fill(image, image + g.c * g.h * g.w, T(0));
        if (og == 0 || P == 0) return;
        T* cols = scratch<T>(static_cast<size_t>(taps * ld + og * ld));
        T* padded = cols + taps * ld;
        for (int64_t gr = 0; gr < g.groups; ++gr) {
            const T* dyg = dy + (b * g.o + gr * og) * P;
            if (ld != P) {
                for (int64_t o = 0; o < og; ++o) {
                    std::memcpy(padded + o * ld, dyg + o * P, static_cast<size_t>(P) * sizeof(T));
                    std::fill(padded + o * ld + P, padded + (o + 1) * ld, T(0));
                }
                dyg = padded;
            }
            tiles.gemm(taps, ld, og, {wt.data() + gr * taps * og, og}, {dyg, ld}, cols, ld, false);
            col2im(g, cols, ld, image + gr * cg * g.h * g.w);
        }
    });
}

/// Sums each image's contribution `add(image, sum)` to dw^T [groups, taps, ldo] in pieces of
/// consecutive images (one per thread), then the pieces in a fixed order into dw: the same
/// result on every run.
template <typename T, typename Add>
void sum_weight_grad(const ConvGeometry& g, int64_t ldo, T* dw, Add add) {
    int64_t taps = g.taps(), og = g.group_outputs();
    int64_t pieces = std::max<int64_t>(1, std::min<int64_t>(g.n, ThreadPool::global().num_threads()));
    size_t piece_size = static_cast<size_t>(g.groups * taps * ldo);
    std::vector<T> partial(static_cast<size_t>(pieces) * piece_size, T(0));
    if (g.positions() > 0 && og > 0 && taps > 0)
        ThreadPool::global().parallel_for(pieces, 1, [&](int64_t first, int64_t last) {
            for (int64_t piece = first; piece < last; ++piece)
                for (int64_t b = piece * g.n / pieces; b < (piece + 1) * g.n / pieces; ++b)
                    add(b, partial.data() + static_cast<size_t>(piece) * piece_size);
        });
    for (int64_t gr = 0; gr < g.groups; ++gr)
        for (int64_t o = 0; o < og; ++o)
            for (int64_t t = 0; t < taps; ++t) {
                T s = 0;
                for (int64_t piece = 0; piece < pieces; ++piece)
                    s += partial[static_cast<size_t>(piece) * piece_size +
                                 static_cast<size_t>((gr * taps + t) * ldo + o)];
                dw[(gr * og + o) * taps + t] = s;
            }
}

template <typename T>
void weight_grad_im2col(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
    const Tiles<T>& tiles = Tiles<T>::get();
    int64_t P = g.positions(), taps = g.taps(), og = g.group_outputs(), cg = g.group_channels();
    int64_t ldo = round_up(og, tiles.lanes);
    sum_weight_grad(g, ldo, dw, [&](int64_t b, T* sum) {
        T* cols = scratch<T>(static_cast<size_t>(taps * P + P * ldo));
        T* dyt = cols + taps * P;
        for (int64_t gr = 0; gr < g.groups; ++gr) {
            im2col(g, x + (b * g.c + gr * cg) * g.h * g.w, cols, P);
            const T* dyg = dy + (b * g.o + gr * og) * P;
            for (int64_t p = 0; p < P; ++p) {
                for (int64_t o = 0; o < og; ++o) dyt[p * ldo + o] = dyg[o * P + p];
                std::fill(dyt + p * ldo + og, dyt + (p + 1) * ldo, T(0));
            }
            tiles.gemm(taps, ldo, P, {cols, P}, {dyt, ldo}, sum + gr * taps * ldo, ldo, true);
        }
    });
}

template <typename T>
void forward_windows(const ConvGeometry& g, const T* x, const T* w, T* y) {
    const Tiles<T>& tiles = Tiles<T>::get();
    int64_t P = g.positions(), taps = g.taps(), og = g.group_outputs(), cg = g.group_channels();
    PaddedImage pad = padded_image(g, tiles.lanes);
    int64_t ld = round_up(pad.positions, tiles.lanes);
    for_each_image(g.n, [&](int64_t b) {
        T* block = scratch<T>(static_cast<size_t>(pad.size + og * ld));
        T* product = block + pad.size;
        for (int64_t gr = 0; gr < g.groups; ++gr) {
            T* out = y + (b * g.o + gr * og) * P;
            pad_image(g, pad, x + (b * g.c + gr * cg) * g.h * g.w, block);
            tiles.gemm_windows_b(og, ld, taps, {w + gr * og * taps, taps},
                                 {block, pad.offsets.data()}, product, ld, false);
            for (int64_t o = 0; o < og; ++o)
                for (int64_t i = 0; i < g.ho; ++i) {
                    T* row = out + (o * g.ho + i) * g.wo;
                    const T* in = product + o * ld + i * pad.wp;
                    for (int64_t j = 0; j < g.wo; ++j) row[j] = in[j];
                }
        }
    });
}

/// The input gradient of a stride-1 conv is a stride-1 conv of dy with the kernel flipped and
/// its channel axes swapped, padded by dh*(kh-1) - ph: when that padding is not negative.
bool input_grad_is_conv(const ConvGeometry& g) {
    return g.sh == 1 && g.sw == 1 && g.dh * (g.kh - 1) >= g.ph && g.dw * (g.kw - 1) >= g.pw;
}

template <typename T>
void input_grad_windows(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
    ConvGeometry t = g;
    t.c = g.o;
    t.h = g.ho;
    t.w = g.wo;
    t.o = g.c;
    t.ho = g.h;
    t.wo = g.w;
    t.ph = g.dh * (g.kh - 1) - g.ph;
    t.pw = g.dw * (g.kw - 1) - g.pw;
    int64_t og = g.group_outputs(), cg = g.group_channels(), kk = g.kh * g.kw;
    // flipped[gr*cg + c, o, ki, kj] = w[gr*og + o, c, kh-1-ki, kw-1-kj]
    std::vector<T> flipped(static_cast<size_t>(g.c * og * kk));
    for (int64_t gr = 0; gr < g.groups; ++gr)
        for (int64_t o = 0; o < og; ++o)
            for (int64_t c = 0; c < cg; ++c)
                for (int64_t k = 0; k < kk; ++k)
                    flipped[static_cast<size_t>(((gr * cg + c) * og + o) * kk + (kk - 1 - k))] =
                        w[((gr * og + o) * cg + c) * kk + k];
    forward_windows(t, dy, flipped.data(), dx);
}

template <typename T>
void weight_grad_windows(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
    const Tiles<T>& tiles = Tiles<T>::get();
    int64_t P = g.positions(), taps = g.taps(), og = g.group_outputs(), cg = g.group_channels();
    int64_t ldo = round_up(og, tiles.lanes);
    PaddedImage pad = padded_image(g, tiles.lanes);
    int64_t N = pad.positions;
    sum_weight_grad(g, ldo, dw, [&](int64_t b, T* sum) {
        T* block = scratch<T>(static_cast<size_t>(pad.size + N * ldo));
        T* dyt = block + pad.size;  // dy^T over the padded positions, zero in dropped columns
        for (int64_t gr = 0; gr < g.groups; ++gr) {
            pad_image(g, pad, x + (b * g.c + gr * cg) * g.h * g.w, block);
            const T* dyg = dy + (b * g.o + gr * og) * P;
            // Row by row of dy^T: the og reads of a row are og cache lines that stay in L1.
            for (int64_t i = 0; i < g.ho; ++i)
                for (int64_t j = 0; j < pad.wp; ++j) {
                    T* row = dyt + (i * pad.wp + j) * ldo;
                    const T* in = dyg + i * g.wo + j;
                    int64_t valid = j < g.wo ? og : 0;
                    for (int64_t o = 0; o < valid; ++o) row[o] = in[o * P];
                    for (int64_t o = valid; o < ldo; ++o) row[o] = T(0);
                }
            tiles.gemm_windows_a(taps, ldo, N, {block, pad.offsets.data()}, {dyt, ldo},
                                 sum + gr * taps * ldo, ldo, true);
        }
    });
}

template <typename T>
void forward(const ConvGeometry& g, const T* x, const T* w, T* y) {
    if (g.sh == 1 && g.sw == 1) forward_windows(g, x, w, y);
    else forward_im2col(g, x, w, y);
}

template <typename T>
void input_grad(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
    if (input_grad_is_conv(g)) input_grad_windows(g, dy, w, dx);
    else input_grad_im2col(g, dy, w, dx);
}

template <typename T>
void weight_grad(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
    if (g.sh == 1 && g.sw == 1) weight_grad_windows(g, x, dy, dw);
    else weight_grad_im2col(g, x, dy, dw);
}

template <typename T>
void run(const ir::ConvStep& st, void* x, void* w, void* y) {
    const ConvGeometry& g = st.geometry;
    switch (st.pass) {
    case ir::ConvPass::Forward:
        forward(g, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y));
        break;
    case ir::ConvPass::InputGrad:
        input_grad(g, static_cast<const T*>(y), static_cast<const T*>(w), static_cast<T*>(x));
        break;
    case ir::ConvPass::WeightGrad:
        weight_grad(g, static_cast<const T*>(x), static_cast<const T*>(y), static_cast<T*>(w));
        break;
    }
}

}  // namespace

void run_conv_step(const ir::ConvStep& step, void* x, void* w, void* y) {
    if (step.dtype == DType::Float32) return run<float>(step, x, w, y);
    KILN_CHECK(step.dtype == DType::Float64,
               std::string("conv step on ") + dtype_name(step.dtype) + " (f32, f64 only)");
    run<double>(step, x, w, y);
}

}  // namespace kiln::runtime
