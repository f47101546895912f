// Chains that fuse (elementwise into reductions, normalizations, views into consumers),
// realized tensors reused in later graphs, several outputs realized together, the program
// cache serving new inputs, and NaN/inf flowing through fused kernels.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::nan("");

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }

}  // namespace

TEST_CASE("gelu(x*w+b)*sigmoid(x)+x*x with broadcast weights", "[ops][fusion]") {
    for (DType dt : kFloats) {
        for (const Shape& s : std::vector<Shape>{{7}, {33, 65}, {4, 1000}, {}}) {
            Tensor x = normal(s, dt);
            Shape ws = s.empty() ? Shape{} : Shape{s.back()};
            Tensor w = normal(ws, dt), b = normal(ws, dt);
            RefTensor hx = values_of(x), hw = values_of(w), hb = values_of(b);
            RefTensor lin = host::zip(host::zip(hx, hw, dt, std::multiplies<double>()), hb, dt,
                                      std::plus<double>());
            RefTensor g = host::map(lin, dt, gelu_ref);
            RefTensor sg = host::map(hx, dt, sigmoid_ref);
            RefTensor want = host::zip(host::zip(g, sg, dt, std::multiplies<double>()),
                                       host::map(hx, dt, [](double v) { return v * v; }), dt,
                                       std::plus<double>());
            check(gelu(x * w + b) * sigmoid(x) + x * x, want,
                  "gelu(x*w+b)*sigmoid(x)+x*x on " + desc(x), Tol{4});
        }
    }
}

TEST_CASE("layernorm-style (x-mean)/sqrt(var+eps)*w+b", "[ops][fusion]") {
    for (DType dt : kFloats) {
        for (const Shape& s : std::vector<Shape>{{8, 32}, {3, 5, 129}, {1, 1}}) {
            Tensor x = normal(s, dt, 1.5, 2.0);
            int64_t n = s.back();
            Tensor w = normal({n}, dt), b = normal({n}, dt);
            Tensor mean = x.mean({-1}, true);
            Tensor var = x.var({-1}, false, true);
            Tensor y = (x - mean) / sqrt(var + 1e-5) * w + b;
            RefTensor hx = values_of(x);
            int64_t last = static_cast<int64_t>(s.size()) - 1;
            RefTensor hm =
                host::reduce(hx, {last}, true, dt, 0, std::plus<double>(),
                             [](double v, int64_t k) { return v / static_cast<double>(k); });
            RefTensor d = host::zip(hx, hm, dt, std::minus<double>());
            RefTensor hv = host::reduce(host::map(d, dt, [](double v) { return v * v; }), {last},
                                        true, dt, 0, std::plus<double>(), [](double v, int64_t k) {
                                            return v / static_cast<double>(k);
                                        });
            RefTensor norm =
                host::zip(d, hv, dt, [](double a, double v) { return a / std::sqrt(v + 1e-5); });
            RefTensor want = host::zip(host::zip(norm, values_of(w), dt, std::multiplies<double>()),
                                       values_of(b), dt, std::plus<double>());
            // Normalized values divide by a small std: errors grow with 1/std and the row length.
            check(y, want, "layernorm of " + desc(x), Tol{8, n});
        }
    }
}

TEST_CASE("softmax of a transposed input; reduce of a padded cat", "[ops][fusion]") {
    Tensor x = normal({6, 9});
    RefTensor hx = values_of(x);
    RefTensor ht = host::permute(hx, {1, 0});
    Tensor sm = softmax(x.t(), -1);
    RefTensor m = host::reduce(ht, {1}, true, kFloat32, -kInf,
                               [](double a, double v) { return std::max(a, v); });
    RefTensor e = host::zip(ht, m, kFloat32, [](double v, double mx) { return std::exp(v - mx); });
    RefTensor se = host::reduce(e, {1}, true, kFloat32, 0, std::plus<double>());
    check(sm, host::zip(e, se, kFloat32, std::divides<double>()), "softmax(x.t(), -1)", Tol{2, 6});
    RefTensor lse = host::zip(host::map(se, kFloat32, [](double v) { return std::log(v); }), m,
                              kFloat32, std::plus<double>());
    check(log_softmax(x.t(), 1), host::zip(ht, lse, kFloat32, std::minus<double>()),
          "log_softmax(x.t(), 1)", Tol{2, 6});

    Tensor a = normal({3, 4}), b = normal({3, 2});
    Tensor c = cat({a, zeros({3, 3}), b.exp()}, 1);
    RefTensor hc =
        host::cat({values_of(a), ref(kFloat32, {3, 3}, std::vector<double>(9, 0.0)),
                   host::map(values_of(b), kFloat32, [](double v) { return std::exp(v); })},
                  1, kFloat32);
    check(c.sum({1}), host::reduce(hc, {1}, false, kFloat32, 0, std::plus<double>()),
          "sum of a padded cat", Tol{1, 9});
    check(c.amax({0}),
          host::reduce(hc, {0}, false, kFloat32, -kInf,
                       [](double p, double q) { return std::max(p, q); }),
          "amax of a padded cat");
    check(softmax(c, 1).sum({1}), ref(kFloat32, {3}, {1, 1, 1}), "softmax rows of a cat sum to 1",
          Tol{2, 9});
}

