// Reductions (sum, mean, amax, amin, max, min, argmax, var, std) and the normalizations
// (softmax, log_softmax, logsumexp): single and multiple dims, negative dims, keepdim both ways,
// every dtype they accept, size-0/size-1/rank-0 inputs, views, NaN and inf.
#include <cmath>
#include <functional>
#include <limits>

#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::nan("");

double nan_max(double a, double b) {
    return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
}
double nan_min(double a, double b) {
    return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
}

/// Number of elements each output of a reduction over `dims` of `shape` folds.
int64_t folded(const Shape& shape, const std::vector<int64_t>& dims) {
    if (dims.empty()) return ir::numel(shape);
    int64_t n = 1;
    for (int64_t d : dims)
        n *= shape[static_cast<size_t>(d < 0 ? d + static_cast<int64_t>(shape.size()) : d)];
    return n;
}

std::string dims_str(const std::vector<int64_t>& dims, bool keepdim) {
    return ir::ints_str(dims) + (keepdim ? ", keepdim" : "");
}

RefTensor host_sum(const RefTensor& a, const std::vector<int64_t>& dims, bool keepdim) {
    DType out = is_floating(a.dtype) ? a.dtype : kInt64;
    return host::reduce(a, dims, keepdim, out, 0, std::plus<double>());
}

RefTensor host_mean(const RefTensor& a, const std::vector<int64_t>& dims, bool keepdim) {
    return host::reduce(a, dims, keepdim, a.dtype, 0, std::plus<double>(),
                        [](double s, int64_t n) { return s / static_cast<double>(n); });
}

/// Two-pass variance, the textbook definition.
RefTensor host_var(const RefTensor& a, const std::vector<int64_t>& dims, bool unbiased,
                   bool keepdim) {
    RefTensor mean = host_mean(a, dims, true);
    RefTensor sq =
        host::zip(a, mean, a.dtype, [](double x, double m) { return (x - m) * (x - m); });
    return host::reduce(sq, dims, keepdim, a.dtype, 0, std::plus<double>(),
                        [unbiased](double s, int64_t n) {
                            return s / static_cast<double>(n - (unbiased ? 1 : 0));
                        });
}

RefTensor host_softmax(const RefTensor& a, int64_t dim, bool log_form) {
    RefTensor m = host::reduce(a, {dim}, true, a.dtype, -kInf, nan_max);
    RefTensor z = host::zip(a, m, a.dtype, std::minus<double>());
    RefTensor e = host::map(z, a.dtype, [](double v) { return std::exp(v); });
    RefTensor s = host::reduce(e, {dim}, true, a.dtype, 0, std::plus<double>());
    if (log_form)
        return host::zip(z, s, a.dtype, [](double v, double t) { return v - std::log(t); });
    return host::zip(e, s, a.dtype, std::divides<double>());
}

RefTensor host_logsumexp(const RefTensor& a, const std::vector<int64_t>& dims, bool keepdim) {
    RefTensor m = host::reduce(a, dims, true, a.dtype, -kInf, nan_max);
    m = host::map(m, a.dtype, [](double v) { return std::isinf(v) ? 0.0 : v; });
    RefTensor e = host::zip(a, m, a.dtype, [](double x, double s) { return std::exp(x - s); });
    RefTensor s = host::reduce(e, dims, true, a.dtype, 0, std::plus<double>());
    RefTensor r = host::zip(s, m, a.dtype, [](double t, double v) { return std::log(t) + v; });
    if (keepdim) return r;
    return host::reduce(r, dims, false, a.dtype, 0, std::plus<double>());  // drops the dims
}

/// First index of the max along `dim` (a NaN counts as the max, as in PyTorch).
RefTensor host_argmax(const RefTensor& a, int64_t dim, bool keepdim) {
    int64_t rank = static_cast<int64_t>(a.shape.size());
    size_t d = static_cast<size_t>(dim < 0 ? dim + rank : dim);
    Shape kept = a.shape;
    kept[d] = 1;
    RefTensor r{kInt64, {}, {}};
    for (int64_t o = 0; o < host::count(kept); ++o) {
        auto idx = host::unflatten(o, kept);
        int64_t best = 0;
        double bv = 0;
        for (int64_t k = 0; k < a.shape[d]; ++k) {
            idx[d] = k;
            int64_t flat = 0;
            auto st = host::strides_of(a.shape);
            for (size_t j = 0; j < idx.size(); ++j) flat += idx[j] * st[j];
            double v = a.values[static_cast<size_t>(flat)];
            if (k == 0 || (!std::isnan(bv) && (std::isnan(v) || v > bv))) {
                best = k;
                bv = v;
            }
        }
        r.values.push_back(static_cast<double>(best));
    }
    for (size_t j = 0; j < a.shape.size(); ++j)
        if (keepdim || j != d) r.shape.push_back(kept[j]);
    return r;
}

