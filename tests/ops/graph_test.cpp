// Larger and more tangled graphs: sizes that split across threads and vector lanes with
// remainders, one input feeding reductions over different axes, matmul with fused prologues and
// epilogues, casts inside fused chains, long chains, and NaN in a branch where() discards.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

RefTensor hsum(const RefTensor& a, std::vector<int64_t> dims, bool keep) {
    return host::reduce(a, std::move(dims), keep, a.dtype, 0, std::plus<double>());
}
RefTensor hmax(const RefTensor& a, std::vector<int64_t> dims, bool keep) {
    return host::reduce(a, std::move(dims), keep, a.dtype, -kInf,
                        [](double p, double q) { return std::max(p, q); });
}

}  // namespace

TEST_CASE("elementwise and reductions at sizes with remainders and many threads",
          "[ops][graph][large]") {
    for (const Shape& s :
         std::vector<Shape>{{1000, 1001}, {3, 100003}, {100003, 3}, {17, 33, 65}}) {
        Tensor x = uniform(s, kFloat32, -2, 2);
        RefTensor hx = values_of(x);
        std::string at = " on " + desc(x);
        check(x * x + 1, host::map(hx, kFloat32, [](double v) { return v * v + 1; }), "x*x+1" + at);
        int64_t rank = static_cast<int64_t>(s.size());
        check(x.sum({-1}), hsum(hx, {rank - 1}, false), "sum(-1)" + at, Tol{1, s.back()});
        check(x.sum({0}), hsum(hx, {0}, false), "sum(0)" + at, Tol{1, s[0]});
        check(x.amax({0}, true), hmax(hx, {0}, true), "amax(0)" + at);
    }
    Tensor big = uniform({1 << 20}, kFloat32, -1, 1);
    check(big.sum(), hsum(values_of(big), {}, false), "sum of 2^20", Tol{1, 1 << 20});
}

TEST_CASE("one input feeding reductions over different axes in one graph", "[ops][graph]") {
    for (DType dt : kFloats) {
        Tensor x = normal({37, 23}, dt);
        RefTensor hx = values_of(x);
        Tensor r = (x - x.mean({1}, true)) * x.amax({1}, true) + x.sum({0}) - softmax(x, 0);
        RefTensor mean =
            host::reduce(hx, {1}, true, dt, 0, std::plus<double>(),
                         [](double v, int64_t n) { return v / static_cast<double>(n); });
        RefTensor sm = [&] {
            RefTensor m = hmax(hx, {0}, true);
            RefTensor e = host::zip(hx, m, dt, [](double v, double q) { return std::exp(v - q); });
            return host::zip(e, hsum(e, {0}, true), dt, std::divides<double>());
        }();
        RefTensor want =
            host::zip(host::zip(host::zip(host::zip(hx, mean, dt, std::minus<double>()),
                                          hmax(hx, {1}, true), dt, std::multiplies<double>()),
                                hsum(hx, {0}, false), dt, std::plus<double>()),
                      sm, dt, std::minus<double>());
        check(r, want, "mixed-axis reductions on " + desc(x), Tol{4, 37});
    }
}

TEST_CASE("matmul with fused prologue and epilogue", "[ops][graph][matmul]") {
    Tensor x = normal({9, 16}), w = normal({12, 16}), bias = normal({12});
    RefTensor hx = values_of(x), hw = values_of(w), hb = values_of(bias);
    Tensor y = (matmul(x * 0.5, w.t()) + bias).relu().sum({1});
    RefTensor mm = host::matmul(host::map(hx, kFloat32, [](double v) { return v * 0.5; }),
                                host::permute(hw, {1, 0}), kFloat32);
    RefTensor act = host::map(host::zip(mm, hb, kFloat32, std::plus<double>()), kFloat32,
                              [](double v) { return v > 0 ? v : 0.0; });
    check(y, hsum(act, {1}, false), "relu(x/2 @ w.t() + b).sum(1)", Tol{2, 16 * 12});
    // Two matmuls sharing an operand, combined.
    Tensor z = matmul(x, w.t()) - matmul(x.flip({0}), w.t()).flip({0});
    check(z, ref(kFloat32, {9, 12}, std::vector<double>(108, 0.0)), "x@w.t() - flip(flip(x)@w.t())",
          Tol{1, 16});
}

