// Gradients of reductions and the normalizations built from them (sum, mean, amax/amin,
// max/min, var/std, softmax, log_softmax, logsumexp), first and second order, over shapes with
// rank 0 and size-1 dims, against finite differences; and the exact split of max/min
// gradients among ties.
#include <algorithm>

#include "autograd/gradcheck.h"

namespace kiln::test {
namespace {

using T = const std::vector<Tensor>&;

const std::vector<Shape> kShapes = {{}, {1}, {5}, {2, 3}, {3, 1, 4}, {2, 3, 4}};

/// Dim lists to reduce over ({} means all dims), each tried on every shape it is legal for.
const std::vector<std::vector<int64_t>> kDimSets = {{}, {0}, {-1}, {1}, {0, 2}, {-1, 0}, {1, -1}};

/// Whether `dims` is a legal dim list for `shape`: in range (a rank-0 tensor accepts 0 and -1)
/// and without repeats.
bool legal_dims(const Shape& shape, const std::vector<int64_t>& dims) {
    int64_t rank = static_cast<int64_t>(shape.size());
    int64_t range = std::max<int64_t>(rank, 1);
    std::vector<int64_t> seen;
    for (int64_t d : dims) {
        if (d < -range || d >= range) return false;
        int64_t w = d < 0 ? d + range : d;
        if (rank > 0 && std::find(seen.begin(), seen.end(), w) != seen.end()) return false;
        seen.push_back(w);
    }
    return true;
}

/// How many elements each output element of a reduction over `dims` combines.
int64_t reduced_count(const Shape& shape, const std::vector<int64_t>& dims) {
    int64_t rank = static_cast<int64_t>(shape.size());
    if (rank == 0) return 1;
    if (dims.empty()) return ir::numel(shape);
    int64_t n = 1;
    for (int64_t d : dims) n *= shape[static_cast<size_t>(d < 0 ? d + rank : d)];
    return n;
}

std::string dims_str(const std::vector<int64_t>& dims, bool keepdim) {
    return ir::ints_str(dims) + (keepdim ? " keepdim" : "");
}

/// Values at least 0.2 apart (far beyond the finite-difference steps), in random order: max,
/// min and their gradients are smooth around them.
Tensor distinct(const Shape& shape) {
    size_t n = static_cast<size_t>(ir::numel(shape));
    std::vector<double> jitter =
        uniform({static_cast<int64_t>(n)}, kFloat64, 0, 0.05).to_vector<double>();
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = (static_cast<double>(i) - static_cast<double>(n) / 2) * 0.25 + jitter[i];
    std::shuffle(v.begin(), v.end(), rng());
    return make(v, shape, kFloat64);
}

/// gradcheck and gradgradcheck of f at x.
void both(const std::string& what, const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
    auto g = [&](T in) { return f(in[0]); };
    gradcheck(what, g, {x});
    gradgradcheck(what, g, {x});
}

}  // namespace

TEST_CASE("sum gradients, over all and over dims", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        Tensor x = uniform(shape, kFloat64, -2, 2);
        both(
            "sum() " + desc(x), [](const Tensor& t) { return t.sum(); }, x);
        // Nonlinear around the sum, so the second order is not just zero.
        both(
            "sum()^2 " + desc(x), [](const Tensor& t) { return t.sum() * t.sum(); }, x);
        for (const auto& dims : kDimSets) {
            if (!legal_dims(shape, dims)) continue;
            for (bool keepdim : {false, true}) {
                both(
                    "sum" + dims_str(dims, keepdim) + " " + desc(x),
                    [&](const Tensor& t) { return t.sum(dims, keepdim); }, x);
            }
            both(
                "sum" + dims_str(dims, false) + " * x " + desc(x),
                [&](const Tensor& t) { return t.sum(dims, true) * t; }, x);
        }
    }
}

TEST_CASE("mean gradients, over all and over dims", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        Tensor x = uniform(shape, kFloat64, -2, 2);
        both(
            "mean() " + desc(x), [](const Tensor& t) { return t.mean(); }, x);
        both(
            "mean()^2 " + desc(x), [](const Tensor& t) { return t.mean().pow(2); }, x);
        for (const auto& dims : kDimSets) {
            if (!legal_dims(shape, dims)) continue;
            for (bool keepdim : {false, true}) {
                both(
                    "mean" + dims_str(dims, keepdim) + " " + desc(x),
                    [&](const Tensor& t) { return t.mean(dims, keepdim); }, x);
            }
            both(
                "x - mean" + dims_str(dims, true) + " squared " + desc(x),
                [&](const Tensor& t) { return (t - t.mean(dims, true)).pow(2); }, x);
        }
    }
}

