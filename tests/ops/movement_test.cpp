// Movement ops (views) for every dtype: reshape/view (with -1), permute, transpose, t, expand,
// unsqueeze, squeeze, flatten, slice with steps, narrow, flip, unfold, cat, stack, contiguous/clone/
// detach, and compositions of views, against the reference and an independent host model.
#include <catch2/catch.hpp>

#include "check.h"
#include "host_ref.h"

using namespace kiln;
using namespace kiln::test;

namespace {

/// A [2,3,4] tensor of `dtype` whose values identify their position (exact in every dtype but
/// bool, which gets random values).
Tensor numbered(const Shape& shape, DType dtype) {
    if (dtype == kBool) return random_of(shape, kBool);
    std::vector<double> v(static_cast<size_t>(ir::numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) - 7;
    return make(v, shape, dtype);
}

}  // namespace

TEST_CASE("reshape and view, with -1, size 0 and rank 0", "[ops][movement]") {
    for (DType dt : kAllDTypes) {
        Tensor x = numbered({2, 3, 4}, dt);
        RefTensor hx = values_of(x);
        // A lone reshape of an input is just a new shape; permute first so a kernel must
        // gather, then reshape.
        Tensor p = x.permute({1, 0, 2});
        RefTensor hp = host::permute(hx, {1, 0, 2});
        for (const Shape& s : std::vector<Shape>{
                 {24}, {4, 6}, {-1, 4}, {2, -1}, {4, 3, 2}, {1, 24, 1}, {-1}, {2, 2, 2, 3}}) {
            Shape want = s;
            for (int64_t& d : want)
                if (d == -1) d = 24 / (-ir::numel(s));
            check(p.reshape(s), host::reshape(hp, want),
                  "reshape(" + ir::ints_str(s) + ") of " + desc(p));
            check(p.view(s), host::reshape(hp, want), "view(" + ir::ints_str(s) + ")");
            CHECK(x.reshape(s).sizes() == want);
        }
    }
    Tensor r0 = make({4.5}, {});
    check(r0.reshape({1, 1}) * 1, ref(kFloat32, {1, 1}, {4.5}), "rank 0 -> [1,1]");
    check(make({4.5}, {1, 1}).reshape({}) + 0, ref(kFloat32, {}, {4.5}), "[1,1] -> rank 0");
    check(make({3}, {1}).reshape({-1}) + 0, ref(kFloat32, {1}, {3}), "[1] -> [-1]");
    check(uniform({0, 3}).reshape({-1, 3}) + 1, ref(kFloat32, {0, 3}, {}), "[0,3] -> [-1,3]");
}

// Regression: this used to kill the process with SIGFPE (a division by the zero extent in
// passes::index::mod while lowering the reshape).
TEST_CASE("reshape of a size-0 input to another size-0 shape", "[ops][movement]") {
    check(uniform({0, 3}).reshape({3, 0}) + 1, ref(kFloat32, {3, 0}, {}), "[0,3] -> [3,0]");
}

TEST_CASE("permute, transpose, t", "[ops][movement]") {
    const std::vector<std::vector<int64_t>> perms{{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                                  {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (DType dt : kAllDTypes) {
        Tensor x = numbered({2, 3, 4}, dt);
        RefTensor hx = values_of(x);
        for (const auto& perm : perms) {
            check(x.permute(perm).contiguous(), host::permute(hx, perm),
                  "permute(" + ir::ints_str(perm) + ") of " + desc(x));
        }
        check(x.permute({-1, 0, -2}), host::permute(hx, {2, 0, 1}), "permute with negative dims");
        check(x.transpose(0, 2), host::permute(hx, {2, 1, 0}), "transpose(0,2)");
        check(x.transpose(-1, -2), host::permute(hx, {0, 2, 1}), "transpose(-1,-2)");
        check(x.transpose(1, 1) * 1, dt == kBool ? host::cast(hx, kInt64) : hx, "transpose(1,1)");
        Tensor m = numbered({3, 5}, dt);
        check(m.t(), host::permute(values_of(m), {1, 0}), "t() of " + desc(m));
        check(m.t().t() * 1, dt == kBool ? host::cast(values_of(m), kInt64) : values_of(m),
              "t().t()");
    }
    Tensor v = uniform({5});
    CHECK(v.t().sizes() == Shape{5});
    CHECK(make({1}, {}).t().sizes() == Shape{});
    Tensor four = numbered({2, 3, 1, 4}, kFloat64);
    check(four.permute({3, 1, 0, 2}), host::permute(values_of(four), {3, 1, 0, 2}), "4-D permute");
}

TEST_CASE("expand, unsqueeze, squeeze, flatten", "[ops][movement]") {
    for (DType dt : kAllDTypes) {
        Tensor c = numbered({3, 1}, dt);
        RefTensor hc = values_of(c);
        check(c.expand({3, 4}), host::expand(hc, {3, 4}), "expand [3,1] -> [3,4] " + desc(c));
        check(c.expand({2, 3, 4}), host::expand(hc, {2, 3, 4}), "expand with a new leading dim");
        check(c.expand({-1, 4}), host::expand(hc, {3, 4}), "expand with -1");
        check(c.expand({2, -1, 5}), host::expand(hc, {2, 3, 5}), "expand with -1 and new dims");
        check(c.expand({3, 0}), ref(c.dtype(), {3, 0}, {}), "expand to size 0");
        Tensor s = numbered({}, dt);
        check(s.expand({2, 3}), host::expand(values_of(s), {2, 3}), "expand rank 0");

        Tensor x = numbered({2, 3}, dt);
        RefTensor hx = values_of(x);
        Tensor xt = x.t();  // a view, so results need a kernel
        RefTensor ht = host::permute(hx, {1, 0});
        for (int64_t d : {0, 1, 2, -1, -2, -3}) {
            int64_t w = d < 0 ? d + 3 : d;
            Shape s2 = ht.shape;
            s2.insert(s2.begin() + w, 1);
            check(xt.unsqueeze(d), host::reshape(ht, s2), "unsqueeze(" + std::to_string(d) + ")");
        }
        Tensor base = numbered({1, 3, 1, 2}, dt);
        Tensor y = base.permute({0, 3, 2, 1});  // [1,2,1,3]
        RefTensor hy = host::permute(values_of(base), {0, 3, 2, 1});
        check(y.squeeze(), host::reshape(hy, {2, 3}), "squeeze()");
        check(y.squeeze(2), host::reshape(hy, {1, 2, 3}), "squeeze(2)");
        check(y.squeeze(-4), host::reshape(hy, {2, 1, 3}), "squeeze(-4)");
        check(y.squeeze(1), hy, "squeeze of a dim that is not 1 is a no-op");
        check(y.flatten(), host::reshape(hy, {6}), "flatten()");
        check(y.flatten(1, 2), host::reshape(hy, {1, 2, 3}), "flatten(1,2)");
        check(y.flatten(-2, -1), host::reshape(hy, {1, 2, 3}), "flatten(-2,-1)");
        check(y.flatten(0, 1), host::reshape(hy, {2, 1, 3}), "flatten(0,1)");
        check(y.flatten(1, 1), hy, "flatten(1,1)");
    }
    CHECK(make({2}, {}).flatten().sizes() == Shape{1});
    CHECK(make({2}, {}).squeeze().sizes() == Shape{});
    CHECK(make({2}, {}).unsqueeze(0).sizes() == Shape{1});
    CHECK(make({2}, {}).unsqueeze(-1).sizes() == Shape{1});
}

TEST_CASE("slice with steps, clamping and negative indices; narrow", "[ops][movement]") {
    struct S {
        int64_t dim, start, end, step;
    };
    const std::vector<S> slices{{0, 0, 5, 1},      {0, 1, 5, 2},  {1, 0, 7, 3}, {1, -3, 7, 1},
                                {1, -100, 100, 2}, {0, 3, 1, 1},  {1, 7, 9, 1}, {1, 2, 3, 5},
                                {-1, 1, -1, 2},    {0, -1, 5, 1}, {1, 6, 7, 10}};
    for (DType dt : kAllDTypes) {
        Tensor x = numbered({5, 7}, dt);
        RefTensor hx = values_of(x);
        for (const S& s : slices) {
            int64_t d = s.dim < 0 ? s.dim + 2 : s.dim;
            std::string what = "slice(" + std::to_string(s.dim) + "," + std::to_string(s.start) +
                               "," + std::to_string(s.end) + "," + std::to_string(s.step) +
                               ") of " + desc(x);
            check(x.slice(s.dim, s.start, s.end, s.step),
                  host::slice(hx, d, s.start, s.end, s.step), what);
            check(x.t().slice(1 - d, s.start, s.end, s.step),
                  host::slice(host::permute(hx, {1, 0}), 1 - d, s.start, s.end, s.step),
                  what + " of x.t()");
        }
        check(x.narrow(0, 1, 3), host::slice(hx, 0, 1, 4), "narrow(0,1,3)");
        check(x.narrow(1, -3, 2), host::slice(hx, 1, 4, 6), "narrow(1,-3,2)");
        check(x.narrow(-1, 2, 0), host::slice(hx, 1, 2, 2), "narrow length 0");
        check(x.slice(0, 0, 5, 2).slice(1, 1, 7, 3).slice(0, 1, 3),
              host::slice(host::slice(host::slice(hx, 0, 0, 5, 2), 1, 1, 7, 3), 0, 1, 3),
              "slice of slice of slice");
    }
}

TEST_CASE("flip over one, several and negative dims", "[ops][movement]") {
    for (DType dt : kAllDTypes) {
        Tensor x = numbered({2, 3, 4}, dt);
        RefTensor hx = values_of(x);
        for (const auto& dims : std::vector<std::vector<int64_t>>{
                 {0}, {1}, {2}, {-1}, {0, 2}, {2, 0}, {0, 1, 2}, {-1, -2}}) {
            check(x.flip(dims), host::flip(hx, dims),
                  "flip(" + ir::ints_str(dims) + ") of " + desc(x));
        }
        check(x.flip({0}).flip({0}) * 1, dt == kBool ? host::cast(hx, kInt64) : hx, "flip twice");
        check(x.transpose(0, 2).flip({1}), host::flip(host::permute(hx, {2, 1, 0}), {1}),
              "flip of a transpose");
    }
    check(uniform({0, 3}).flip({0, 1}) + 1, ref(kFloat32, {0, 3}, {}), "flip of size 0");
}

TEST_CASE("unfold: windows along a dim, PyTorch's layout", "[ops][movement]") {
    // out[..., k, ..., e] = x[..., k * step + e, ...]
    auto unfolded = [](const Tensor& x, int64_t dim, int64_t size, int64_t step) {
        RefTensor hx = values_of(x);
        Shape s = x.sizes();
        int64_t count = (s[dim] - size) / step + 1;
        Shape out = s;
        out[dim] = count;
        out.push_back(size);
        std::vector<double> v;
        std::vector<int64_t> idx(out.size(), 0);
        for (int64_t flat = 0; flat < ir::numel(out); ++flat) {
            int64_t rest = flat;
            for (size_t a = out.size(); a-- > 0;) {
                idx[a] = rest % out[a];
                rest /= out[a];
            }
            int64_t src = 0;
            for (size_t a = 0; a < s.size(); ++a) {
                int64_t i = static_cast<int64_t>(a) == dim ? idx[a] * step + idx.back() : idx[a];
                src = src * s[a] + i;
            }
            v.push_back(hx.values[static_cast<size_t>(src)]);
        }
        return ref(x.dtype(), out, v);
    };
    for (DType dt : kAllDTypes) {
        Tensor x = numbered({3, 7, 2}, dt);
        check(x.unfold(1, 3, 2), unfolded(x, 1, 3, 2), "unfold(1, 3, 2) of " + desc(x));
        check(x.unfold(-2, 7, 1), unfolded(x, 1, 7, 1), "unfold(-2, 7, 1): one window");
        check(x.unfold(0, 1, 1), unfolded(x, 0, 1, 1), "unfold(0, 1, 1)");
        check(x.unfold(2, 2, 5), unfolded(x, 2, 2, 5), "unfold(2, 2, 5): step past the end");
        check(x.transpose(0, 1).unfold(0, 2, 3), unfolded(x.transpose(0, 1).contiguous(), 0, 2, 3),
              "unfold of a transpose");
    }
    CHECK(kiln::full({}, 2.0).unfold(0, 1, 1).sizes() == std::vector<int64_t>{1, 1});
}

TEST_CASE("cat: dims, many parts, promotion, size-0 parts, views", "[ops][movement][cat]") {
    for (DType dt : kAllDTypes) {
        Tensor a = numbered({2, 3}, dt), b = random_of({2, 5}, dt), c = random_of({4, 3}, dt);
        RefTensor ha = values_of(a), hb = values_of(b), hc = values_of(c);
        check(cat({a, b}, 1), host::cat({ha, hb}, 1, dt), "cat dim 1 " + desc(a));
        check(cat({a, b}, -1), host::cat({ha, hb}, 1, dt), "cat dim -1");
        check(cat({a, c}, 0), host::cat({ha, hc}, 0, dt), "cat dim 0");
        check(cat({a, c, a}), host::cat({ha, hc, ha}, 0, dt), "cat of three, default dim");
        check(cat({b.t(), a.t().flip({0})}, 0),
              host::cat({host::permute(hb, {1, 0}), host::flip(host::permute(ha, {1, 0}), {0})}, 0,
                        dt),
              "cat of views");
        Tensor e = random_of({2, 0}, dt);
        check(cat({e, a, e}, 1), ha, "cat with size-0 parts");
        check(cat({a.slice(1, 0, 2)}, 1) * 1,
              dt == kBool ? host::cast(host::slice(ha, 1, 0, 2), kInt64) : host::slice(ha, 1, 0, 2),
              "cat of one tensor");
        check(cat({a, b, a, b, a}, 1), host::cat({ha, hb, ha, hb, ha}, 1, dt), "cat of five");
    }
    Tensor i = random_of({3}, kInt32), f = random_of({2}, kFloat64), bl = random_of({1}, kBool);
    check(cat({i, f, bl}),
          host::cat({host::cast(values_of(i), kFloat64), values_of(f),
                     host::cast(values_of(bl), kFloat64)},
                    0, kFloat64),
          "cat promotes i32, f64, bool to f64");
    check(cat({bl, i}), host::cat({host::cast(values_of(bl), kInt32), values_of(i)}, 0, kInt32),
          "cat promotes bool, i32 to i32");
}

TEST_CASE("stack: dims, promotion, rank 0", "[ops][movement][cat]") {
    for (DType dt : kAllDTypes) {
        Tensor a = numbered({2, 3}, dt), b = random_of({2, 3}, dt), c = random_of({2, 3}, dt);
        RefTensor ha = values_of(a), hb = values_of(b), hc = values_of(c);
        auto unsq = [](const RefTensor& t, size_t d) {
            Shape s = t.shape;
            s.insert(s.begin() + static_cast<int64_t>(d), 1);
            return host::reshape(t, s);
        };
        for (int64_t d : {0, 1, 2, -1, -3}) {
            size_t w = static_cast<size_t>(d < 0 ? d + 3 : d);
            check(stack({a, b, c}, d),
                  host::cat({unsq(ha, w), unsq(hb, w), unsq(hc, w)}, static_cast<int64_t>(w), dt),
                  "stack dim " + std::to_string(d) + " of " + desc(a));
        }
        check(stack({a.t(), b.t()}, 1),
              host::cat({unsq(host::permute(ha, {1, 0}), 1), unsq(host::permute(hb, {1, 0}), 1)}, 1,
                        dt),
              "stack of views");
    }
    check(stack({make({1}, {}), make({2}, {}, kInt64)}), ref(kFloat32, {2}, {1, 2}),
          "stack of rank-0 tensors promotes");
}

TEST_CASE("contiguous, clone, detach keep values; compositions of views", "[ops][movement]") {
    for (DType dt : kAllDTypes) {
        Tensor x = numbered({4, 6}, dt);
        RefTensor hx = values_of(x);
        RefTensor ht = host::permute(hx, {1, 0});
        check(x.t().contiguous(), ht, "x.t().contiguous()");
        check(x.t().clone(), ht, "x.t().clone()");
        check(x.t().detach(), ht, "x.t().detach()");
        check(x.contiguous(), hx, "contiguous of an input");
        // reshape across a non-contiguous layout: div/mod in the index expression
        check(x.t().reshape({3, 8}), host::reshape(ht, {3, 8}), "x.t().reshape([3,8])");
        check(x.t().reshape({2, 3, 2, 2}).permute({3, 1, 0, 2}),
              host::permute(host::reshape(ht, {2, 3, 2, 2}), {3, 1, 0, 2}),
              "reshape of transpose, permuted");
        check(x.slice(0, 1, 4, 2).t().slice(0, 1, 5).flip({1}),
              host::flip(host::slice(host::permute(host::slice(hx, 0, 1, 4, 2), {1, 0}), 0, 1, 5),
                         {1}),
              "slice/transpose/flip chain");
        Tensor col = x.narrow(1, 2, 1);  // [4,1]
        check(col.expand({4, 3}).reshape({12}),
              host::reshape(host::expand(host::slice(hx, 1, 2, 3), {4, 3}), {12}),
              "expand then reshape (repeat_interleave)");
        check(x.unsqueeze(1).expand({4, 2, 6}).reshape({8, 6}),
              host::reshape(host::expand(host::reshape(hx, {4, 1, 6}), {4, 2, 6}), {8, 6}),
              "unsqueeze/expand/reshape (repeat rows)");
        check(x.flip({0}).slice(1, 0, 6, 4).t(),
              host::permute(host::slice(host::flip(hx, {0}), 1, 0, 6, 4), {1, 0}), "flip/slice/t");
        check(cat({x, x.flip({1})}, 0).narrow(0, 2, 4).t(),
              host::permute(host::slice(host::cat({hx, host::flip(hx, {1})}, 0, dt), 0, 2, 6),
                            {1, 0}),
              "narrow of a cat, transposed");
        check(x.reshape({2, 2, 6}).expand({3, 2, 2, 6}).permute({1, 3, 0, 2}).flatten(1, 2),
              host::reshape(host::permute(host::expand(host::reshape(hx, {2, 2, 6}), {3, 2, 2, 6}),
                                          {1, 3, 0, 2}),
                            {2, 18, 2}),
              "reshape/expand/permute/flatten");
    }
}

TEST_CASE("materialized transposes run in tiles and stay exact", "[ops][movement][tile]") {
    // Sizes that are not multiples of the tile, large enough to be tiled and split over threads.
    // Whole tiles move 8x8 (f32) or 4x4 (f64) register blocks; edge tiles run scalar; the
    // largest is split over threads at rows that are no multiple of the tile.
    for (DType t : kFloats)
        for (Shape s : {Shape{70, 130}, Shape{129, 65}, Shape{300, 257}, Shape{1001, 700}}) {
            Tensor x = uniform(s, t);
            check(x.t().contiguous(), "transpose " + desc(x));
            CHECK(kiln::kernels_text({x.t() + 1}).find(" tile 32") != std::string::npos);
        }
    Tensor y = uniform({3, 100, 67}, kFloat64);
    check(y.permute({0, 2, 1}) * 2, "batched transpose " + desc(y));
}
