// The harness itself: compare() must catch every kind of mismatch, or the op tests prove nothing.
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
}  // namespace

TEST_CASE("harness: compare accepts equal values and catches each kind of mismatch",
          "[ops][harness]") {
    RefTensor a = ref(kFloat32, {2, 2}, {1.0, -2.0, kNaN, kInf});
    CHECK(compare(a, a, {}, true).empty());

    RefTensor close = a;
    close.values[0] = 1.0 + 5e-6;  // within rtol 1e-5
    CHECK(compare(a, close, {}, true).empty());

    RefTensor off = a;
    off.values[1] = -2.001;
    std::string err = compare(a, off, {}, true);
    CHECK(err.find("value at [0,1] (flat 1): got -2.001") == 0);

    RefTensor nan_vs_num = a;
    nan_vs_num.values[2] = 0;
    CHECK(compare(a, nan_vs_num, {}, true).find("value at [1,0]") == 0);

    RefTensor num_vs_nan = a;
    num_vs_nan.values[0] = kNaN;
    CHECK(!compare(a, num_vs_nan, {}, true).empty());

    RefTensor neg_inf = a;
    neg_inf.values[3] = -kInf;
    CHECK(!compare(a, neg_inf, {}, true).empty());

    RefTensor big = a;
    big.values[3] = 3e38;
    CHECK(!compare(a, big, {}, true).empty());

    RefTensor other_dtype = a;
    other_dtype.dtype = kFloat64;
    CHECK(compare(a, other_dtype, {}, true) == "dtype: got f64, want f32");

    RefTensor other_shape = a;
    other_shape.shape = {4};
    CHECK(compare(a, other_shape, {}, true) == "shape: got [4], want [2,2]");
}

TEST_CASE("harness: integers compare exactly, f64 tightly, sums by magnitude", "[ops][harness]") {
    RefTensor i = ref(kInt64, {2}, {3, 1e15});
    RefTensor j = ref(kInt64, {2}, {3, 1e15 + 1});
    CHECK(!compare(i, j, {}, false).empty());

    RefTensor d = ref(kFloat64, {1}, {1.0});
    CHECK(compare(d, ref(kFloat64, {1}, {1.0 + 1e-14}), {}, false).empty());
    CHECK(!compare(d, ref(kFloat64, {1}, {1.0 + 1e-10}), {}, false).empty());
    // The same f64 result computed from f32 values gets the f32 tolerance.
    CHECK(compare(d, ref(kFloat64, {1}, {1.0 + 1e-6}), {}, true).empty());

    // A sum that cancels to ~0 next to a large one: judged by the result's magnitude.
    RefTensor s = ref(kFloat32, {2}, {1e-3, 1000.0});
    RefTensor g = ref(kFloat32, {2}, {1e-3 + 1e-4, 1000.0});
    CHECK(!compare(s, g, {}, true).empty());
    CHECK(compare(s, g, Tol{1, 100}, true).empty());
}

TEST_CASE("harness: f32 references are rounded like stored values", "[ops][harness]") {
    // The interpreter keeps f32 intermediate values in double; a realized f32 overflows to inf.
    CHECK(compare(ref(kFloat32, {1}, {1e39}), ref(kFloat32, {1}, {kInf}), {}, true).empty());
}

TEST_CASE("harness: check() passes a correct op and reads inputs of every dtype",
          "[ops][harness]") {
    for (DType t : kAllDTypes) {
        Tensor x = random_of({3, 4}, t);
        RefTensor hx = values_of(x);
        CHECK(hx.dtype == t);
        CHECK(hx.shape == Shape{3, 4});
        // values_of() an input equals to_vector through the public path.
        CHECK(compare(hx, realized(x), {}, false).empty());
        CHECK(compare(hx, reference(x), {}, false).empty());
    }
    Tensor x = uniform({3, 4});
    check(x * 2, host::map(values_of(x), kFloat32, [](double v) { return v * 2; }), "x*2");
}

TEST_CASE("harness: host model of views and matmul", "[ops][harness]") {
    RefTensor a = ref(kFloat64, {2, 3}, {0, 1, 2, 3, 4, 5});
    CHECK(host::permute(a, {1, 0}).values == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK(host::slice(a, 1, 0, 3, 2).values == std::vector<double>{0, 2, 3, 5});
    CHECK(host::slice(a, 1, -2, 100).values == std::vector<double>{1, 2, 4, 5});
    CHECK(host::flip(a, {0, 1}).values == std::vector<double>{5, 4, 3, 2, 1, 0});
    CHECK(host::reduce(a, {1}, false, kFloat64, 0, std::plus<>()).values ==
          std::vector<double>{3, 12});
    RefTensor c = host::cat({a, a}, 1, kFloat64);
    CHECK(c.shape == Shape{2, 6});
    CHECK(c.values == std::vector<double>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
    RefTensor m = host::matmul(a, host::permute(a, {1, 0}), kFloat64);
    CHECK(m.shape == Shape{2, 2});
    CHECK(m.values == std::vector<double>{5, 14, 14, 50});
    RefTensor v = ref(kFloat64, {3}, {1, 1, 1});
    CHECK(host::matmul(a, v, kFloat64).values == std::vector<double>{3, 12});
    CHECK(host::matmul(v, host::permute(a, {1, 0}), kFloat64).shape == Shape{2});
}