TEST_CASE("amax and amin gradients over dims, distinct values", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        Tensor x = distinct(shape);
        for (const auto& dims : kDimSets) {
            if (!legal_dims(shape, dims)) continue;
            for (bool keepdim : {false, true}) {
                both(
                    "amax" + dims_str(dims, keepdim) + " " + desc(x),
                    [&](const Tensor& t) { return t.amax(dims, keepdim); }, x);
                both(
                    "amin" + dims_str(dims, keepdim) + " " + desc(x),
                    [&](const Tensor& t) { return t.amin(dims, keepdim); }, x);
            }
            // A smooth function of the extreme, so the second order is not just zero.
            both(
                "amax" + dims_str(dims, true) + " * x " + desc(x),
                [&](const Tensor& t) { return t.amax(dims, true) * t; }, x);
        }
    }
}

TEST_CASE("max and min over all elements, distinct values", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        Tensor x = distinct(shape);
        both(
            "max() " + desc(x), [](const Tensor& t) { return t.max(); }, x);
        both(
            "min() " + desc(x), [](const Tensor& t) { return t.min(); }, x);
        both(
            "max()^2 - min() " + desc(x), [](const Tensor& t) { return t.max().pow(2) - t.min(); },
            x);
        both(
            "x - max() " + desc(x), [](const Tensor& t) { return (t - t.max()).exp(); }, x);
    }
}

TEST_CASE("max and min gradients are split evenly among ties", "[autograd][reduce]") {
    // x[0][i][j][k], i and j over 3, k over 2. Over dims {1, 2}: column k = 0 has max 5 three
    // times, column k = 1 has max 2 four times.
    const std::vector<double> xv = {1, 2, 5, 2, 2, 0, 5, -3, 0, 1, 5, 2, 3, 0, -1, 2, 4, -1};
    SECTION("amax over dims {1, 2}") {
        Tensor x = make(xv, {1, 3, 3, 2}, kFloat64).requires_grad_();
        Tensor y = x.amax({1, 2});
        REQUIRE(y.sizes() == std::vector<int64_t>{1, 2});
        CHECK(y.to_vector<double>() == std::vector<double>{5, 2});
        Tensor g = make({3, 8}, {1, 2}, kFloat64);
        std::vector<Tensor> grads = autograd::grad({y}, {x}, {g});
        REQUIRE(grads.size() == 1);
        REQUIRE(grads[0].sizes() == std::vector<int64_t>{1, 3, 3, 2});
        CHECK(grads[0].to_vector<double>() ==
              std::vector<double>{0, 2, 1, 2, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0, 0, 2, 0, 0});
        check(grads[0], "amax tie gradient vs the reference");
    }
    SECTION("amax over dims {1, 2} with keepdim, through backward()") {
        Tensor x = make(xv, {1, 3, 3, 2}, kFloat64).requires_grad_();
        Tensor y = x.amax({-2, 1}, true);
        REQUIRE(y.sizes() == std::vector<int64_t>{1, 1, 1, 2});
        y.backward(make({3, 8}, {1, 1, 1, 2}, kFloat64));
        REQUIRE(x.grad().defined());
        CHECK(x.grad().to_vector<double>() ==
              std::vector<double>{0, 2, 1, 2, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0, 0, 2, 0, 0});
    }
    SECTION("max over all elements") {
        // The max 5 appears three times; the gradient 3 gives each of them 1.
        Tensor x = make(xv, {1, 3, 3, 2}, kFloat64).requires_grad_();
        Tensor y = x.max();
        CHECK(y.item<double>() == 5);
        std::vector<Tensor> grads = autograd::grad({y}, {x}, {make({3}, {}, kFloat64)});
        CHECK(grads[0].to_vector<double>() ==
              std::vector<double>{0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
        // With the default gradient of 1, each tie gets exactly 1/3 (one f64 division).
        std::vector<Tensor> ones = autograd::grad({x.max()}, {x});
        std::vector<double> got = ones[0].to_vector<double>();
        for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == (xv[i] == 5 ? 1.0 / 3.0 : 0.0));
    }
    SECTION("amin over dim 1 and min over all elements") {
        // w[0][i][j][k]; over i, the columns (j, k) are: (0,0) [0,0,0] three ties; (0,1) [1,2,1]
        // ties at i = 0, 2; (1,0) [4,-2,4] unique; (1,1) [-1,-1,3] ties at i = 0, 1; (2,0)
        // [2,3,2] ties at i = 0, 2; (2,1) [5,6,7] unique.
        const std::vector<double> wv = {0, 1, 4, -1, 2, 5, 0, 2, -2, -1, 3, 6, 0, 1, 4, 3, 2, 7};
        Tensor w = make(wv, {1, 3, 3, 2}, kFloat64).requires_grad_();
        Tensor y = w.amin({1});
        REQUIRE(y.sizes() == std::vector<int64_t>{1, 3, 2});
        CHECK(y.to_vector<double>() == std::vector<double>{0, 1, -2, -1, 2, 5});
        Tensor g = make({3, 4, 5, 6, 7, 8}, {1, 3, 2}, kFloat64);
        std::vector<Tensor> grads = autograd::grad({y}, {w}, {g});
        CHECK(grads[0].to_vector<double>() == std::vector<double>{1, 2, 0, 3, 3.5, 8,  //
                                                                  1, 0, 5, 3, 0, 0,    //
                                                                  1, 2, 0, 0, 3.5, 0});
        check(grads[0], "amin tie gradient vs the reference");
        // The min -2 over all is unique.
        std::vector<Tensor> all = autograd::grad({w.min()}, {w}, {make({4}, {}, kFloat64)});
        std::vector<double> want(wv.size(), 0.0);
        want[8] = 4;
        CHECK(all[0].to_vector<double>() == want);
    }
    SECTION("a constant tensor: every element ties") {
        Tensor c = make(std::vector<double>(6, 1.5), {2, 3}, kFloat64).requires_grad_();
        std::vector<Tensor> rows =
            autograd::grad({c.amax({1})}, {c}, {make({6, 9}, {2}, kFloat64)});
        CHECK(rows[0].to_vector<double>() == std::vector<double>{2, 2, 2, 3, 3, 3});
        std::vector<Tensor> all = autograd::grad({c.min()}, {c}, {make({12}, {}, kFloat64)});
        CHECK(all[0].to_vector<double>() == std::vector<double>(6, 2.0));
    }
}

TEST_CASE("var and std gradients, biased and unbiased", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        // std over two elements is |x0 - x1| / c, with a kink where they meet: keep every
        // pair far apart compared with the finite-difference steps.
        Tensor x = distinct(shape);
        for (const auto& dims : kDimSets) {
            if (!legal_dims(shape, dims)) continue;
            int64_t count = reduced_count(shape, dims);
            for (bool unbiased : {true, false}) {
                // One element: unbiased divides by 0, and std = sqrt(0) has no derivative.
                if (count == 1 && unbiased) continue;
                for (bool keepdim : {false, true}) {
                    std::string tag =
                        dims_str(dims, keepdim) + (unbiased ? " unbiased " : " biased ");
                    both(
                        "var" + tag + desc(x),
                        [&](const Tensor& t) { return t.var(dims, unbiased, keepdim); }, x);
                    // std is sqrt of the same var graph: one keepdim per unbiased suffices.
                    if (count > 1 && keepdim == unbiased) {
                        both(
                            "std" + tag + desc(x),
                            [&](const Tensor& t) { return t.std(dims, unbiased, keepdim); }, x);
                    }
                }
            }
        }
    }
}

