// cuBLAS through dlopen. The entry points are declared here with cuBLAS's C ABI (statuses and
// enums are ints, the handle an opaque pointer), so the build needs no CUDA header.
#include "runtime/cuda/cublas.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "kiln/error.h"
#include "runtime/cuda/device.h"
#include "support/shared_library.h"

namespace kiln::runtime {
namespace {

using cublasHandle = struct cublasContext*;
using cublasStatus = int;
constexpr int kOpN = 0, kOpT = 1;
constexpr int kDefaultMath = 0;      // CUBLAS_DEFAULT_MATH: no TF32 for f32
constexpr int kTf32TensorOpMath = 3; // CUBLAS_TF32_TENSOR_OP_MATH

struct CublasApi {
    cublasStatus (*Create)(cublasHandle*) = nullptr;
    cublasStatus (*SetStream)(cublasHandle, CUstream) = nullptr;
    cublasStatus (*SetMathMode)(cublasHandle, int) = nullptr;
    const char* (*GetStatusString)(cublasStatus) = nullptr;
    cublasStatus (*SgemmStridedBatched)(cublasHandle, int, int, int, int, int, const float*,
                                        const float*, int, long long, const float*, int,
                                        long long, const float*, float*, int, long long,
                                        int) = nullptr;
    cublasStatus (*DgemmStridedBatched)(cublasHandle, int, int, int, int, int, const double*,
                                        const double*, int, long long, const double*, int,
                                        long long, const double*, double*, int, long long,
                                        int) = nullptr;
    std::string error;  // why cuBLAS is unusable ("" when loaded)
};

CublasApi load() {
    CublasApi a;
    auto bind = [&](void* lib) {
        support::Symbols sym(lib);
        sym.bind(a.Create, "cublasCreate_v2");
        sym.bind(a.SetStream, "cublasSetStream_v2");
        sym.bind(a.SetMathMode, "cublasSetMathMode");
        sym.bind(a.GetStatusString, "cublasGetStatusString");
        sym.bind(a.SgemmStridedBatched, "cublasSgemmStridedBatched");
        sym.bind(a.DgemmStridedBatched, "cublasDgemmStridedBatched");
        return sym.missing().empty() ? "" : "lacks " + sym.missing();
    };
    support::SharedLibrary lib = support::load_shared_library(
        "KILN_CUBLAS_LIBRARY",
        {"libcublas.so.13", "libcublas.so.12", "libcublas.so",
         "/usr/local/cuda/lib64/libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so"},
        bind);
    if (!lib.handle) {
        a = CublasApi{};
        a.error = "cuBLAS cannot be loaded (CUDA matmuls need it); tried:" + lib.tried;
    }
    return a;
}

const CublasApi& api() {
    static const CublasApi a = load();
    if (!a.error.empty()) throw Error(a.error);
    return a;
}

void check(cublasStatus s, const char* call, int device) {
    if (s == 0) return;
    const char* text = api().GetStatusString ? api().GetStatusString(s) : nullptr;
    throw Error(fmt::format("cuBLAS error in {} on cuda:{}: {} (status {})", call, device,
                            text ? text : "unknown", s));
}

/// One handle per device, bound to the device's stream (created with its context current).
cublasHandle handle_for(int device) {
    static std::mutex mutex;
    static auto* handles = new std::unordered_map<int, cublasHandle>();  // live until exit
    const CudaDevice& d = cuda_device(device);
    std::lock_guard lock(mutex);
    cublasHandle& h = (*handles)[device];
    if (!h) {
        check(api().Create(&h), "cublasCreate", device);
        check(api().SetStream(h, d.stream), "cublasSetStream", device);
    }
    return h;
}

}  // namespace

std::atomic<bool>& cuda_tf32_allowed() {
    static std::atomic<bool> allowed{false};
    return allowed;
}

void cuda_gemm(int device, const ir::MatmulStep& mm, CUdeviceptr a, CUdeviceptr b,
               CUdeviceptr out) {
    cublasHandle h = handle_for(device);
    bool tf32 = mm.dtype == DType::Float32 && cuda_tf32_allowed().load();
    check(api().SetMathMode(h, tf32 ? kTf32TensorOpMath : kDefaultMath), "cublasSetMathMode",
          device);
    // cuBLAS is column-major. A row-major C = A @ B is the column-major C^T = B^T @ A^T, and a
    // row-major matrix read column-major is its transpose: so B goes first and no data moves.
    // A transposed operand is stored k x m (A) or n x k (B) row-major.
    int m = static_cast<int>(mm.n), n = static_cast<int>(mm.m), k = static_cast<int>(mm.k);
    int op_first = mm.trans_b ? kOpT : kOpN, op_second = mm.trans_a ? kOpT : kOpN;
    int ld_first = static_cast<int>(mm.trans_b ? mm.k : mm.n);
    int ld_second = static_cast<int>(mm.trans_a ? mm.m : mm.k);
    int ldc = static_cast<int>(mm.n);
    long long stride_first = mm.k * mm.n, stride_second = mm.m * mm.k, stride_c = mm.m * mm.n;
    int batch = static_cast<int>(mm.batch);
    // The same call for both precisions: alpha 1, beta 0 (out is written, never read).
    auto gemm = [&](auto fn, auto zero, const char* name) {
        using T = decltype(zero);
        const T one = 1;
        check(fn(h, op_first, op_second, m, n, k, &one, reinterpret_cast<const T*>(b), ld_first,
                 stride_first, reinterpret_cast<const T*>(a), ld_second, stride_second, &zero,
                 reinterpret_cast<T*>(out), ldc, stride_c, batch),
              name, device);
    };
    KILN_CHECK(mm.dtype == DType::Float32 || mm.dtype == DType::Float64,
               "cuda_gemm: f32 or f64 only");
    if (mm.dtype == DType::Float32)
        gemm(api().SgemmStridedBatched, 0.0f, "cublasSgemmStridedBatched");
    else
        gemm(api().DgemmStridedBatched, 0.0, "cublasDgemmStridedBatched");
}

}  // namespace kiln::runtime
