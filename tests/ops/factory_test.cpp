// Factories: tensor, zeros, ones, full, arange (int and float arguments, negative steps, dtype
// options), eye, rand (range), randn (mean and std, roughly), manual_seed.
#include <cmath>

#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

const std::vector<Shape> kShapes{{}, {0}, {1}, {3}, {2, 3}, {2, 0, 3}, {2, 1, 65}};

RefTensor filled(DType dt, const Shape& s, double v) {
    return host::cast(ref(kFloat64, s, std::vector<double>(static_cast<size_t>(ir::numel(s)), v)),
                      dt);
}

/// start + i * step for i in [0, n), computed in double (int arguments exactly), cast once.
RefTensor arange_ref(double start, double step, int64_t n, DType dt) {
    RefTensor r{kFloat64, {n}, {}};
    for (int64_t i = 0; i < n; ++i) r.values.push_back(start + static_cast<double>(i) * step);
    return host::cast(r, dt);
}

}  // namespace

TEST_CASE("zeros, ones, full for every dtype and shape", "[ops][factory]") {
    for (DType dt : kAllDTypes) {
        for (const Shape& s : kShapes) {
            std::string at = std::string(dtype_name(dt)) + ir::shape_str(s);
            check(zeros(s, dt), filled(dt, s, 0), "zeros " + at);
            check(ones(s, dt), filled(dt, s, 1), "ones " + at);
            check(full(s, -2.5, dt), filled(dt, s, -2.5), "full(-2.5) " + at);
            check(full(s, 7, dt), filled(dt, s, 7), "full(7) " + at);
        }
    }
    CHECK(zeros({2}).dtype() == kFloat32);
    CHECK(full({2}, 1).dtype() == kFloat32);
    check(full({2, 2}, std::nan("")), filled(kFloat32, {2, 2}, std::nan("")), "full(NaN)");
    check(full({3}, 1e300, kFloat64) * 10, filled(kFloat64, {3}, 1e301), "full(1e300) f64");
    // A constant used in a computation (folded or broadcast by the compiler).
    Tensor x = uniform({2, 3});
    check(x + ones({3}), host::map(values_of(x), kFloat32, [](double v) { return v + 1; }),
          "x + ones");
    check(zeros({2, 3}, kInt32) + x, values_of(x), "zeros(i32) + x promotes to f32");
}

TEST_CASE("tensor() from every element type, with dtype options", "[ops][factory]") {
    Tensor f = kiln::tensor(std::vector<float>{1.5f, -2.25f}, {2});
    CHECK(f.dtype() == kFloat32);
    check(f * 1, ref(kFloat32, {2}, {1.5, -2.25}), "tensor<float>");
    Tensor d = kiln::tensor(std::vector<double>{0.1, 1e-300}, {2, 1});
    CHECK(d.dtype() == kFloat64);
    CHECK(d.to_vector<double>() == std::vector<double>{0.1, 1e-300});
    Tensor i = kiln::tensor(std::vector<int32_t>{-3, 4, 5, 6}, {2, 2});
    CHECK(i.dtype() == kInt32);
    CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{-3, 4, 5, 6});
    Tensor l = kiln::tensor(std::vector<int64_t>{int64_t{1} << 62}, {});
    CHECK(l.dtype() == kInt64);
    CHECK(l.item<int64_t>() == int64_t{1} << 62);
    Tensor b = kiln::tensor(std::vector<bool>{true, false, true}, {3});
    CHECK(b.dtype() == kBool);
    CHECK(b.to_vector<bool>() == std::vector<bool>{true, false, true});
    // Options convert on the way in: float -> int truncates, anything -> bool is != 0.
    Tensor fi = kiln::tensor(std::vector<float>{2.9f, -2.9f, 0.5f}, {3}, kInt64);
    CHECK(fi.to_vector<int64_t>() == std::vector<int64_t>{2, -2, 0});
    Tensor db = kiln::tensor(std::vector<double>{0.0, -0.5, 3}, {3}, kBool);
    CHECK(db.to_vector<bool>() == std::vector<bool>{false, true, true});
    Tensor bf = kiln::tensor(std::vector<bool>{true, false}, {2}, kFloat64);
    CHECK(bf.to_vector<double>() == std::vector<double>{1, 0});
    Tensor e = kiln::tensor(std::vector<float>{}, {0, 4});
    CHECK(e.sizes() == Shape{0, 4});
    CHECK(e.to_vector<float>().empty());
    Tensor g = kiln::tensor(std::vector<float>{1}, {}, TensorOptions(kFloat64).requires_grad(true));
    CHECK(g.requires_grad());
    CHECK(g.dtype() == kFloat64);
}