TEST_CASE("softmax and log_softmax gradients over dims 0, 1, -1", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        Tensor x = normal(shape, kFloat64, 0, 1.5);
        for (int64_t dim : {0, 1, -1}) {
            if (!legal_dims(shape, {dim})) continue;
            std::string tag = "(" + std::to_string(dim) + ") " + desc(x);
            both(
                "softmax" + tag, [&](const Tensor& t) { return kiln::softmax(t, dim); }, x);
            both(
                "log_softmax" + tag, [&](const Tensor& t) { return kiln::log_softmax(t, dim); }, x);
        }
    }
    // Inputs with a large spread (the max shift matters) and ties at the row max.
    Tensor wide = make({8, -4, 8, 0.5, 1, -9}, {2, 3}, kFloat64);
    both(
        "softmax(1) with a tied max", [](const Tensor& t) { return kiln::softmax(t, 1); }, wide);
    both(
        "log_softmax(1) with a tied max", [](const Tensor& t) { return kiln::log_softmax(t, 1); },
        wide);
}

TEST_CASE("logsumexp gradients over dims, with and without keepdim", "[autograd][reduce]") {
    for (const Shape& shape : kShapes) {
        Tensor x = normal(shape, kFloat64, 0, 1.5);
        for (const auto& dims : kDimSets) {
            if (!legal_dims(shape, dims)) continue;
            for (bool keepdim : {false, true}) {
                both(
                    "logsumexp" + dims_str(dims, keepdim) + " " + desc(x),
                    [&](const Tensor& t) { return kiln::logsumexp(t, dims, keepdim); }, x);
            }
        }
    }
    Tensor wide = make({8, -4, 8, 0.5, 1, -9}, {2, 3}, kFloat64);
    both(
        "logsumexp{1} with a tied max", [](const Tensor& t) { return kiln::logsumexp(t, {1}); },
        wide);
}

}  // namespace kiln::test
