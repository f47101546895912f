// The fake cuBLAS against naive column-major loops: every transpose pair, leading dimensions
// larger than the matrices, strided batches, beta == 0 ignoring C, argument and pointer errors.
#include <cmath>
#include <random>

#include "selftest.h"

using namespace fake_test;

namespace {

/// C = alpha op(A) op(B) + beta C, column-major, the definition.
template <class T>
void reference(int ta, int tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
               int ldb, T beta, T* c, int ldc) {
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            double s = 0;
            for (int l = 0; l < k; ++l)
                s += static_cast<double>(ta ? a[l + i * lda] : a[i + l * lda]) *
                     static_cast<double>(tb ? b[j + l * ldb] : b[l + j * ldb]);
            c[i + j * ldc] = static_cast<T>(alpha * s + (beta != 0 ? beta * c[i + j * ldc] : 0));
        }
}

template <class T>
std::vector<T> random_values(size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> dist(-1, 1);
    std::vector<T> v(n);
    for (T& x : v) x = static_cast<T>(dist(gen));
    return v;
}

template <class T>
void check_gemm(Handle h, int ta, int tb, int batch) {
    const int m = 7, n = 5, k = 9;
    const int lda = (ta ? k : m) + 2, ldb = (tb ? n : k) + 1, ldc = m + 3;
    const long long sa = static_cast<long long>(lda) * (ta ? m : k);
    const long long sb = static_cast<long long>(ldb) * (tb ? k : n) + 4;
    const long long sc = static_cast<long long>(ldc) * n;
    std::vector<T> a = random_values<T>(static_cast<size_t>(sa * batch), 1);
    std::vector<T> b = random_values<T>(static_cast<size_t>(sb * batch), 2);
    std::vector<T> c = random_values<T>(static_cast<size_t>(sc * batch), 3);
    std::vector<T> want = c;
    const T alpha = T(1.5), beta = T(-0.5);
    for (int i = 0; i < batch; ++i)
        reference<T>(ta, tb, m, n, k, alpha, a.data() + i * sa, lda, b.data() + i * sb, ldb, beta,
                     want.data() + i * sc, ldc);
    CUdeviceptr da = upload(a), db = upload(b), dc = upload(c);
    auto pa = reinterpret_cast<const T*>(da);
    auto pb = reinterpret_cast<const T*>(db);
    auto pc = reinterpret_cast<T*>(dc);
    int r = -1;
    if constexpr (sizeof(T) == 4) {
        r = batch == 1 ? api().Sgemm(h, ta, tb, m, n, k, &alpha, pa, lda, pb, ldb, &beta, pc, ldc)
                       : api().SgemmBatched(h, ta, tb, m, n, k, &alpha, pa, lda, sa, pb, ldb, sb,
                                            &beta, pc, ldc, sc, batch);
    } else {
        r = batch == 1 ? api().Dgemm(h, ta, tb, m, n, k, &alpha, pa, lda, pb, ldb, &beta, pc, ldc)
                       : api().DgemmBatched(h, ta, tb, m, n, k, &alpha, pa, lda, sa, pb, ldb, sb,
                                            &beta, pc, ldc, sc, batch);
    }
    REQUIRE(r == 0);
    std::vector<T> got = download<T>(dc, c.size());
    for (size_t i = 0; i < got.size(); ++i) {
        INFO("element " << i << " ta " << ta << " tb " << tb << " batch " << batch);
        CHECK(std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])) <=
              (sizeof(T) == 4 ? 1e-5 : 1e-12));
    }
    for (CUdeviceptr p : {da, db, dc}) CHECK(api().MemFree(p) == 0);
}

}  // namespace

TEST_CASE("fake cuBLAS: GEMMs match the column-major definition") {
    init_context();
    const Api& a = api();
    Handle h = nullptr, s = nullptr;
    REQUIRE(a.BlasCreate(&h) == 0);
    REQUIRE(a.StreamCreate(&s, 0) == 0);
    CHECK(a.BlasSetStream(h, s) == 0);
    long long calls = a.BlasCalls();
    for (int ta : {0, 1, 2})
        for (int tb : {0, 1})
            for (int batch : {1, 3}) {
                check_gemm<float>(h, ta, tb, batch);
                check_gemm<double>(h, ta, tb, batch);
            }
    CHECK(a.BlasCalls() == calls + 24);
    CHECK(a.BlasSetStream(h, nullptr) == 0);
    CHECK(a.StreamDestroy(s) == 0);
    CHECK(a.BlasDestroy(h) == 0);
}

