#include "runtime/blas.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <type_traits>

#include "kiln/error.h"
#include "runtime/gemm_tile.h"
#include "runtime/thread_pool.h"

// OpenBLAS is loaded with dlopen, never linked: the library builds and runs without it, and we
// get to choose its core type before it initializes (it reads OPENBLAS_CORETYPE when loaded).

namespace kiln::runtime {

namespace {

// CBLAS enum values (cblas.h), spelled out so no BLAS header is needed.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                         int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*,
                         int, double, double*, int);
using SgemvFn = void (*)(int, int, int, int, float, const float*, int, const float*, int, float,
                         float*, int);
using DgemvFn = void (*)(int, int, int, int, double, const double*, int, const double*, int,
                         double, double*, int);
using SetThreadsFn = void (*)(int);
using GetStringFn = char* (*)();

struct Blas {
    SgemmFn sgemm = nullptr;
    DgemmFn dgemm = nullptr;
    SgemvFn sgemv = nullptr;  ///< optional: single-row products (column sums) run at bandwidth
    DgemvFn dgemv = nullptr;
    std::string name = "portable loops";
};

// Debian's OpenBLAS 0.3.21 does not know recent CPUs and falls back to SSE3 kernels (5-6x
// slower). Choosing the newest kernel family the CPU supports is safe: it only uses instructions
// cpuid reports (and __builtin_cpu_supports also checks that the OS saves the AVX state).
const char* detect_core_type() {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16")) return "Cooperlake";
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return nullptr;
}

std::string describe(void* lib, int threads) {
    std::string version = "OpenBLAS";
    if (auto get_config = reinterpret_cast<GetStringFn>(dlsym(lib, "openblas_get_config"))) {
        // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64": keep name+version.
        std::istringstream words(get_config());
        std::string first, second;
        words >> first >> second;
        if (!first.empty()) version = first + (second.empty() ? "" : " " + second);
    }
    std::string core;
    if (auto get_core = reinterpret_cast<GetStringFn>(dlsym(lib, "openblas_get_corename")))
        core = get_core();
    std::string out = version + " (";
    if (!core.empty()) out += "core " + core + ", ";
    out += std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
    return out;
}

Blas load_blas() {
    Blas blas;
    // Respect a user's choice; only fill in the core type when it is unset.
    if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
        if (const char* core = detect_core_type()) setenv("OPENBLAS_CORETYPE", core, 0);
    }
    // OpenBLAS starts its threads when loaded: give them Kiln's CPUs, not a pinned caller's.
    void* lib = nullptr;
    {
        ThreadPool::CpuScope cpus;
        lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    }
    if (lib == nullptr) {
        blas.name = "portable loops (libopenblas.so.0 not found)";
        return blas;
    }
    auto sgemm = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
    auto dgemm = reinterpret_cast<DgemmFn>(dlsym(lib, "cblas_dgemm"));
    if (sgemm == nullptr || dgemm == nullptr) {
        blas.name = "portable loops (libopenblas.so.0 lacks cblas_sgemm/cblas_dgemm)";
        return blas;  // the handle stays open: harmless, and dlclose of OpenBLAS is fragile
    }
    int threads = ThreadPool::global().num_threads();
    if (auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(lib, "openblas_set_num_threads")))
        set_threads(threads);
    blas.sgemm = sgemm;
    blas.dgemm = dgemm;
    blas.sgemv = reinterpret_cast<SgemvFn>(dlsym(lib, "cblas_sgemv"));
    blas.dgemv = reinterpret_cast<DgemvFn>(dlsym(lib, "cblas_dgemv"));
    blas.name = describe(lib, threads);
    return blas;
}

const Blas& blas() {
    static const Blas loaded = load_blas();
    return loaded;
}

// ---- portable fallback: register-tiled, cache-blocked, parallel over row blocks.
// A micro-kernel keeps an R x (C vectors) tile of C in registers across a block of k, reading
// B rows (contiguous) as vectors and broadcasting A. The library is built without -march, so the
// row driver is compiled three times (AVX-512, AVX2+FMA, baseline SSE2) and picked once by cpuid.

constexpr int64_t kMBlock = 96;   // rows of A per block (~96 KiB of f32 A per k block: L2)
constexpr int64_t kKBlock = 256;  // a B panel of kKBlock x tile width stays in L1
constexpr int64_t kNBlock = 1024;