TEST_CASE("realized tensors reused in later graphs", "[ops][fusion][realize]") {
    Tensor x = normal({5, 7});
    RefTensor hx = values_of(x);
    Tensor y = exp(x) * 2;
    RefTensor hy = host::map(hx, kFloat32, [](double v) { return std::exp(v) * 2; });
    check(y, hy, "y = exp(x)*2");
    // y is now an input buffer; new graphs over it must see the same values.
    check(y + 1, host::map(hy, kFloat32, [](double v) { return v + 1; }), "y + 1 after realize");
    check(y.t().sum({1}),
          host::reduce(host::permute(hy, {1, 0}), {1}, false, kFloat32, 0, std::plus<double>()),
          "y.t().sum after realize", Tol{1, 5});
    // A graph that still refers to the old computation (exp(x)*2 recorded again) reuses it.
    Tensor again = exp(x) * 2 - y;
    // (The interpreter recomputes exp(x)*2 in double, so it differs from y by y's rounding.)
    check(again, ref(kFloat32, {5, 7}, std::vector<double>(35, 0.0)), "exp(x)*2 - y == 0", Tol{50});
    // Realize part of a chain, then continue it.
    Tensor z = (x * 3).realize();
    check(z.sigmoid() + z,
          host::map(hx, kFloat32, [](double v) { return sigmoid_ref(3 * v) + 3 * v; }),
          "continue a realized chain");
    // realize() on an already realized tensor is a no-op and keeps the values.
    y.realize();
    CHECK(compare(hy, values_of(y), {}, true).empty());
}

TEST_CASE("several outputs realized together share one program", "[ops][fusion][realize]") {
    Tensor x = normal({16, 8});
    RefTensor hx = values_of(x);
    Tensor s = x.sum({1});
    Tensor m = x.amax({1});
    Tensor e = exp(x - m.unsqueeze(1));
    Tensor same = x.sum({1});  // the same node as s (hash-consed)
    Tensor rx = x.t();
    RefTensor want_s = host::reduce(hx, {1}, false, kFloat32, 0, std::plus<double>());
    RefTensor want_m = host::reduce(hx, {1}, false, kFloat32, -kInf,
                                    [](double a, double v) { return std::max(a, v); });
    RefTensor want_e = host::zip(hx, host::reshape(want_m, {16, 1}), kFloat32,
                                 [](double v, double mx) { return std::exp(v - mx); });
    RefTensor ref_s = reference(s), ref_m = reference(m), ref_e = reference(e),
              ref_t = reference(rx);
    realize({s, m, e, same, rx, s});
    CHECK(compare(ref_s, values_of(s), Tol{1, 8}, true).empty());
    CHECK(compare(want_s, values_of(s), Tol{1, 8}, true).empty());
    CHECK(compare(want_m, values_of(m), {}, true).empty());
    CHECK(compare(ref_m, values_of(m), {}, true).empty());
    CHECK(compare(want_e, values_of(e), {}, true).empty());
    CHECK(compare(ref_e, values_of(e), {}, true).empty());
    CHECK(compare(want_s, values_of(same), Tol{1, 8}, true).empty());
    CHECK(compare(host::permute(hx, {1, 0}), values_of(rx), {}, true).empty());
    CHECK(compare(ref_t, values_of(rx), {}, true).empty());
}

TEST_CASE("the program cache serves new inputs of the same structure", "[ops][fusion][realize]") {
    auto graph = [](const Tensor& x, const Tensor& w) { return softmax(x * w + 1, 1).sum({0}); };
    for (int round = 0; round < 3; ++round) {
        Tensor x = normal({4, 6}), w = normal({6});
        Stats before = stats();
        Tensor r = graph(x, w);
        RefTensor hx = values_of(x), hw = values_of(w);
        RefTensor lin = host::zip(host::zip(hx, hw, kFloat32, std::multiplies<double>()),
                                  ref(kFloat32, {}, {1}), kFloat32, std::plus<double>());
        RefTensor mx = host::reduce(lin, {1}, true, kFloat32, -kInf,
                                    [](double a, double v) { return std::max(a, v); });
        RefTensor e =
            host::zip(lin, mx, kFloat32, [](double v, double m) { return std::exp(v - m); });
        RefTensor se = host::reduce(e, {1}, true, kFloat32, 0, std::plus<double>());
        RefTensor p = host::zip(e, se, kFloat32, std::divides<double>());
        check(r, host::reduce(p, {0}, false, kFloat32, 0, std::plus<double>()),
              "softmax(x*w+1).sum(0), round " + std::to_string(round), Tol{2, 6});
        if (round > 0) CHECK(stats().program_cache_hits > before.program_cache_hits);
    }
}

