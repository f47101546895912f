#pragma once
/// Matrix multiply for the `matmul` extern op. Uses OpenBLAS loaded at run time (with its core
/// type chosen for this CPU when the user has not set OPENBLAS_CORETYPE, since Debian's 0.3.21
/// misdetects recent Intel CPUs), and falls back to a portable blocked loop without it.
#include <cstdint>
#include <string>

namespace kiln::runtime {

/// Which operands are stored transposed: a as [k,m] (so a[b] is its transpose), b as [n,k].
struct Transposes {
    bool a = false, b = false;
};

/// c[b] = a[b] @ b[b] for b in [0, batch): a [m,k], b [k,n], c [m,n], all row-major contiguous
/// (or stored transposed, as `t` says: BLAS reads them in place, no copy). Any size may be 0
/// (k == 0 zero-fills c). The first call loads OpenBLAS (libopenblas.so.0), setting
/// OPENBLAS_CORETYPE from cpuid when unset, and sizes its threads to the thread pool.
void gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
              float* c, Transposes t = {});
void gemm_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double* a, const double* b,
              double* c, Transposes t = {});
/// The portable fallback gemm_f32/gemm_f64 use when OpenBLAS cannot be loaded (same contract),
/// exposed for tests and benchmarks. Runs on ThreadPool::global().
void gemm_portable_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float* a,
                       const float* b, float* c);
void gemm_portable_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double* a,
                       const double* b, double* c);
/// What gemm runs on, e.g. "OpenBLAS 0.3.21 (core SkylakeX, 2 threads)" or "portable loops".
std::string blas_backend_name();

}  // namespace kiln::runtime
