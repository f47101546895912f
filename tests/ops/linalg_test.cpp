// matmul in all its forms (1-D·1-D, 2-D·1-D, 1-D·2-D, 2-D·2-D, batched with broadcasting,
// integer and bool, mixed dtypes), mm and bmm, on transposed and sliced operands, with size-0
// dims, against the reference and torch.matmul's rules computed on the host.
#include <array>
#include <cmath>

#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

DType promoted(DType a, DType b) {
    auto rank = [](DType t) {
        return t == kBool ? 0 : t == kInt32 ? 1 : t == kInt64 ? 2 : t == kFloat32 ? 3 : 4;
    };
    return rank(a) >= rank(b) ? a : b;
}

/// torch.matmul on the host, in the promoted dtype. PyTorch has no CPU matmul for two bool
/// tensors; Kiln counts (0/1 products summed in i64), which is what this expects.
RefTensor expect(const Tensor& a, const Tensor& b) {
    DType out = promoted(a.dtype(), b.dtype());
    if (out == kBool) out = kInt64;
    return host::matmul(host::cast(values_of(a), out), host::cast(values_of(b), out), out);
}

/// Inner dimension of a matmul (for the tolerance).
int64_t inner(const Tensor& a) { return a.sizes().back(); }

struct Case {
    Shape a, b;
};

}  // namespace

TEST_CASE("matmul forms and batch broadcasting, f32 and f64", "[ops][matmul]") {
    const std::vector<Case> cases{
        {{5}, {5}},                 // dot -> rank 0
        {{3, 5}, {5}},              // matrix-vector
        {{5}, {5, 4}},              // vector-matrix
        {{3, 5}, {5, 4}},           // matrix-matrix
        {{1, 1}, {1, 1}},           // 1x1
        {{2, 3, 5}, {2, 5, 4}},     // batched
        {{2, 3, 5}, {5, 4}},        // batched x matrix
        {{3, 5}, {2, 5, 4}},        // matrix x batched
        {{2, 1, 3, 5}, {4, 5, 2}},  // broadcast batch dims
        {{1, 3, 5}, {3, 5, 2}},     // batch of 1 broadcasts
        {{5}, {2, 5, 3}},           // vector x batched
        {{2, 3, 5}, {5}},           // batched x vector
        {{0, 5}, {5, 4}},           // m = 0
        {{3, 0}, {0, 4}},           // k = 0: zeros
        {{3, 5}, {5, 0}},           // n = 0
        {{0, 3, 5}, {5, 2}},        // batch = 0
    };
    for (DType dt : kFloats) {
        for (const Case& c : cases) {
            Tensor a = random_of(c.a, dt), b = random_of(c.b, dt);
            std::string what = "matmul(" + desc(a) + ", " + desc(b) + ")";
            check(matmul(a, b), expect(a, b), what, Tol{1, std::max<int64_t>(1, inner(a))});
            check(a.matmul(b), expect(a, b), what + " (method)",
                  Tol{1, std::max<int64_t>(1, inner(a))});
        }
    }
}

TEST_CASE("matmul on transposed, sliced and expanded operands", "[ops][matmul][views]") {
    for (DType dt : kFloats) {
        Tensor x = random_of({6, 4}, dt), y = random_of({5, 6}, dt);
        RefTensor hx = values_of(x), hy = values_of(y);
        check(matmul(x.t(), y.t()),
              host::matmul(host::permute(hx, {1, 0}), host::permute(hy, {1, 0}), dt),
              "x.t() @ y.t()", Tol{1, 6});
        check(matmul(y, x.slice(1, 0, 4, 2)), host::matmul(hy, host::slice(hx, 1, 0, 4, 2), dt),
              "y @ x[:, ::2]", Tol{1, 6});
        check(matmul(y.slice(0, 1, 5, 2), x.flip({0})),
              host::matmul(host::slice(hy, 0, 1, 5, 2), host::flip(hx, {0}), dt),
              "y[1::2] @ x.flip(0)", Tol{1, 6});
        Tensor v = x.narrow(1, 1, 1).squeeze(1);  // a strided column as a vector
        check(matmul(y, v), host::matmul(hy, host::reshape(host::slice(hx, 1, 1, 2), {6}), dt),
              "y @ strided vector", Tol{1, 6});
        Tensor row = y.narrow(0, 2, 1);  // [1,6] expanded to a batch
        check(matmul(row.expand({3, 6}).unsqueeze(0), x),
              host::matmul(host::reshape(host::expand(host::slice(hy, 0, 2, 3), {3, 6}), {1, 3, 6}),
                           hx, dt),
              "expanded rows @ x", Tol{1, 6});
        Tensor b3 = random_of({2, 4, 3}, dt);
        check(matmul(b3.transpose(1, 2), b3),
              host::matmul(host::permute(values_of(b3), {0, 2, 1}), values_of(b3), dt),
              "batched a^T a", Tol{1, 4});
        // An operand computed in the same graph (fused producer feeding the extern call).
        check(matmul(exp(x).t() * 0.5, y.t().sigmoid()),
              host::matmul(host::map(host::permute(hx, {1, 0}), dt,
                                     [](double q) { return std::exp(q) * 0.5; }),
                           host::map(host::permute(hy, {1, 0}), dt,
                                     [](double q) { return 1 / (1 + std::exp(-q)); }),
                           dt),
              "matmul of computed operands", Tol{2, 6});
    }
}