TEST_CASE("casts inside fused chains", "[ops][graph][cast]") {
    Tensor x = uniform({6, 50}, kFloat32, -3, 3);
    RefTensor hx = values_of(x);
    check((x > 0).to(kFloat32) * x,
          host::map(hx, kFloat32, [](double v) { return v > 0 ? v : 0.0; }), "(x > 0).to(f32) * x");
    check((x * 10).to(kInt32).sum({1}),
          host::reduce(host::map(hx, kInt32, [](double v) { return std::trunc(v * 10); }), {1},
                       false, kInt64, 0, std::plus<double>()),
          "(x*10).to(i32).sum(1)");
    check((x > 1).sum({0}) + (x < -1).to(kInt64).sum({0}),
          host::reduce(host::map(hx, kInt64, [](double v) { return std::fabs(v) > 1 ? 1.0 : 0.0; }),
                       {0}, false, kInt64, 0, std::plus<double>()),
          "count |x| > 1");
    check(x.to(kFloat64).sum({1}).to(kFloat32), hsum(hx, {1}, false), "sum in f64, back to f32",
          Tol{1, 50});
    Tensor i = uniform({4, 5}, kInt64, -100, 100);
    check((i * i).to(kFloat32).sqrt() - i.abs().to(kFloat32),
          ref(kFloat32, {4, 5}, std::vector<double>(20, 0.0)), "sqrt(i*i) == |i|");
}

TEST_CASE("a long chain of elementwise ops", "[ops][graph]") {
    Tensor x = uniform({64}, kFloat64, -1, 1);
    Tensor y = x;
    std::vector<double> v = values_of(x).values;
    for (int k = 0; k < 300; ++k) {
        y = y * 0.99 + 0.01 * x;
        for (size_t j = 0; j < v.size(); ++j) v[j] = v[j] * 0.99 + 0.01 * values_of(x).values[j];
    }
    check(y, ref(kFloat64, {64}, v), "300-step recurrence", Tol{300});
}

TEST_CASE("where discards NaN and inf in the unselected branch", "[ops][graph][special]") {
    Tensor x = uniform({5, 8}, kFloat32, -2, 2);
    RefTensor hx = values_of(x);
    // log of a negative is NaN, 1/0 is inf: both must vanish where not selected.
    Tensor safe = where(x > 0, log(x), zeros({}));
    check(safe, host::map(hx, kFloat32, [](double v) { return v > 0 ? std::log(v) : 0.0; }),
          "where(x > 0, log(x), 0)");
    check(safe.sum({1}),
          hsum(host::map(hx, kFloat32, [](double v) { return v > 0 ? std::log(v) : 0.0; }), {1},
               false),
          "sum of the masked log", Tol{1, 8});
    Tensor masked = where(x.abs() < 1, x, make({-kInf}, {}));
    check(softmax(masked, 1), reference(softmax(masked, 1)), "softmax with -inf masked entries",
          Tol{2, 8});
}

TEST_CASE("expanded realized inputs feed reductions (stride-0 loads)", "[ops][graph]") {
    Tensor row = uniform({1, 300});
    Tensor col = uniform({200, 1});
    RefTensor hr = values_of(row), hc = values_of(col);
    Tensor outer = row.expand({200, 300}) * col.expand({200, 300});
    RefTensor ho = host::zip(hr, hc, kFloat32, std::multiplies<double>());
    check(outer.sum({0}), hsum(ho, {0}, false), "outer-product column sums", Tol{1, 200});
    check(outer.sum({1}), hsum(ho, {1}, false), "outer-product row sums", Tol{1, 300});
    check(outer.t().amax({1}), hmax(host::permute(ho, {1, 0}), {1}, false),
          "outer-product t().amax");
}