// Rows [row_begin, row_end) of one product c[m, n] = a[m, k] @ b[k, n] (k > 0).
template <typename T, typename V, int R, int C>
[[gnu::always_inline]] inline void gemm_rows(int64_t row_begin, int64_t row_end, int64_t n,
                                             int64_t k, const T* a, const T* b, T* c) {
    constexpr int64_t W = static_cast<int64_t>(sizeof(V) / sizeof(T)) * C;
    for (int64_t i0 = row_begin; i0 < row_end; i0 += kMBlock) {
        int64_t i1 = std::min(row_end, i0 + kMBlock);
        for (int64_t j0 = 0; j0 < n; j0 += kNBlock) {
            int64_t j1 = std::min(n, j0 + kNBlock);
            for (int64_t p0 = 0; p0 < k; p0 += kKBlock) {
                int64_t kb = std::min(k, p0 + kKBlock) - p0;
                bool accumulate = p0 > 0;
                for (int64_t j = j0; j < j1; j += W) {
                    int64_t cols = std::min(W, j1 - j);
                    for (int64_t i = i0; i < i1; i += R) {
                        int64_t rows = std::min<int64_t>(R, i1 - i);
                        const T* ap = a + i * k + p0;
                        const T* bp = b + p0 * n + j;
                        T* cp = c + i * n + j;
                        if (rows == R && cols == W)
                            micro_tile<T, V, R, C>(kb, ap, k, bp, n, cp, n, accumulate);
                        else
                            edge_tile<T>(rows, cols, kb, ap, k, bp, n, cp, n, accumulate);
                    }
                }
            }
        }
    }
}

template <typename T>
using RowsFn = void (*)(int64_t, int64_t, int64_t, int64_t, const T*, const T*, T*);

#if defined(__x86_64__) && defined(__GNUC__)
[[gnu::target("arch=x86-64-v4")]] void rows_f32_avx512(int64_t r0, int64_t r1, int64_t n,
                                                        int64_t k, const float* a, const float* b,
                                                        float* c) {
    gemm_rows<float, Vec<float, 64>, 6, 2>(r0, r1, n, k, a, b, c);
}
[[gnu::target("arch=x86-64-v4")]] void rows_f64_avx512(int64_t r0, int64_t r1, int64_t n,
                                                        int64_t k, const double* a,
                                                        const double* b, double* c) {
    gemm_rows<double, Vec<double, 64>, 6, 2>(r0, r1, n, k, a, b, c);
}
[[gnu::target("arch=x86-64-v3")]] void rows_f32_avx2(int64_t r0, int64_t r1, int64_t n,
                                                      int64_t k, const float* a, const float* b,
                                                      float* c) {
    gemm_rows<float, Vec<float, 32>, 6, 2>(r0, r1, n, k, a, b, c);
}
[[gnu::target("arch=x86-64-v3")]] void rows_f64_avx2(int64_t r0, int64_t r1, int64_t n,
                                                      int64_t k, const double* a, const double* b,
                                                      double* c) {
    gemm_rows<double, Vec<double, 32>, 6, 2>(r0, r1, n, k, a, b, c);
}
#endif
void rows_f32_base(int64_t r0, int64_t r1, int64_t n, int64_t k, const float* a, const float* b,
                   float* c) {
    gemm_rows<float, Vec<float, 16>, 4, 2>(r0, r1, n, k, a, b, c);
}
void rows_f64_base(int64_t r0, int64_t r1, int64_t n, int64_t k, const double* a,
                   const double* b, double* c) {
    gemm_rows<double, Vec<double, 16>, 4, 2>(r0, r1, n, k, a, b, c);
}

template <typename T>
RowsFn<T> rows_kernel() {
    static const Isa isa = detect_isa();
    if constexpr (std::is_same_v<T, float>) {
#if defined(__x86_64__) && defined(__GNUC__)
        if (isa == Isa::Avx512) return rows_f32_avx512;
        if (isa == Isa::Avx2) return rows_f32_avx2;
#endif
        return rows_f32_base;
    } else {
#if defined(__x86_64__) && defined(__GNUC__)
        if (isa == Isa::Avx512) return rows_f64_avx512;
        if (isa == Isa::Avx2) return rows_f64_avx2;
#endif
        return rows_f64_base;
    }
}

template <typename T>
void gemm_portable(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    if (k <= 0) {
        std::memset(c, 0, static_cast<size_t>(batch * m * n) * sizeof(T));
        return;
    }
    RowsFn<T> rows = rows_kernel<T>();
    // Parallel over (matrix, block of rows) items, so a batch of small products splits too. A
    // chunk should carry at least ~1 MFLOP to be worth a thread.
    constexpr int64_t kRowsPerItem = 24;
    int64_t items_per_matrix = (m + kRowsPerItem - 1) / kRowsPerItem;
    int64_t flops_per_item = 2 * kRowsPerItem * n * k;
    int64_t min_chunk = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(1, flops_per_item));
    ThreadPool::global().parallel_for(
        batch * items_per_matrix, min_chunk, [&](int64_t begin, int64_t end) {
            for (int64_t item = begin; item < end;) {
                int64_t mat = item / items_per_matrix;
                int64_t first = item % items_per_matrix;
                int64_t last = std::min(end - mat * items_per_matrix, items_per_matrix);
                int64_t r0 = first * kRowsPerItem, r1 = std::min(m, last * kRowsPerItem);
                rows(r0, r1, n, k, a + mat * m * k, b + mat * k * n, c + mat * m * n);
                item = mat * items_per_matrix + last;
            }
        });
}