TEST_CASE("matmul at sizes that reach BLAS blocking", "[ops][matmul]") {
    for (auto [m, k, n] :
         std::vector<std::array<int64_t, 3>>{{64, 128, 32}, {129, 67, 95}, {1, 300, 1}}) {
        Tensor a = uniform({m, k}, kFloat32, -1, 1), b = uniform({k, n}, kFloat32, -1, 1);
        check(matmul(a, b), expect(a, b), "matmul " + desc(a) + " @ " + desc(b), Tol{1, k});
        Tensor c = uniform({k, m}, kFloat64, -1, 1);
        check(matmul(c.t(), b.to(kFloat64)),
              host::matmul(host::permute(values_of(c), {1, 0}), host::cast(values_of(b), kFloat64),
                           kFloat64),
              "f64 matmul " + desc(c) + ".t()", Tol{1, k});
    }
}

TEST_CASE("integer and mixed-dtype matmul", "[ops][matmul]") {
    const std::vector<Case> cases{
        {{5}, {5}}, {{3, 5}, {5}}, {{5}, {5, 4}}, {{3, 5}, {5, 4}}, {{2, 1, 3, 5}, {4, 5, 2}}};
    for (DType da : kAllDTypes) {
        for (DType db : kAllDTypes) {
            for (const Case& c : cases) {
                Tensor a = random_of(c.a, da), b = random_of(c.b, db);
                std::string what = "matmul(" + desc(a) + ", " + desc(b) + ")";
                check(matmul(a, b), expect(a, b), what, Tol{1, std::max<int64_t>(1, inner(a))});
            }
        }
    }
    Tensor big = kiln::tensor(std::vector<int32_t>{65536, 65536, 3, 1}, {2, 2});
    // 65536 * 65536 = 2^32 wraps to 0 in i32.
    check(matmul(big, big), ref(kInt32, {2, 2}, {196608, 65536, 196611, 196609}),
          "i32 matmul wraps");
}

TEST_CASE("mm and bmm", "[ops][matmul]") {
    for (DType dt : {kFloat32, kFloat64, kInt64}) {
        Tensor a = random_of({3, 5}, dt), b = random_of({5, 4}, dt);
        check(mm(a, b), expect(a, b), "mm " + desc(a), Tol{1, 5});
        check(mm(b.t(), a.t()),
              host::matmul(host::permute(values_of(b), {1, 0}), host::permute(values_of(a), {1, 0}),
                           dt),
              "mm of transposes", Tol{1, 5});
        Tensor p = random_of({2, 3, 5}, dt), q = random_of({2, 5, 4}, dt);
        check(bmm(p, q), expect(p, q), "bmm " + desc(p), Tol{1, 5});
        check(bmm(q.transpose(1, 2), p.transpose(1, 2)),
              host::matmul(host::permute(values_of(q), {0, 2, 1}),
                           host::permute(values_of(p), {0, 2, 1}), dt),
              "bmm of transposes", Tol{1, 5});
    }
}

// Regression: these used to kill the process with SIGFPE (a division by the zero extent in
// passes::index::mod while lowering a reshape of a size-0 tensor).
TEST_CASE("matmul with size-0 dims: integer forms and the empty dot", "[ops][matmul]") {
    const std::vector<Case> cases{
        {{0, 5}, {5, 4}}, {{3, 0}, {0, 4}}, {{3, 5}, {5, 0}}, {{0, 3, 5}, {5, 2}}, {{0}, {0}}};
    for (DType dt : {kFloat32, kInt64, kInt32, kBool}) {
        for (const Case& c : cases) {
            Tensor a = random_of(c.a, dt), b = random_of(c.b, dt);
            check(matmul(a, b), expect(a, b), "matmul(" + desc(a) + ", " + desc(b) + ")");
        }
    }
}
