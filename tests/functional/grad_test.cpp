// Gradients of the functional ops (kiln/functional.h) against central finite differences, for
// every differentiable input, on small float64 inputs; second order for linear, layer_norm and
// the smooth losses. Dropout's mask is random, so it is checked by its statistics and by the
// pattern of its gradient instead.
#include <algorithm>
#include <numeric>

#include "autograd/gradcheck.h"
#include "functional/reductions.h"

namespace kiln::test {
namespace {

namespace F = kiln::nn::functional;
using F::Reduction;
using T = const std::vector<Tensor>&;

void both(const std::string& what, const GradFn& f, const std::vector<Tensor>& inputs) {
    gradcheck(what, f, inputs);
    gradgradcheck(what, f, inputs);
}

/// Distinct values (a shuffled grid, 0.25 apart), so max pooling has no ties.
Tensor distinct(const Shape& shape) {
    int64_t n = ir::numel(shape);
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = 0.25 * static_cast<double>(i) - 0.125 * double(n);
    std::shuffle(v.begin(), v.end(), rng());
    return kiln::tensor(v, shape, kFloat64);
}

}  // namespace

TEST_CASE("conv2d gradients", "[functional][grad][conv]") {
    struct Case {
        std::string name;
        Shape x, w;
        std::vector<int64_t> stride, padding, dilation;
        int64_t groups;
        bool bias;
    };
    const std::vector<Case> cases{
        {"plain", {2, 2, 4, 4}, {3, 2, 2, 2}, {1, 1}, {0, 0}, {1, 1}, 1, true},
        {"stride 2 padding 1", {1, 2, 5, 5}, {2, 2, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, true},
        {"dilation 2", {1, 2, 5, 5}, {2, 2, 2, 2}, {1, 1}, {0, 0}, {2, 2}, 1, false},
        {"groups 2", {1, 4, 4, 4}, {4, 2, 2, 2}, {1, 1}, {1, 1}, {1, 1}, 2, true},
        {"per-axis", {1, 2, 5, 4}, {2, 1, 3, 2}, {2, 1}, {1, 0}, {1, 2}, 2, false},
        {"unbatched", {2, 4, 4}, {2, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, true},
        // Padding wider than the kernel's reach: the input gradient is no stride-1 conv of dy.
        {"padding 2 of a 2x2 kernel", {1, 2, 3, 3}, {2, 2, 2, 2}, {1, 1}, {2, 2}, {1, 1}, 1, false},
        {"dilation 2 padding 2", {2, 2, 5, 5}, {2, 2, 3, 3}, {1, 1}, {2, 2}, {2, 2}, 1, true},
    };
    for (const Case& c : cases) {
        std::vector<Tensor> in{uniform(c.x, kFloat64, -1, 1), uniform(c.w, kFloat64, -1, 1)};
        if (c.bias) in.push_back(uniform({c.w[0]}, kFloat64, -1, 1));
        gradcheck(
            "conv2d " + c.name,
            [&](T t) {
                return kiln::conv2d(t[0], t[1], c.bias ? t[2] : Tensor(), c.stride, c.padding,
                                    c.dilation, c.groups);
            },
            in);
    }
}

TEST_CASE("conv2d gradients in float32 at network sizes agree with float64",
          "[functional][grad][conv][f32]") {
    // The float32 tiles and their remainders (rows and columns) at the sizes of the
    // Fashion-MNIST CNN, checked against the float64 path that the gradchecks verify.
    struct Case {
        Shape x, w;
        int64_t stride;
    };
    const std::vector<Case> cases{{{3, 1, 28, 28}, {16, 1, 3, 3}, 1},
                                  {{3, 16, 14, 14}, {32, 16, 3, 3}, 1},
                                  {{2, 16, 14, 14}, {32, 16, 3, 3}, 2}};
    for (const Case& c : cases) {
        Tensor x64 = uniform(c.x, kFloat64, -1, 1), w64 = uniform(c.w, kFloat64, -1, 1);
        Tensor x32 = x64.to(kFloat32).requires_grad_(), w32 = w64.to(kFloat32).requires_grad_();
        x64.requires_grad_();
        w64.requires_grad_();
        std::vector<int64_t> stride{c.stride, c.stride}, padding{1, 1};
        Tensor y64 = kiln::conv2d(x64, w64, {}, stride, padding);
        Tensor r = uniform(y64.sizes(), kFloat64, -1, 1);
        (y64 * r).sum().backward();
        (kiln::conv2d(x32, w32, {}, stride, padding) * r.to(kFloat32)).sum().backward();
        std::string what = ir::shape_str(c.x) + " * " + ir::shape_str(c.w) + " stride " +
                           std::to_string(c.stride);
        auto check = [&](const std::string& name, const Tensor& want, const Tensor& got) {
            std::vector<double> a = want.to_vector<double>();
            std::vector<float> b = got.to_vector<float>();
            REQUIRE(a.size() == b.size());
            double worst = 0;
            for (size_t i = 0; i < a.size(); ++i)
                worst = std::max(worst, std::abs(a[i] - b[i]) / (1 + std::abs(a[i])));
            INFO(what << " " << name);
            CHECK(worst < 1e-4);
        };
        check("forward", y64, kiln::conv2d(x32, w32, {}, stride, padding).detach());
        check("input grad", x64.grad(), x32.grad());
        check("weight grad", w64.grad(), w32.grad());
    }
}

TEST_CASE("max_pool2d and avg_pool2d gradients", "[functional][grad][pool]") {
    struct Case {
        Shape x;
        std::vector<int64_t> kernel, stride, padding;
    };
    const std::vector<Case> cases{
        {{1, 2, 4, 4}, {2, 2}, {}, {0, 0}},      // non-overlapping windows
        {{1, 2, 5, 5}, {3, 3}, {2, 2}, {1, 1}},  // overlapping, padded
        {{2, 4, 5}, {3, 2}, {1, 1}, {1, 1}},     // unbatched, stride 1: each value in many windows
        {{1, 1, 6, 5}, {2, 3}, {2, 1}, {0, 1}},  // per-axis values
    };
    for (const Case& c : cases) {
        std::string what = ir::shape_str(c.x) + " kernel " + ir::ints_str(c.kernel) + " stride " +
                           ir::ints_str(c.stride) + " padding " + ir::ints_str(c.padding);
        gradcheck("max_pool2d " + what,
                  [&](T t) { return kiln::max_pool2d(t[0], c.kernel, c.stride, c.padding); },
                  {distinct(c.x)});
        gradcheck("avg_pool2d " + what,
                  [&](T t) { return kiln::avg_pool2d(t[0], c.kernel, c.stride, c.padding); },
                  {uniform(c.x, kFloat64)});
    }
}

TEST_CASE("linear gradients, first and second order", "[functional][grad][linear]") {
    for (const Shape& xs : {Shape{4}, Shape{3, 4}, Shape{2, 3, 4}}) {
        Tensor x = uniform(xs, kFloat64, -1.5, 1.5);
        Tensor w = uniform({3, 4}, kFloat64, -1, 1);
        Tensor b = uniform({3}, kFloat64, -1, 1);
        std::string s = ir::shape_str(xs);
        both("linear " + s + " with bias", [](T t) { return kiln::linear(t[0], t[1], t[2]); },
             {x, w, b});
        both("linear " + s + " without bias", [](T t) { return kiln::linear(t[0], t[1]); }, {x, w});
        // Squared, so the second order is not only the bilinear cross terms.
        both("linear " + s + " squared", [](T t) { return kiln::linear(t[0], t[1], t[2]).pow(2); },
             {x, w, b});
    }
}

TEST_CASE("layer_norm gradients, first and second order", "[functional][grad][layer_norm]") {
    Tensor x = normal({2, 3, 4}, kFloat64, 0.3, 1.5);
    Tensor w1 = uniform({4}, kFloat64, -2, 2), b1 = uniform({4}, kFloat64, -2, 2);
    Tensor w2 = uniform({3, 4}, kFloat64, -2, 2), b2 = uniform({3, 4}, kFloat64, -2, 2);
    both("layer_norm over [4] with weight and bias",
         [](T t) { return kiln::layer_norm(t[0], {4}, t[1], t[2]); }, {x, w1, b1});
    both("layer_norm over [4] without affine", [](T t) { return kiln::layer_norm(t[0], {4}); },
         {x});
    both("layer_norm over [3, 4] with weight and bias",
         [](T t) {
             return kiln::layer_norm(t[0], {3, 4}, t[1], t[2], 0.1);
         },
         {x, w2, b2});
    both("layer_norm over [3, 4] with weight only",
         [](T t) {
             return kiln::layer_norm(t[0], {3, 4}, t[1]);
         },
         {x, w2});
}

TEST_CASE("embedding, gather and index_select gradients accumulate repeats",
          "[functional][grad][indexing]") {
    Tensor w = uniform({5, 3}, kFloat64);
    Tensor ids1 = make({4, 0, 4, 2, 4, 1}, {6}, kInt64);
    Tensor ids2 = make({1, 1, 3, 0, 4, 1}, {2, 3}, kInt64);
    gradcheck("embedding rank-1 ids", [&](T t) { return kiln::embedding(t[0], ids1); }, {w});
    gradcheck("embedding rank-2 ids", [&](T t) { return kiln::embedding(t[0], ids2); }, {w});
    // Second order differentiates the scatter_add of the first: a gather of whole rows.
    gradgradcheck("embedding squared", [&](T t) {
        Tensor e = kiln::embedding(t[0], ids2);
        return e * e;
    }, {w});

    Tensor src = uniform({3, 4, 2}, kFloat64);
    for (int64_t dim : {0, 1, -1}) {
        int64_t d = dim < 0 ? dim + 3 : dim;
        Shape is{2, 3, 2};
        is[d] = 5;  // longer than the input along dim: repeats are certain
        Tensor idx = uniform(is, kInt64, 0, static_cast<double>(src.sizes()[d] - 1));
        gradcheck("gather dim " + std::to_string(dim),
                  [&](T t) { return kiln::gather(t[0], dim, idx); }, {src});
    }
    Tensor m = uniform({4, 5}, kFloat64);
    Tensor i0 = make({3, 0, 3, 1, 3}, {5}, kInt64);
    Tensor i1 = make({4, 4, 0}, {3}, kInt64);
    gradcheck("index_select dim 0", [&](T t) { return kiln::index_select(t[0], 0, i0); }, {m});
    gradcheck("index_select dim 1", [&](T t) { return kiln::index_select(t[0], 1, i1); }, {m});

    // The accumulated embedding gradient, exactly: row r gets (count of r) * the cotangent.
    Tensor leaf = w.detach().requires_grad_();
    kiln::embedding(leaf, ids1).sum().backward();
    CHECK(leaf.grad().to_vector<double>() ==
          std::vector<double>{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 3, 3, 3});
}

TEST_CASE("cross_entropy and nll_loss gradients", "[functional][grad][cross_entropy]") {
    struct Case {
        Shape logits, targets;
    };
    for (const Case& c : {Case{{3, 4}, {3}}, Case{{2, 3, 2}, {2, 2}}, Case{{4}, {}}}) {
        int64_t classes = c.logits.size() == 1 ? c.logits[0] : c.logits[1];
        Tensor logits = normal(c.logits, kFloat64, 0, 1.5);
        Tensor targets = uniform(c.targets, kInt64, 0, static_cast<double>(classes - 1));
        std::string s = ir::shape_str(c.logits);
        for (Reduction r : kReductions) {
            for (double ls : {0.0, 0.1}) {
                gradcheck("cross_entropy " + s + " label_smoothing " + std::to_string(ls) + " " +
                              name_of(r),
                          [&](T t) { return F::cross_entropy(t[0], targets, ls, r); }, {logits});
            }
            gradcheck("nll_loss " + s + " " + name_of(r),
                      [&](T t) { return F::nll_loss(t[0], targets, r); }, {logits});
        }
        gradgradcheck("cross_entropy " + s, [&](T t) { return F::cross_entropy(t[0], targets); },
                      {logits});
        gradgradcheck("cross_entropy " + s + " label_smoothing 0.1 sum",
                      [&](T t) { return F::cross_entropy(t[0], targets, 0.1, Reduction::Sum); },
                      {logits});
    }
}

TEST_CASE("mse_loss, l1_loss and bce_with_logits gradients", "[functional][grad][losses]") {
    for (Reduction r : kReductions) {
        Tensor a = uniform({3, 4}, kFloat64), b = uniform({3, 4}, kFloat64);
        both(std::string("mse_loss ") + name_of(r), [r](T t) { return F::mse_loss(t[0], t[1], r); },
             {a, b});
        gradcheck(std::string("l1_loss ") + name_of(r),
                  [r](T t) { return F::l1_loss(t[0], t[1], r); }, {a, b});
        Tensor x = uniform({3, 4}, kFloat64, -4, 4), y = uniform({3, 4}, kFloat64, 0, 1);
        both(std::string("bce_with_logits ") + name_of(r),
             [r](T t) { return F::binary_cross_entropy_with_logits(t[0], t[1], r); }, {x, y});
    }
    // Large |x|: the gradient is sigmoid(x) - y, still finite.
    Tensor x = make({30, -30, 50, -50, 0.5, -0.5}, {6}, kFloat64);
    Tensor y = make({0, 1, 0.5, 0.25, 1, 0}, {6}, kFloat64);
    both("bce_with_logits of large |x|",
         [](T t) { return F::binary_cross_entropy_with_logits(t[0], t[1], Reduction::Sum); },
         {x, y});
}

TEST_CASE("dropout: identity when off, Bernoulli mask when training",
          "[functional][grad][dropout]") {
    kiln::manual_seed(20240611);
    Tensor x = uniform({4, 5}, kFloat64);
    std::vector<double> xv = x.to_vector<double>();
    CHECK(kiln::dropout(x, 0.5, false).to_vector<double>() == xv);  // train = false
    CHECK(kiln::dropout(x, 0.0, true).to_vector<double>() == xv);   // p = 0
    CHECK(kiln::dropout(x, 0.0, false).to_vector<double>() == xv);
    CHECK(kiln::dropout(x, 1.0, true).to_vector<double>() == std::vector<double>(20, 0.0));

    const int64_t n = 10000;
    Tensor ones = kiln::ones({n}, kFloat64).requires_grad_();
    Tensor y = kiln::dropout(ones, 0.5);
    std::vector<double> yv = y.to_vector<double>();
    int64_t zeros = std::count(yv.begin(), yv.end(), 0.0);
    int64_t twos = std::count(yv.begin(), yv.end(), 2.0);
    CHECK(zeros + twos == n);  // kept values are exactly 1 / (1 - p) = 2
    double frac = double(zeros) / double(n);
    CHECK(frac > 0.47);
    CHECK(frac < 0.53);
    y.sum().backward();
    // The gradient is the mask scaled: 2 where kept, 0 where dropped (= output / input).
    CHECK(ones.grad().to_vector<double>() == yv);

    // The same seed gives the same mask; the generator moves on otherwise.
    kiln::manual_seed(7);
    std::vector<double> m1 = kiln::dropout(kiln::ones({64}, kFloat64), 0.5).to_vector<double>();
    std::vector<double> m2 = kiln::dropout(kiln::ones({64}, kFloat64), 0.5).to_vector<double>();
    kiln::manual_seed(7);
    std::vector<double> m3 = kiln::dropout(kiln::ones({64}, kFloat64), 0.5).to_vector<double>();
    CHECK(m1 == m3);
    CHECK(m1 != m2);

    // Float32 and a non-trivial input: kept values are x / (1 - p), gradient pattern matches.
    Tensor x32 = uniform({2000}, kFloat32, 1, 2).requires_grad_();
    Tensor y32 = kiln::dropout(x32, 0.25);
    std::vector<float> a = x32.to_vector<float>(), b = y32.to_vector<float>();
    y32.sum().backward();
    std::vector<float> g = x32.grad().to_vector<float>();
    int64_t dropped = 0;
    bool ok = true;
    for (size_t i = 0; i < a.size(); ++i) {
        if (b[i] == 0) {
            ++dropped;
            ok &= g[i] == 0;
        } else {
            ok &= std::abs(b[i] - a[i] / 0.75f) <= 1e-6f * std::abs(b[i]);
            ok &= std::abs(g[i] - 1 / 0.75f) <= 1e-6f;
        }
    }
    CHECK(ok);
    CHECK(std::abs(double(dropped) / 2000 - 0.25) < 0.05);
}

}  // namespace kiln::test