const std::vector<std::vector<int64_t>> kDimSets{{},   {0},    {1},      {2},
                                                 {-1}, {0, 2}, {-1, -3}, {2, 1, 0}};

}  // namespace

TEST_CASE("sum over dims, every dtype (ints and bool accumulate in i64)", "[ops][reduce]") {
    for (DType dt : kAllDTypes) {
        Tensor x = random_of({3, 4, 5}, dt);
        RefTensor hx = values_of(x);
        for (const auto& dims : kDimSets) {
            for (bool keepdim : {false, true}) {
                check(x.sum(dims, keepdim), host_sum(hx, dims, keepdim),
                      "sum(" + desc(x) + ", " + dims_str(dims, keepdim) + ")",
                      Tol{1, folded(x.sizes(), dims)});
            }
        }
        check(x.sum(), host_sum(hx, {}, false), "sum() of " + desc(x), Tol{1, 60});
    }
}

TEST_CASE("sum and mean: size 0, size 1, rank 0, large and non-contiguous inputs",
          "[ops][reduce]") {
    Tensor e = uniform({0, 3});
    check(e.sum({0}), ref(kFloat32, {3}, {0, 0, 0}), "sum over a size-0 dim");
    check(e.sum(), ref(kFloat32, {}, {0}), "sum() of an empty tensor");
    check(e.mean({0}), ref(kFloat32, {3}, {kNaN, kNaN, kNaN}), "mean over a size-0 dim is NaN");
    check(uniform({0}, kInt32).sum(), ref(kInt64, {}, {0}), "sum() of an empty i32 tensor");
    Tensor s = make({2.5}, {}, kFloat64);
    check(s.sum(), ref(kFloat64, {}, {2.5}), "sum() of rank 0");
    check(s.mean(), ref(kFloat64, {}, {2.5}), "mean() of rank 0");
    check(s.max(), ref(kFloat64, {}, {2.5}), "max() of rank 0");
    Tensor one = uniform({4, 1, 3});
    check(one.sum({1}), host_sum(values_of(one), {1}, false), "sum over a size-1 dim");
    check(one.sum({1}, true), host_sum(values_of(one), {1}, true), "sum over a size-1 dim, keep");

    // Long rows: vectorized partial sums, a remainder, several threads.
    for (int64_t n : {1000, 4099, 100003}) {
        Tensor big = uniform({n}, kFloat32, -1, 1);
        check(big.sum(), host_sum(values_of(big), {}, false),
              "sum() of f32[" + std::to_string(n) + "]", Tol{1, n});
        check(big.mean(), host_mean(values_of(big), {}, false),
              "mean() of f32[" + std::to_string(n) + "]", Tol{1, n});
    }
    Tensor rows = uniform({517, 37}, kFloat64);
    check(rows.sum({0}), host_sum(values_of(rows), {0}, false), "sum over the outer dim",
          Tol{1, 517});
    Tensor ints = uniform({3000}, kInt32, -2147483647, 2147483647);
    check(ints.sum(), host_sum(values_of(ints), {}, false), "i32 sum accumulates in i64");

    Tensor x = uniform({5, 6});
    RefTensor hx = values_of(x);
    check(x.t().sum({1}), host_sum(host::permute(hx, {1, 0}), {1}, false), "sum of x.t()",
          Tol{1, 5});
    check(x.slice(1, 0, 6, 3).mean({0}, true), host_mean(host::slice(hx, 1, 0, 6, 3), {0}, true),
          "mean of a strided slice", Tol{1, 5});
    Tensor row = x.narrow(0, 1, 1);
    check(row.expand({7, 6}).sum({0}),
          host_sum(host::expand(host::slice(hx, 0, 1, 2), {7, 6}), {0}, false),
          "sum of an expanded row", Tol{1, 7});
    check(x.flip({0}).mean({-1}), host_mean(host::flip(hx, {0}), {-1}, false), "mean of a flip",
          Tol{1, 6});
}

