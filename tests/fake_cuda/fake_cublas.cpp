// A fake cuBLAS (libkiln_fake_cublas.so): the v2 GEMMs Kiln calls, column-major as cuBLAS
// defines them (C = alpha op(A) op(B) + beta C; beta == 0 means C is not read), computed with
// double accumulation on the fake driver's host-memory "device" pointers. Arguments are checked as
// cuBLAS checks them (CUBLAS_STATUS_INVALID_VALUE); the matrices must lie in live fake-device
// allocations and the stream must be live (a real GPU would fault on a host pointer), else
// CUBLAS_STATUS_EXECUTION_FAILED with a message. CUBLAS_TF32_TENSOR_OP_MATH rounds single-precision
// inputs to TF32 (10 mantissa bits), as tensor cores do.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "fake_cuda_hooks.h"

#define KILN_FAKE_API extern "C" __attribute__((visibility("default")))

namespace {

using cublasStatus_t = int;

enum : cublasStatus_t {
    kSuccess = 0,
    kNotInitialized = 1,
    kInvalidValue = 7,
    kExecutionFailed = 13,
};

constexpr int kTf32Math = 3;          // CUBLAS_TF32_TENSOR_OP_MATH
constexpr int kDisallowReduced = 16;  // CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION

struct Handle {
    void* stream = nullptr;
    int math_mode = 0;
};

std::mutex g_mutex;
std::set<Handle*> g_handles;
std::atomic<long long> g_calls{0};

Handle* live(void* h) {
    std::lock_guard<std::mutex> lock(g_mutex);
    return h && g_handles.count(static_cast<Handle*>(h)) ? static_cast<Handle*>(h) : nullptr;
}

/// The value as a TF32 tensor core reads it: round to nearest even on the low 13 mantissa bits.
float tf32(float x) {
    if (!std::isfinite(x)) return x;
    uint32_t u;
    std::memcpy(&u, &x, 4);
    u += 0xfffu + ((u >> 13) & 1u);
    u &= ~0x1fffu;
    std::memcpy(&x, &u, 4);
    return x;
}

/// A matrix argument: element (r, c) of op(X) for column-major storage with leading dimension ld.
template <class T>
struct Operand {
    const T* data;
    int ld;
    bool trans;
    double at(long long r, long long c, bool round) const {
        T v = trans ? data[c + r * static_cast<long long>(ld)]
                    : data[r + c * static_cast<long long>(ld)];
        if constexpr (sizeof(T) == 4) return round ? tf32(v) : v;
        return v;
    }
};

/// True when `rows` x `cols` column-major storage at `p` lies in one device allocation.
template <class T>
bool on_device(const T* p, long long rows, long long cols, int ld) {
    if (rows == 0 || cols == 0) return true;
    unsigned long long elements = static_cast<unsigned long long>((cols - 1) * ld + rows);
    return kiln_fake_cuda_device_range(p, elements * sizeof(T)) == 1;
}

bool valid_op(int op) { return op >= 0 && op <= 2; }  // N, T, C (C is T for real types)

template <class T>
cublasStatus_t gemm(void* handle, int transa, int transb, int m, int n, int k, const T* alpha,
                    const T* a, int lda, long long stride_a, const T* b, int ldb,
                    long long stride_b, const T* beta, T* c, int ldc, long long stride_c, int batch,
                    const char* name) {
    Handle* h = live(handle);
    if (!h) return kNotInitialized;
    bool ta = transa != 0, tb = transb != 0;
    if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 || k < 0 || batch < 0 ||
        lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
        return kInvalidValue;
    if (m == 0 || n == 0 || batch == 0) {
        ++g_calls;
        return kSuccess;
    }
    if (!alpha || !beta) return kInvalidValue;
    if (!kiln_fake_cuda_stream_live(h->stream)) {
        std::fprintf(stderr, "kiln fake cuBLAS: %s on a destroyed stream\n", name);
        return kExecutionFailed;
    }
    const bool use_ab = *alpha != T(0) && k > 0;
    for (int i = 0; i < batch; ++i) {
        const T* ai = a + i * stride_a;
        const T* bi = b + i * stride_b;
        T* ci = c + i * stride_c;
        bool ok =
            on_device(ci, m, n, ldc) && (!use_ab || (on_device(ai, ta ? k : m, ta ? m : k, lda) &&
                                                     on_device(bi, tb ? n : k, tb ? k : n, ldb)));
        if (!ok) {
            std::fprintf(stderr,
                         "kiln fake cuBLAS: %s (batch %d of %d): A, B or C is not inside a live "
                         "device allocation (an illegal address on a GPU)\n",
                         name, i, batch);
            return kExecutionFailed;
        }
    }
    const bool round = sizeof(T) == 4 && (h->math_mode & ~kDisallowReduced) == kTf32Math;
    const double al = *alpha, be = *beta;
    for (int i = 0; i < batch; ++i) {
        Operand<T> A{a + i * stride_a, lda, ta}, B{b + i * stride_b, ldb, tb};
        T* C = c + i * stride_c;
        for (long long col = 0; col < n; ++col)
            for (long long row = 0; row < m; ++row) {
                double sum = 0;
                if (use_ab)
                    for (long long l = 0; l < k; ++l)
                        sum += A.at(row, l, round) * B.at(l, col, round);
                T& out = C[row + col * static_cast<long long>(ldc)];
                double v = use_ab ? al * sum : 0.0;
                if (be != 0) v += be * static_cast<double>(out);
                out = static_cast<T>(v);
            }
    }
    ++g_calls;
    return kSuccess;
}

}  // namespace