TEST_CASE("fake cuBLAS: beta 0, math modes and errors") {
    init_context();
    const Api& a = api();
    Handle h = nullptr;
    REQUIRE(a.BlasCreate(&h) == 0);
    // 2x2 times 2x2 with C full of NaN: beta == 0 must not read it.
    std::vector<float> av{1.0f, 2.0f, 3.0f, 4.0f}, bv{1.0f, 0.0f, 0.0f, 1.0f};
    CUdeviceptr da = upload(av), db = upload(bv), dc = upload(std::vector<float>(4, NAN));
    auto A = reinterpret_cast<const float*>(da);
    auto B = reinterpret_cast<const float*>(db);
    auto C = reinterpret_cast<float*>(dc);
    float one = 1.0f, zero = 0.0f;
    CHECK(a.Sgemm(h, 0, 0, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 2) == 0);
    CHECK(download<float>(dc, 4) == av);
    CHECK(a.Sgemm(h, 1, 0, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 2) == 0);
    CHECK(download<float>(dc, 4) == std::vector<float>{1.0f, 3.0f, 2.0f, 4.0f});

    int mode = -1;
    CHECK(a.BlasGetMathMode(h, &mode) == 0);
    CHECK(mode == 0);
    CHECK(a.BlasSetMathMode(h, 3) == 0);  // TF32: inputs keep 10 mantissa bits
    std::vector<float> fine{1.0f + 1.0f / 4096.0f, 0.0f, 0.0f, 0.0f};
    CHECK(a.MemcpyHtoD(da, fine.data(), 16, nullptr) == 0);
    CHECK(a.Sgemm(h, 0, 0, 1, 1, 1, &one, A, 1, B, 1, &zero, C, 1) == 0);
    CHECK(download<float>(dc, 1)[0] == 1.0f);
    CHECK(a.BlasSetMathMode(h, 0) == 0);
    CHECK(a.Sgemm(h, 0, 0, 1, 1, 1, &one, A, 1, B, 1, &zero, C, 1) == 0);
    CHECK(download<float>(dc, 1)[0] == fine[0]);
    CHECK(a.BlasSetMathMode(h, 9) == 7);

    // Leading dimensions, sizes and operations as cuBLAS checks them.
    CHECK(a.Sgemm(h, 0, 0, 2, 2, 2, &one, A, 1, B, 2, &zero, C, 2) == 7);  // lda < m
    CHECK(a.Sgemm(h, 1, 0, 2, 2, 3, &one, A, 2, B, 3, &zero, C, 2) == 7);  // lda < k (A^T)
    CHECK(a.Sgemm(h, 0, 1, 2, 2, 2, &one, A, 2, B, 1, &zero, C, 2) == 7);  // ldb < n (B^T)
    CHECK(a.Sgemm(h, 0, 0, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 1) == 7);  // ldc < m
    CHECK(a.Sgemm(h, 5, 0, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 2) == 7);
    CHECK(a.Sgemm(h, 0, 0, -1, 2, 2, &one, A, 2, B, 2, &zero, C, 2) == 7);
    CHECK(a.SgemmBatched(h, 0, 0, 2, 2, 2, &one, A, 2, 4, B, 2, 4, &zero, C, 2, 4, -1) == 7);
    CHECK(a.Sgemm(h, 0, 0, 0, 2, 2, &one, A, 1, B, 2, &zero, C, 1) == 0);  // nothing to do
    // Matrices outside device memory fail as a GPU would (here with a message).
    float host[4] = {};
    CHECK(a.Sgemm(h, 0, 0, 2, 2, 2, &one, host, 2, B, 2, &zero, C, 2) == 13);
    CHECK(a.Sgemm(h, 0, 0, 2, 2, 3, &one, A, 2, B, 3, &zero, C, 2) == 13);  // reads past A
    CHECK(a.SgemmBatched(h, 0, 0, 2, 2, 2, &one, A, 2, 4, B, 2, 0, &zero, C, 2, 0, 2) == 13);
    CHECK(a.BlasSetStream(h, host) == 7);
    CHECK(std::string(a.BlasGetStatusString(7)) == "CUBLAS_STATUS_INVALID_VALUE");
    CHECK(a.BlasDestroy(h) == 0);
    CHECK(a.Sgemm(h, 0, 0, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 2) == 1);  // destroyed handle
    for (CUdeviceptr p : {da, db, dc}) CHECK(a.MemFree(p) == 0);
}