// Regression: these used to kill the process with SIGFPE (the squeeze after the reduce is a
// reshape of a size-0 tensor, whose lowering divided by the zero extent).
TEST_CASE("reductions leaving a size-0 dim", "[ops][reduce]") {
    Tensor e = uniform({0, 3});
    check(e.sum({1}), ref(kFloat32, {0}, {}), "sum leaving a size-0 dim");
    check(e.amax({1}), ref(kFloat32, {0}, {}), "amax leaving a size-0 dim");
    check(e.mean({1}), ref(kFloat32, {0}, {}), "mean leaving a size-0 dim");
    check(softmax(e, 1), ref(kFloat32, {0, 3}, {}), "softmax of a size-0 batch");
}

TEST_CASE("reductions keeping a size-0 dim", "[ops][reduce]") {
    Tensor e = uniform({0, 3});
    check(e.sum({1}, true), ref(kFloat32, {0, 1}, {}), "sum keeping a size-0 dim");
    check(e.amax({1}, true), ref(kFloat32, {0, 1}, {}), "amax keeping a size-0 dim");
}

// PyTorch accepts dim 0 and -1 on a rank-0 tensor (sum, mean, amax, softmax, argmax...),
// treating it as one element.
TEST_CASE("reductions of rank-0 tensors accept dim 0 and -1", "[ops][reduce]") {
    Tensor s = make({2.5}, {});
    CHECK_NOTHROW(check(s.sum({0}), ref(kFloat32, {}, {2.5}), "sum(dim 0) of rank 0"));
    CHECK_NOTHROW(check(s.amax({-1}, true), ref(kFloat32, {}, {2.5}), "amax(dim -1) of rank 0"));
    CHECK_NOTHROW(check(softmax(s, 0), ref(kFloat32, {}, {1}), "softmax of rank 0"));
    CHECK_NOTHROW(check(s.argmax(0), ref(kInt64, {}, {0}), "argmax of rank 0"));
    CHECK_NOTHROW(check(s.mean({0}), ref(kFloat32, {}, {2.5}), "mean(dim 0) of rank 0"));
    CHECK_NOTHROW(check(log_softmax(s, -1), ref(kFloat32, {}, {0}), "log_softmax of rank 0"));
    CHECK_NOTHROW(check(logsumexp(s, {0}), ref(kFloat32, {}, {2.5}), "logsumexp of rank 0"));
    CHECK_THROWS_AS(s.sum({1}), ShapeError);
}

TEST_CASE("mean over dims, floats", "[ops][reduce]") {
    for (DType dt : kFloats) {
        Tensor x = random_of({3, 4, 5}, dt);
        RefTensor hx = values_of(x);
        for (const auto& dims : kDimSets) {
            for (bool keepdim : {false, true}) {
                check(x.mean(dims, keepdim), host_mean(hx, dims, keepdim),
                      "mean(" + desc(x) + ", " + dims_str(dims, keepdim) + ")",
                      Tol{1, folded(x.sizes(), dims)});
            }
        }
    }
}

TEST_CASE("amax/amin/max/min over dims, numeric dtypes, NaN propagates", "[ops][reduce]") {
    for (DType dt : kNumeric) {
        Tensor x = random_of({3, 4, 5}, dt);
        RefTensor hx = values_of(x);
        double lo = dt == kInt32 ? -2147483648.0 : dt == kInt64 ? -9223372036854775808.0 : -kInf;
        for (const auto& dims : kDimSets) {
            for (bool keepdim : {false, true}) {
                std::string args = desc(x) + ", " + dims_str(dims, keepdim) + ")";
                check(x.amax(dims, keepdim), host::reduce(hx, dims, keepdim, dt, lo, nan_max),
                      "amax(" + args);
                check(x.amin(dims, keepdim), host::reduce(hx, dims, keepdim, dt, -lo, nan_min),
                      "amin(" + args);
            }
        }
        check(x.max(), host::reduce(hx, {}, false, dt, lo, nan_max), "max() of " + desc(x));
        check(x.min(), host::reduce(hx, {}, false, dt, -lo, nan_min), "min() of " + desc(x));
        check(x.permute({2, 0, 1}).amax({0, 2}),
              host::reduce(host::permute(hx, {2, 0, 1}), {0, 2}, false, dt, lo, nan_max),
              "amax of a permuted " + desc(x));
    }
    for (DType dt : kFloats) {
        Tensor x = make({1, kNaN, 3, -kInf, -kInf, -kInf, kInf, 2, kNaN, 0, -0.0, 5}, {4, 3}, dt);
        RefTensor hx = values_of(x);
        check(x.amax({1}), host::reduce(hx, {1}, false, dt, -kInf, nan_max), "amax with NaN/inf");
        check(x.amin({0}), host::reduce(hx, {0}, false, dt, kInf, nan_min), "amin with NaN/inf");
        check(x.max(), ref(dt, {}, {kNaN}), "max() with a NaN");
        check(x.min(), ref(dt, {}, {kNaN}), "min() with a NaN");
        check(x.slice(0, 1, 2).max(), ref(dt, {}, {-kInf}), "max() of all -inf");
    }
}