TEST_CASE("NaN and inf through fused exp/log/max/sum/softmax", "[ops][fusion][special]") {
    Tensor x = make({0, 1, kNaN, 2, kInf, -1, -kInf, 3, 0.5, 1e30, -2, 0}, {3, 4});
    check(exp(x).sum({1}), reference(exp(x).sum({1})), "exp then sum");
    check(log(exp(x)), reference(log(exp(x))), "log(exp(x))");
    check((x * 2).amax({0}), reference((x * 2).amax({0})), "2x then amax");
    check(softmax(x * 1.0, 1), reference(softmax(x * 1.0, 1)), "softmax with NaN/inf rows");
    check(log(x.abs() + 1).sum(), reference(log(x.abs() + 1).sum()), "log1p-ish sum");
    // Fixed expectations, independent of the interpreter.
    check(exp(x).sum({1}), ref(kFloat32, {3}, {kNaN, kInf, kInf}), "exp then sum, fixed");
    check(maximum(x, zeros({4})).amax({1}), ref(kFloat32, {3}, {kNaN, kInf, 1e30}),
          "relu then max");
    check(where(x != x, zeros({}), x).sum({1}), ref(kFloat32, {3}, {3, kNaN, 1e30}),
          "NaNs masked by where before a sum");
}

TEST_CASE("lowering does not depend on earlier graphs", "[ops][fusion]") {
    {
        Tensor a = normal({9, 63}), s = normal({}), o = normal({9, 63});
        (void)where(o > 0, a + s, o * 0.5).to_vector<float>();
    }
    Tensor x = normal({8, 35}), w = normal({18, 3}), o = normal({3, 2});
    Tensor c = (log_softmax(x.t(), 1) * 0.25).slice(1, 4, 8, 2).slice(0, 17, 35).reshape({2, 18});
    Tensor y = c - c.mean({1}, true);
    Tensor z = (o.t() - matmul(y, w) * (1.0 / std::sqrt(18.0))).sum({1}, true);
    RefTensor ht = host::permute(values_of(x), {1, 0});
    RefTensor m = host::reduce(ht, {1}, true, kFloat32, -kInf,
                               [](double p, double q) { return std::max(p, q); });
    RefTensor sh = host::zip(ht, m, kFloat32, std::minus<double>());
    RefTensor se = host::reduce(host::map(sh, kFloat32, [](double v) { return std::exp(v); }), {1},
                                true, kFloat32, 0, std::plus<double>());
    RefTensor ls =
        host::zip(sh, se, kFloat32, [](double v, double s) { return 0.25 * (v - std::log(s)); });
    RefTensor hc = host::reshape(host::slice(host::slice(ls, 1, 4, 8, 2), 0, 17, 35), {2, 18});
    RefTensor hm = host::reduce(hc, {1}, true, kFloat32, 0, std::plus<double>(),
                                [](double v, int64_t n) { return v / static_cast<double>(n); });
    RefTensor hy = host::zip(hc, hm, kFloat32, std::minus<double>());
    RefTensor mm = host::map(host::matmul(hy, values_of(w), kFloat32), kFloat32,
                             [](double v) { return v / std::sqrt(18.0); });
    RefTensor hz = host::reduce(
        host::zip(host::permute(values_of(o), {1, 0}), mm, kFloat32, std::minus<double>()), {1},
        true, kFloat32, 0, std::plus<double>());
    check(z, hz, "(o.t() - (c - c.mean) @ w / sqrt(18)).sum(1) after another graph", Tol{4, 18});
}

TEST_CASE("outputs over the same elements are stored by one kernel", "[ops][fusion][merge]") {
    // An Adam-style update: the gradient (a transposed copy), both moments and the new weight
    // are four outputs of one kernel (merge_kernels), the later ones reading the earlier ones'
    // stores. Large enough that the thread pool splits the rows and the copy runs in tiles.
    for (DType dt : kFloats) {
        Tensor gt = normal({257, 300}, dt), m0 = normal({300, 257}, dt),
               v0 = normal({300, 257}, dt, 1.0, 0.5).abs(), p0 = normal({300, 257}, dt);
        Tensor g = gt.t();
        Tensor m = m0 * 0.9 + g * 0.1;
        Tensor v = v0 * 0.999 + g * g * 0.001;
        Tensor p = p0 - m / (sqrt(v) + 1e-8) * 0.01;
        RefTensor ref_g = reference(g), ref_m = reference(m), ref_v = reference(v),
                  ref_p = reference(p);
        Stats before = stats();
        realize({g, m, v, p});
        CHECK(stats().kernels_launched - before.kernels_launched == 1);
        CHECK(compare(host::permute(values_of(gt), {1, 0}), values_of(g), {}, true).empty());
        CHECK(compare(ref_g, values_of(g), {}, true).empty());
        CHECK(compare(ref_m, values_of(m), Tol{1}, true).empty());
        CHECK(compare(ref_v, values_of(v), Tol{1}, true).empty());
        CHECK(compare(ref_p, values_of(p), Tol{2}, true).empty());
    }
}