constexpr int64_t kBlasSingleThreadVolume = 64 * 64 * 64;

template <typename T, typename Fn, typename Gemv>
void gemm_blas(Fn fn, Gemv gemv, int64_t batch, int64_t m, int64_t n, int64_t k, const T* a,
               const T* b, T* c, Transposes t) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    if (k <= 0) {  // BLAS would leave c alone with beta = 0 and k = 0 on some versions: be sure
        std::memset(c, 0, static_cast<size_t>(batch * m * n) * sizeof(T));
        return;
    }
    constexpr int64_t kIntMax = 0x7fffffff;
    KILN_CHECK(m <= kIntMax && n <= kIntMax && k <= kIntMax,
               "gemm: sizes exceed the BLAS int range: m=" + std::to_string(m) +
                   " n=" + std::to_string(n) + " k=" + std::to_string(k));
    if (m == 1 && batch == 1 && gemv != nullptr) {
        // c[n] = b^T a: OpenBLAS's gemm with one row runs far below its gemv (a column sum).
        // b is [k, n] (or [n, k] when transposed); a's k values are contiguous either way.
        gemv(kRowMajor, t.b ? kNoTrans : kTrans, static_cast<int>(t.b ? n : k),
             static_cast<int>(t.b ? k : n), T(1), b, static_cast<int>(t.b ? k : n), a, 1, T(0), c,
             1);
        return;
    }
    auto one = [&](int64_t i) {
        fn(kRowMajor, t.a ? kTrans : kNoTrans, t.b ? kTrans : kNoTrans, static_cast<int>(m),
           static_cast<int>(n), static_cast<int>(k), T(1), a + i * m * k,
           static_cast<int>(t.a ? m : k), b + i * k * n, static_cast<int>(t.b ? k : n), T(0),
           c + i * m * n, static_cast<int>(n));
    };
    // OpenBLAS runs a product below m*n*k = 64^3 on the calling thread only (its
    // GEMM_MULTITHREAD_THRESHOLD), so a batch of such products would use one core: spread the
    // batch over the pool instead. Larger products are threaded inside OpenBLAS.
    if (batch > 1 && m * n * k < kBlasSingleThreadVolume) {
        int64_t flops = 2 * m * n * k;
        int64_t min_chunk = std::max<int64_t>(1, (int64_t{1} << 20) / flops);
        ThreadPool::global().parallel_for(batch, min_chunk, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) one(i);
        });
        return;
    }
    for (int64_t i = 0; i < batch; ++i) one(i);
}

}  // namespace

/// The portable loops read plain layouts: transposed operands are copied first.
template <typename T>
void gemm_portable_transposed(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a,
                              const T* b, T* c, Transposes t) {
    auto plain = [&](const T* x, int64_t rows, int64_t cols, std::vector<T>& copy) {
        // x holds `batch` matrices [cols, rows]; copy them as [rows, cols].
        copy.resize(static_cast<size_t>(batch * rows * cols));
        for (int64_t i = 0; i < batch; ++i)
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t q = 0; q < cols; ++q)
                    copy[static_cast<size_t>((i * rows + r) * cols + q)] = x[(i * cols + q) * rows + r];
        return copy.data();
    };
    std::vector<T> ca, cb;
    gemm_portable(batch, m, n, k, t.a ? plain(a, m, k, ca) : a, t.b ? plain(b, k, n, cb) : b, c);
}

void gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
              float* c, Transposes t) {
    const Blas& lib = blas();
    if (lib.sgemm != nullptr)
        gemm_blas(lib.sgemm, lib.sgemv, batch, m, n, k, a, b, c, t);
    else
        gemm_portable_transposed(batch, m, n, k, a, b, c, t);
}

void gemm_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double* a, const double* b,
              double* c, Transposes t) {
    const Blas& lib = blas();
    if (lib.dgemm != nullptr)
        gemm_blas(lib.dgemm, lib.dgemv, batch, m, n, k, a, b, c, t);
    else
        gemm_portable_transposed(batch, m, n, k, a, b, c, t);
}

void gemm_portable_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float* a,
                       const float* b, float* c) {
    gemm_portable(batch, m, n, k, a, b, c);
}

void gemm_portable_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double* a,
                       const double* b, double* c) {
    gemm_portable(batch, m, n, k, a, b, c);
}

std::string blas_backend_name() { return blas().name; }

}  // namespace kiln::runtime