TEST_CASE("argmax: each dim, keepdim, ties pick the first index, NaN counts as max",
          "[ops][reduce][argmax]") {
    for (DType dt : kNumeric) {
        // Few distinct values: many ties.
        Tensor i = uniform({4, 5, 6}, kInt32, -2, 2);
        Tensor x = make(values_of(i).values, {4, 5, 6}, dt);
        RefTensor hx = values_of(x);
        for (int64_t dim : {0, 1, 2, -1, -3}) {
            for (bool keepdim : {false, true}) {
                check(x.argmax(dim, keepdim), host_argmax(hx, dim, keepdim),
                      "argmax(" + desc(x) + ", " + std::to_string(dim) +
                          (keepdim ? ", keepdim)" : ")"));
            }
        }
        check(x.transpose(0, 2).argmax(0), host_argmax(host::permute(hx, {2, 1, 0}), 0, false),
              "argmax of a transpose");
    }
    Tensor nan = make({1, kNaN, 3, kNaN, -kInf, 2, -kInf, -kInf, kInf, 7, 0, kInf}, {4, 3});
    check(nan.argmax(1), ref(kInt64, {4}, {1, 0, 2, 2}), "argmax with NaN and inf");
    check(nan.argmax(0), ref(kInt64, {3}, {1, 0, 2}), "argmax with NaN and inf over dim 0");
    check(make({5}, {1}).argmax(0, true), ref(kInt64, {1}, {0}), "argmax of one element");
}

TEST_CASE("var/std: unbiased both ways, dims, keepdim", "[ops][reduce][var]") {
    for (DType dt : kFloats) {
        Tensor x = normal({3, 4, 5}, dt, 2.0, 3.0);
        RefTensor hx = values_of(x);
        for (const auto& dims : kDimSets) {
            if (dims.empty()) continue;  // var({}) means all dims, covered below
            for (bool unbiased : {true, false}) {
                for (bool keepdim : {false, true}) {
                    std::string args = desc(x) + ", " + dims_str(dims, keepdim) +
                                       (unbiased ? ", unbiased)" : ", biased)");
                    RefTensor v = host_var(hx, dims, unbiased, keepdim);
                    Tol tol{2, folded(x.sizes(), dims)};
                    check(x.var(dims, unbiased, keepdim), v, "var(" + args, tol);
                    check(x.std(dims, unbiased, keepdim),
                          host::map(v, dt, [](double q) { return std::sqrt(q); }), "std(" + args,
                          tol);
                }
            }
        }
        check(x.var({}), host_var(hx, {}, true, false), "var over all dims", Tol{2, 60});
        // A single sample: unbiased variance is 0/0 = NaN (as in PyTorch), biased is 0.
        Tensor one = uniform({3, 1}, dt);
        check(one.var({1}), ref(dt, {3}, {kNaN, kNaN, kNaN}), "unbiased var of one sample");
        check(one.var({1}, false), ref(dt, {3}, {0, 0, 0}), "biased var of one sample");
        // A large offset: a one-pass formula (E[x^2] - E[x]^2) would cancel catastrophically.
        Tensor off = normal({1000}, dt, 1000.0, 1.0);
        check(off.var({0}), host_var(values_of(off), {0}, true, false), "var with a large mean",
              Tol{4, 1000});
        check(x.permute({1, 2, 0}).std({0, 1}),
              host::map(host_var(host::permute(hx, {1, 2, 0}), {0, 1}, true, false), dt,
                        [](double q) { return std::sqrt(q); }),
              "std of a permuted input", Tol{2, 20});
    }
}