TEST_CASE("arange: int and float arguments, negative steps, dtype options", "[ops][factory]") {
    struct A {
        Tensor t;
        RefTensor want;
        std::string what;
    };
    std::vector<A> cases = {
        {arange(5), arange_ref(0, 1, 5, kInt64), "arange(5)"},
        {arange(0), arange_ref(0, 1, 0, kInt64), "arange(0)"},
        {arange(-3), arange_ref(0, 1, 0, kInt64), "arange(-3) is empty"},
        {arange(2, 11, 3), arange_ref(2, 3, 3, kInt64), "arange(2, 11, 3)"},
        {arange(2, 12, 3), arange_ref(2, 3, 4, kInt64), "arange(2, 12, 3)"},
        {arange(10, 0, -3), arange_ref(10, -3, 4, kInt64), "arange(10, 0, -3)"},
        {arange(10, 1, -3), arange_ref(10, -3, 3, kInt64), "arange(10, 1, -3)"},
        {arange(3, 0), arange_ref(0, 1, 0, kInt64), "arange(3, 0) is empty"},
        {arange(-4, 4, 1), arange_ref(-4, 1, 8, kInt64), "arange(-4, 4)"},
        {arange(5.0), arange_ref(0, 1, 5, kFloat32), "arange(5.0)"},
        {arange(0, 1, 0.1), arange_ref(0, 0.1, 10, kFloat32), "arange(0, 1, 0.1)"},
        {arange(1, 2.5, 0.5), arange_ref(1, 0.5, 3, kFloat32), "arange(1, 2.5, 0.5)"},
        {arange(1, 2.6, 0.5), arange_ref(1, 0.5, 4, kFloat32), "arange(1, 2.6, 0.5)"},
        {arange(0.0, -1.0, -0.25), arange_ref(0, -0.25, 4, kFloat32), "arange(0, -1, -0.25)"},
        {arange(-5, 5, 2.5), arange_ref(-5, 2.5, 4, kFloat32), "arange(-5, 5, 2.5)"},
        {arange(5, kFloat64), arange_ref(0, 1, 5, kFloat64), "arange(5, f64)"},
        {arange(0, 10, 3, kInt32), arange_ref(0, 3, 4, kInt32), "arange(0, 10, 3, i32)"},
        {arange(0.5, 3, 1, kInt64), arange_ref(0.5, 1, 3, kInt64), "arange(0.5, 3, 1, i64)"},
        {arange(0, 1, 0.125, kFloat64), arange_ref(0, 0.125, 8, kFloat64),
         "arange(0, 1, 0.125, f64)"},
        {arange(0, 3, 1, kBool), arange_ref(0, 1, 3, kBool), "arange(0, 3, 1, bool)"},
    };
    for (A& a : cases) {
        CHECK(a.t.dtype() == a.want.dtype);
        check(a.t, a.want, a.what);
    }
    // Long ranges: every element exact (start + i*step, not a running sum).
    check(arange(100000), arange_ref(0, 1, 100000, kInt64), "arange(100000)");
    check(arange(0, 1000, 0.01, kFloat64), arange_ref(0, 0.01, 100000, kFloat64),
          "arange(0, 1000, 0.01, f64)");
    check(arange(int64_t{1} << 40, (int64_t{1} << 40) + 5),
          arange_ref(1099511627776.0, 1, 5, kInt64), "arange beyond 2^32");
    check(arange(6).reshape({2, 3}).t() * 2,
          host::permute(host::reshape(arange_ref(0, 2, 6, kInt64), {2, 3}), {1, 0}),
          "arange used in a graph");
}

TEST_CASE("eye for every dtype", "[ops][factory]") {
    for (DType dt : kAllDTypes) {
        for (int64_t n : {0, 1, 4}) {
            RefTensor want{dt, {n, n}, {}};
            for (int64_t i = 0; i < n * n; ++i) want.values.push_back(i / n == i % n ? 1 : 0);
            check(eye(n, dt), want, "eye(" + std::to_string(n) + ", " + dtype_name(dt) + ")");
        }
    }
    CHECK(eye(3).dtype() == kFloat32);
    Tensor x = uniform({4, 4});
    check(matmul(x, eye(4)), values_of(x), "x @ eye", Tol{1, 4});
}

TEST_CASE("rand: values in [0, 1), roughly uniform; randn: mean 0, std 1",
          "[ops][factory][random]") {
    for (DType dt : kFloats) {
        Tensor u = rand({20000}, dt);
        CHECK(u.dtype() == dt);
        CHECK(u.sizes() == Shape{20000});
        RefTensor hu = values_of(u);
        double lo = 1, hi = 0, sum = 0, sq = 0;
        for (double v : hu.values) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            sum += v;
            sq += v * v;
        }
        CHECK(lo >= 0);
        CHECK(hi < 1);
        double mean = sum / 20000;
        CHECK(mean == Approx(0.5).margin(0.015));
        CHECK(sq / 20000 - mean * mean == Approx(1.0 / 12).margin(0.005));
        // The kernels see the same values: mean through the engine.
        check(u.mean(), ref(dt, {}, {mean}), "mean of rand", Tol{1, 20000});

        Tensor n = randn({100, 200}, dt);
        CHECK(n.sizes() == Shape{100, 200});
        RefTensor hn = values_of(n);
        double s = 0, s2 = 0;
        for (double v : hn.values) {
            s += v;
            s2 += v * v;
        }
        double m = s / 20000;
        CHECK(m == Approx(0).margin(0.04));
        CHECK(std::sqrt(s2 / 20000 - m * m) == Approx(1).margin(0.03));
        // Not all equal, not constant across calls.
        CHECK(hn.values[0] != hn.values[1]);
        CHECK(values_of(randn({4}, dt)).values != values_of(randn({4}, dt)).values);
    }
    CHECK(rand({0}).sizes() == Shape{0});
    CHECK(randn({}).sizes() == Shape{});
}

TEST_CASE("manual_seed makes rand and randn reproducible", "[ops][factory][random]") {
    manual_seed(1234);
    std::vector<float> a = rand({7}).to_vector<float>();
    std::vector<float> b = randn({5}).to_vector<float>();
    manual_seed(1234);
    CHECK(rand({7}).to_vector<float>() == a);
    CHECK(randn({5}).to_vector<float>() == b);
    manual_seed(1235);
    CHECK(rand({7}).to_vector<float>() != a);
}