using cublasHandle_t = void*;

KILN_FAKE_API cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
    if (!handle) return kInvalidValue;
    auto* h = new Handle;
    std::lock_guard<std::mutex> lock(g_mutex);
    g_handles.insert(h);
    *handle = h;
    return kSuccess;
}

KILN_FAKE_API cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto* h = static_cast<Handle*>(handle);
    if (!h || !g_handles.erase(h)) return kNotInitialized;
    delete h;
    return kSuccess;
}

KILN_FAKE_API cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, void* stream) {
    Handle* h = live(handle);
    if (!h) return kNotInitialized;
    if (!kiln_fake_cuda_stream_live(stream)) return kInvalidValue;
    h->stream = stream;
    return kSuccess;
}

/// Modes: CUBLAS_DEFAULT_MATH (0), TENSOR_OP (1), PEDANTIC (2), TF32_TENSOR_OP (3), optionally
/// with DISALLOW_REDUCED_PRECISION_REDUCTION (16).
KILN_FAKE_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, int mode) {
    Handle* h = live(handle);
    if (!h) return kNotInitialized;
    if ((mode & ~kDisallowReduced) < 0 || (mode & ~kDisallowReduced) > 3) return kInvalidValue;
    h->math_mode = mode;
    return kSuccess;
}

KILN_FAKE_API cublasStatus_t cublasGetMathMode(cublasHandle_t handle, int* mode) {
    Handle* h = live(handle);
    if (!h) return kNotInitialized;
    if (!mode) return kInvalidValue;
    *mode = h->math_mode;
    return kSuccess;
}

KILN_FAKE_API const char* cublasGetStatusString(cublasStatus_t status) {
    switch (status) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

KILN_FAKE_API cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m,
                                            int n, int k, const float* alpha, const float* a,
                                            int lda, const float* b, int ldb, const float* beta,
                                            float* c, int ldc) {
    return gemm(handle, transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1,
                "cublasSgemm_v2");
}

KILN_FAKE_API cublasStatus_t cublasDgemm_v2(cublasHandle_t handle, int transa, int transb, int m,
                                            int n, int k, const double* alpha, const double* a,
                                            int lda, const double* b, int ldb, const double* beta,
                                            double* c, int ldc) {
    return gemm(handle, transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1,
                "cublasDgemm_v2");
}

KILN_FAKE_API cublasStatus_t cublasSgemmStridedBatched(
    cublasHandle_t handle, int transa, int transb, int m, int n, int k, const float* alpha,
    const float* a, int lda, long long stride_a, const float* b, int ldb, long long stride_b,
    const float* beta, float* c, int ldc, long long stride_c, int batch) {
    return gemm(handle, transa, transb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c,
                ldc, stride_c, batch, "cublasSgemmStridedBatched");
}

KILN_FAKE_API cublasStatus_t cublasDgemmStridedBatched(
    cublasHandle_t handle, int transa, int transb, int m, int n, int k, const double* alpha,
    const double* a, int lda, long long stride_a, const double* b, int ldb, long long stride_b,
    const double* beta, double* c, int ldc, long long stride_c, int batch) {
    return gemm(handle, transa, transb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c,
                ldc, stride_c, batch, "cublasDgemmStridedBatched");
}

KILN_FAKE_API long long kiln_fake_cublas_calls() { return g_calls.load(); }
