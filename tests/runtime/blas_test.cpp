#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/blas.h"

using namespace kiln::runtime;

namespace {

template <typename T>
std::vector<T> random_vector(size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(dist(rng));
    return v;
}

template <typename T>
void naive(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, const T* b, double* c) {
    if (batch * m * n == 0) return;
    for (int64_t t = 0; t < batch; ++t)
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double acc = 0;
                for (int64_t p = 0; p < k; ++p)
                    acc += static_cast<double>(a[(t * m + i) * k + p]) * b[(t * k + p) * n + j];
                c[(t * m + i) * n + j] = acc;
            }
}

/// `batch` [rows, cols] matrices stored as [cols, rows].
template <typename T>
std::vector<T> transposed(const std::vector<T>& x, int64_t batch, int64_t rows, int64_t cols) {
    std::vector<T> t(x.size());
    for (int64_t i = 0; i < batch; ++i)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
                t[static_cast<size_t>((i * cols + c) * rows + r)] =
                    x[static_cast<size_t>((i * rows + r) * cols + c)];
    return t;
}

template <typename T, typename Gemm>
void check_gemm(Gemm gemm, int64_t batch, int64_t m, int64_t n, int64_t k, Transposes t = {}) {
    std::mt19937 rng(static_cast<unsigned>(batch * 1000003 + m * 10007 + n * 101 + k));
    auto a = random_vector<T>(static_cast<size_t>(batch * m * k), rng);
    auto b = random_vector<T>(static_cast<size_t>(batch * k * n), rng);
    // Poison c: every element must be overwritten (beta = 0), also when k == 0.
    std::vector<T> c(static_cast<size_t>(batch * m * n) + 1, static_cast<T>(NAN));
    c.back() = T(12345);  // a sentinel past the end must survive
    std::vector<double> ref(static_cast<size_t>(batch * m * n));
    if constexpr (std::is_invocable_v<Gemm, int64_t, int64_t, int64_t, int64_t, const T*,
                                      const T*, T*, Transposes>) {
        std::vector<T> sa = t.a ? transposed(a, batch, m, k) : a;
        std::vector<T> sb = t.b ? transposed(b, batch, k, n) : b;
        gemm(batch, m, n, k, sa.data(), sb.data(), c.data(), t);
    } else {
        gemm(batch, m, n, k, a.data(), b.data(), c.data());
    }
    naive(batch, m, n, k, a.data(), b.data(), ref.data());
    double tol = (sizeof(T) == 4 ? 1e-5 : 1e-12) * static_cast<double>(std::max<int64_t>(k, 1));
    INFO("batch " << batch << " m " << m << " n " << n << " k " << k << " f" << sizeof(T) * 8
                   << " transposed a " << t.a << " b " << t.b);
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!(std::abs(c[i] - ref[i]) <= tol)) {
            INFO("element " << i << ": got " << c[i] << ", want " << ref[i]);
            REQUIRE(false);
        }
    }
    CHECK(c.back() == T(12345));
}

struct Shape {
    int64_t batch, m, n, k;
};

const std::vector<Shape> kShapes = {
    {1, 1, 1, 1},    {1, 3, 5, 7},     {1, 4, 32, 16},   {1, 17, 33, 65},  {1, 64, 64, 64},
    {1, 1, 300, 70}, {1, 300, 1, 70},  {1, 5, 600, 300}, {1, 130, 70, 513}, {3, 7, 9, 11},
    {4, 33, 17, 40}, {2, 1, 1, 1000},  {1, 0, 5, 3},     {1, 5, 0, 3},     {1, 5, 4, 0},
    {3, 2, 3, 0},    {0, 4, 4, 4},     {2, 0, 0, 0},
    {64, 16, 16, 64},  // a batch of small products: split over the thread pool
    {6, 70, 65, 66},   // a batch of products threaded inside the BLAS
};

}  // namespace

TEST_CASE("gemm matches naive loops (backend)", "[runtime][blas]") {
    INFO(blas_backend_name());
    for (const Shape& s : kShapes) {
        check_gemm<float>(gemm_f32, s.batch, s.m, s.n, s.k);
        check_gemm<double>(gemm_f64, s.batch, s.m, s.n, s.k);
    }
}

TEST_CASE("gemm reads transposed operands in place", "[runtime][blas]") {
    INFO(blas_backend_name());
    for (const Shape& s : kShapes)
        for (Transposes t : {Transposes{true, false}, Transposes{false, true}, Transposes{true, true}}) {
            check_gemm<float>(gemm_f32, s.batch, s.m, s.n, s.k, t);
            check_gemm<double>(gemm_f64, s.batch, s.m, s.n, s.k, t);
        }
}

TEST_CASE("gemm matches naive loops (portable fallback)", "[runtime][blas]") {
    for (const Shape& s : kShapes) {
        check_gemm<float>(gemm_portable_f32, s.batch, s.m, s.n, s.k);
        check_gemm<double>(gemm_portable_f64, s.batch, s.m, s.n, s.k);
    }
    // Big enough to be split across threads and k blocks.
    check_gemm<float>(gemm_portable_f32, 1, 257, 129, 600);
    check_gemm<double>(gemm_portable_f64, 5, 40, 50, 300);
}

TEST_CASE("gemm backend is OpenBLAS where it is installed, with its core type set",
          "[runtime][blas]") {
    std::string name = blas_backend_name();
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (lib == nullptr) lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        CHECK(name == "portable loops (libopenblas.so.0 not found)");
        WARN("libopenblas.so.0 is not installed: only the portable gemm was tested");
        return;
    }
    CHECK(name.rfind("OpenBLAS", 0) == 0);
    CHECK(name.find("thread") != std::string::npos);
    // Loading chose a core type (or kept the user's) before OpenBLAS initialized.
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) CHECK(std::getenv("OPENBLAS_CORETYPE") != nullptr);
#endif
    WARN("gemm backend: " << name);
}