TEST_CASE("softmax/log_softmax over each dim, stable for large inputs", "[ops][reduce][softmax]") {
    for (DType dt : kFloats) {
        Tensor x = random_of({3, 4, 5}, dt);
        RefTensor hx = values_of(x);
        for (int64_t dim : {0, 1, 2, -1, -2, -3}) {
            int64_t n = x.size(dim);
            check(softmax(x, dim), host_softmax(hx, dim, false),
                  "softmax(" + desc(x) + ", " + std::to_string(dim) + ")", Tol{2, n});
            check(log_softmax(x, dim), host_softmax(hx, dim, true),
                  "log_softmax(" + desc(x) + ", " + std::to_string(dim) + ")", Tol{2, n});
        }
        Tensor big = uniform({4, 7}, dt, 500, 1000);
        check(softmax(big, 1), host_softmax(values_of(big), 1, false), "softmax of large values",
              Tol{2, 7});
        check(log_softmax(big, 0), host_softmax(values_of(big), 0, true),
              "log_softmax of large values", Tol{2, 4});
        Tensor wide = normal({3, 1000}, dt, 0, 4);
        check(softmax(wide, -1), host_softmax(values_of(wide), 1, false), "softmax of long rows",
              Tol{2, 1000});
        Tensor one = uniform({5, 1}, dt);
        check(softmax(one, 1), ref(dt, {5, 1}, {1, 1, 1, 1, 1}), "softmax over a size-1 dim");
        Tensor r0 = make({3}, {}, dt);
        check(softmax(r0.unsqueeze(0), 0), ref(dt, {1}, {1}), "softmax of one element");
    }
}

TEST_CASE("softmax/log_softmax with -inf, inf and NaN", "[ops][reduce][softmax][special]") {
    // Row 0: a masked entry (-inf) gets probability 0. Row 1: +inf -> NaN (inf - inf), as in
    // PyTorch. Row 2: a NaN poisons the row. Row 3: all -inf -> NaN (0/0), as in PyTorch.
    Tensor x = make({0, -kInf, 1, kInf, 1, 2, kNaN, 0, 1, -kInf, -kInf, -kInf}, {4, 3});
    RefTensor hx = values_of(x);
    check(softmax(x, 1), host_softmax(hx, 1, false), "softmax with special values");
    check(log_softmax(x, 1), host_softmax(hx, 1, true), "log_softmax with special values");
}

TEST_CASE("logsumexp over dims, keepdim, -inf rows", "[ops][reduce][logsumexp]") {
    for (DType dt : kFloats) {
        Tensor x = random_of({3, 4, 5}, dt);
        RefTensor hx = values_of(x);
        for (const auto& dims : kDimSets) {
            for (bool keepdim : {false, true}) {
                check(logsumexp(x, dims, keepdim), host_logsumexp(hx, dims, keepdim),
                      "logsumexp(" + desc(x) + ", " + dims_str(dims, keepdim) + ")",
                      Tol{2, folded(x.sizes(), dims)});
            }
        }
        Tensor big = uniform({2, 6}, dt, 1000, 2000);
        check(logsumexp(big, {1}), host_logsumexp(values_of(big), {1}, false),
              "logsumexp of large values", Tol{2, 6});
        Tensor sp = make({-kInf, -kInf, 0, -kInf, kInf, 1, kNaN, 2, -kInf}, {3, 3}, dt);
        check(logsumexp(sp, {1}), ref(dt, {3}, {0, kInf, kNaN}), "logsumexp with -inf/inf/NaN");
        Tensor all_neg_inf = make({-kInf, -kInf}, {1, 2}, dt);
        check(logsumexp(all_neg_inf, {1}), ref(dt, {1}, {-kInf}), "logsumexp of an all -inf row");
        check(logsumexp(x.permute({2, 1, 0}).flip({0}), {0}),
              host_logsumexp(host::flip(host::permute(hx, {2, 1, 0}), {0}), {0}, false),
              "logsumexp of a permuted flip", Tol{2, 5});
    }
}

TEST_CASE("sum of NaN and inf; reductions of bool", "[ops][reduce][special]") {
    Tensor x = make({1, kNaN, kInf, -kInf, kInf, 2, 1, 2, 3}, {3, 3});
    check(x.sum({1}), ref(kFloat32, {3}, {kNaN, kNaN, 6}), "sum with NaN, inf - inf");
    check(x.sum({0}), ref(kFloat32, {3}, {-kInf, kNaN, kInf}), "sum over dim 0 with NaN");
    Tensor b = random_of({7, 9}, kBool);
    check(b.sum({1}), host_sum(values_of(b), {1}, false), "sum of bool counts trues");
    check(
        b.to(kInt32).amax({0}),
        host::reduce(host::cast(values_of(b), kInt32), {0}, false, kInt32, -2147483648.0, nan_max),
        "amax of bool as i32");
}
