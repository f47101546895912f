// The forward values of the functional ops (kiln/functional.h) against naive host loops written
// here, independent of the IR and its interpreter: conv2d, pooling, linear, layer_norm,
// embedding, gather, index_select and the losses, mostly in float64 (relative 1e-9), with a few
// float32 cases (1e-4).
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "functional/reductions.h"
#include "ops/check.h"

namespace kiln::test {
namespace {

namespace F = kiln::nn::functional;
using F::Reduction;

using Vec = std::vector<double>;

/// A tensor's values as doubles, whatever its dtype.
Vec host(const Tensor& t) {
    switch (t.dtype()) {
    case kFloat32: {
        std::vector<float> v = t.to_vector<float>();
        return {v.begin(), v.end()};
    }
    case kFloat64: return t.to_vector<double>();
    case kInt32: {
        std::vector<int32_t> v = t.to_vector<int32_t>();
        return {v.begin(), v.end()};
    }
    case kInt64: {
        std::vector<int64_t> v = t.to_vector<int64_t>();
        return {v.begin(), v.end()};
    }
    default: break;
    }
    FAIL("unexpected dtype " << dtype_name(t.dtype()));
    return {};
}

std::vector<int64_t> ints(const Tensor& t) {
    Vec v = host(t);
    return {v.begin(), v.end()};
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
    os << "]";
    return os.str();
}

/// Checks `got`'s shape and values against the host expectation: |got - want| <= rtol * (1 +
/// |want|), rtol 1e-9 for f64 results and 1e-4 for f32 ones.
void expect_near(const std::string& what, const Tensor& got, const std::vector<int64_t>& shape,
                 const Vec& want, DType dtype = kFloat64) {
    INFO(what << " [seed " << base_seed() << "]");
    CHECK(got.dtype() == dtype);
    REQUIRE(shape_text(got.sizes()) == shape_text(shape));
    Vec g = host(got);
    REQUIRE(g.size() == want.size());
    double rtol = dtype == kFloat32 ? 1e-4 : 1e-9;
    std::string err;
    for (size_t i = 0; i < g.size() && err.empty(); ++i) {
        bool ok = std::isfinite(want[i])
                      ? std::abs(g[i] - want[i]) <= rtol * (1 + std::abs(want[i]))
                      : g[i] == want[i];
        if (!ok) {
            std::ostringstream os;
            os.precision(17);
            os << "element " << i << ": got " << g[i] << ", want " << want[i];
            err = os.str();
        }
    }
    CHECK(err == "");
}

/// Row-major strides of a shape.
std::vector<int64_t> strides_of(const std::vector<int64_t>& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
    return st;
}

int64_t numel_of(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

/// The multi-index of flat position `f` in shape `s`.
std::vector<int64_t> unflat(int64_t f, const std::vector<int64_t>& s) {
    std::vector<int64_t> idx(s.size());
    for (size_t i = s.size(); i-- > 0;) {
        idx[i] = f % s[i];
        f /= s[i];
    }
    return idx;
}

int64_t flat(const std::vector<int64_t>& idx, const std::vector<int64_t>& s) {
    std::vector<int64_t> st = strides_of(s);
    int64_t f = 0;
    for (size_t i = 0; i < idx.size(); ++i) f += idx[i] * st[i];
    return f;
}

Vec reduce(const Vec& per, Reduction r) {
    if (r == Reduction::None) return per;
    double s = 0;
    for (double v : per) s += v;
    if (r == Reduction::Mean) s /= static_cast<double>(per.size());
    return {s};
}

std::vector<int64_t> reduced_shape(const std::vector<int64_t>& s, Reduction r) {
    return r == Reduction::None ? s : std::vector<int64_t>{};
}

// ---- conv2d

struct Conv {
    int64_t n, c, h, w, o, kh, kw;
    int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
    bool bias = true;
    bool unbatched = false;
};

std::string conv_text(const Conv& p) {
    std::ostringstream os;
    os << "conv2d x [" << p.n << "," << p.c << "," << p.h << "," << p.w << "]"
       << " w [" << p.o << "," << p.c / p.groups << "," << p.kh << "," << p.kw << "] stride {"
       << p.sh << "," << p.sw << "} padding {" << p.ph << "," << p.pw << "} dilation {" << p.dh
       << "," << p.dw << "} groups " << p.groups << (p.bias ? " bias" : " no bias")
       << (p.unbatched ? " unbatched" : "");
    return os.str();
}

/// out[n, o, i, j] = b[o] + sum over the group's channels and the kernel of
/// x[n, c, i*s - p + ki*d, j*s - p + kj*d] * w[o, c, ki, kj] (zero outside x).
Vec naive_conv(const Conv& p, const Vec& x, const Vec& w, const Vec& b, int64_t& ho, int64_t& wo) {
    ho = (p.h + 2 * p.ph - p.dh * (p.kh - 1) - 1) / p.sh + 1;
    wo = (p.w + 2 * p.pw - p.dw * (p.kw - 1) - 1) / p.sw + 1;
    int64_t cg = p.c / p.groups, og = p.o / p.groups;
    Vec out(static_cast<size_t>(p.n * p.o * ho * wo));
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t o = 0; o < p.o; ++o)
            for (int64_t i = 0; i < ho; ++i)
                for (int64_t j = 0; j < wo; ++j) {
                    double s = p.bias ? b[o] : 0;
                    int64_t g = o / og;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t ki = 0; ki < p.kh; ++ki)
                            for (int64_t kj = 0; kj < p.kw; ++kj) {
                                int64_t y = i * p.sh - p.ph + ki * p.dh;
                                int64_t z = j * p.sw - p.pw + kj * p.dw;
                                if (y < 0 || y >= p.h || z < 0 || z >= p.w) continue;
                                int64_t ch = g * cg + c;
                                s += x[((n * p.c + ch) * p.h + y) * p.w + z] *
                                     w[((o * cg + c) * p.kh + ki) * p.kw + kj];
                            }
                    out[((n * p.o + o) * ho + i) * wo + j] = s;
                }
    return out;
}

void check_conv(const Conv& p, DType dtype = kFloat64) {
    REQUIRE((!p.unbatched || p.n == 1));
    std::vector<int64_t> xs = p.unbatched ? std::vector<int64_t>{p.c, p.h, p.w}
                                          : std::vector<int64_t>{p.n, p.c, p.h, p.w};
    Tensor x = uniform(xs, dtype, -2, 2);
    Tensor w = uniform({p.o, p.c / p.groups, p.kh, p.kw}, dtype, -1, 1);
    Tensor b = p.bias ? uniform({p.o}, dtype, -1, 1) : Tensor();
    Tensor y = kiln::conv2d(x, w, b, {p.sh, p.sw}, {p.ph, p.pw}, {p.dh, p.dw}, p.groups);
    int64_t ho = 0, wo = 0;
    Vec want = naive_conv(p, host(x), host(w), p.bias ? host(b) : Vec{}, ho, wo);
    std::vector<int64_t> ys =
        p.unbatched ? std::vector<int64_t>{p.o, ho, wo} : std::vector<int64_t>{p.n, p.o, ho, wo};
    expect_near(conv_text(p) + " " + dtype_name(dtype), y, ys, want, dtype);
}

// ---- pooling

struct Pool {
    int64_t kh, kw, sh, sw, ph, pw;
    bool default_stride;
};

/// PyTorch's pooling (floor mode): max pads with -inf, avg divides by kh*kw (padding counted).
Vec naive_pool(bool max, const std::vector<int64_t>& s, const Vec& x, const Pool& p, int64_t& ho,
               int64_t& wo) {
    int64_t h = s[s.size() - 2], w = s[s.size() - 1];
    int64_t planes = numel_of(s) / (h * w);
    ho = (h + 2 * p.ph - p.kh) / p.sh + 1;
    wo = (w + 2 * p.pw - p.kw) / p.sw + 1;
    Vec out(static_cast<size_t>(planes * ho * wo));
    for (int64_t q = 0; q < planes; ++q)
        for (int64_t i = 0; i < ho; ++i)
            for (int64_t j = 0; j < wo; ++j) {
                double acc = max ? -std::numeric_limits<double>::infinity() : 0;
                for (int64_t ki = 0; ki < p.kh; ++ki)
                    for (int64_t kj = 0; kj < p.kw; ++kj) {
                        int64_t y = i * p.sh - p.ph + ki, z = j * p.sw - p.pw + kj;
                        bool in = y >= 0 && y < h && z >= 0 && z < w;
                        double v = in ? x[(q * h + y) * w + z]
                                      : (max ? -std::numeric_limits<double>::infinity() : 0.0);
                        acc = max ? std::max(acc, v) : acc + v;
                    }
                out[(q * ho + i) * wo + j] = max ? acc : acc / double(p.kh * p.kw);
            }
    return out;
}

void check_pool(bool max, const std::vector<int64_t>& shape, const Pool& p) {
    Tensor x = uniform(shape, kFloat64, -3, 3);
    std::vector<int64_t> stride =
        p.default_stride ? std::vector<int64_t>{} : std::vector<int64_t>{p.sh, p.sw};
    Tensor y = max ? kiln::max_pool2d(x, {p.kh, p.kw}, stride, {p.ph, p.pw})
                   : kiln::avg_pool2d(x, {p.kh, p.kw}, stride, {p.ph, p.pw});
    int64_t ho = 0, wo = 0;
    Vec want = naive_pool(max, shape, host(x), p, ho, wo);
    std::vector<int64_t> ys = shape;
    ys[ys.size() - 2] = ho;
    ys[ys.size() - 1] = wo;
    std::ostringstream os;
    os << (max ? "max_pool2d " : "avg_pool2d ") << shape_text(shape) << " kernel {" << p.kh << ","
       << p.kw << "} stride "
       << (p.default_stride ? "default"
                            : "{" + std::to_string(p.sh) + "," + std::to_string(p.sw) + "}")
       << " padding {" << p.ph << "," << p.pw << "}";
    expect_near(os.str(), y, ys, want);
}

// ---- losses over classes

/// -log_softmax(logits)[target] mixed with label smoothing, per sample, for [N, C, d...] / [C]
/// logits; `log_probs_given` treats the input as log-probabilities (nll_loss).
Vec naive_class_loss(const std::vector<int64_t>& shape, const Vec& in,
                     const std::vector<int64_t>& targets, double smoothing, bool log_probs_given) {
    int64_t n = shape.size() == 1 ? 1 : shape[0];
    int64_t c = shape.size() == 1 ? shape[0] : shape[1];
    int64_t inner = 1;
    for (size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
    Vec per(static_cast<size_t>(n * inner));
    for (int64_t s = 0; s < n; ++s)
        for (int64_t k = 0; k < inner; ++k) {
            auto at = [&](int64_t cls) { return in[(s * c + cls) * inner + k]; };
            double lse = 0;
            if (!log_probs_given) {
                double m = -std::numeric_limits<double>::infinity();
                for (int64_t cls = 0; cls < c; ++cls) m = std::max(m, at(cls));
                double sum = 0;
                for (int64_t cls = 0; cls < c; ++cls) sum += std::exp(at(cls) - m);
                lse = m + std::log(sum);
            }
            auto logp = [&](int64_t cls) { return at(cls) - lse; };
            double nll = -logp(targets[s * inner + k]);
            double uni = 0;
            for (int64_t cls = 0; cls < c; ++cls) uni -= logp(cls);
            uni /= double(c);
            per[s * inner + k] = (1 - smoothing) * nll + smoothing * uni;
        }
    return per;
}

struct ClassCase {
    std::vector<int64_t> logits;   ///< [N, C, d...] or [C]
    std::vector<int64_t> targets;  ///< [N, d...] or []
};

const std::vector<ClassCase> kClassCases{
    {{4, 5}, {4}},
    {{3, 4, 2}, {3, 2}},
    {{2, 3, 2, 2}, {2, 2, 2}},
    {{5}, {}},
};

Tensor random_targets(const std::vector<int64_t>& shape, int64_t classes) {
    return uniform(shape, kInt64, 0, static_cast<double>(classes - 1));
}

double stable_bce(double x, double y) {
    return std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
}

}  // namespace

TEST_CASE("conv2d matches a naive convolution", "[functional][conv]") {
    std::vector<Conv> cases;
    Conv base{2, 3, 5, 6, 4, 3, 3};
    cases.push_back(base);  // stride 1, padding 0, dilation 1, groups 1, bias
    Conv c = base;
    c.sh = c.sw = 2;  // stride 2
    cases.push_back(c);
    c = base;
    c.ph = c.pw = 1;  // padding 1
    c.bias = false;
    cases.push_back(c);
    c = base;
    c.h = c.w = 7;
    c.dh = c.dw = 2;  // dilation 2
    cases.push_back(c);
    c = Conv{2, 4, 5, 5, 6, 3, 3};
    c.groups = 2;  // groups 2
    cases.push_back(c);
    c = Conv{1, 4, 6, 7, 2, 2, 3};
    c.groups = 2;  // everything at once, and per-axis values
    c.sh = 2, c.sw = 1, c.ph = 1, c.pw = 0, c.dh = 1, c.dw = 2;
    c.bias = false;
    cases.push_back(c);
    c = Conv{1, 3, 5, 4, 2, 3, 2};  // unbatched [C, H, W] input
    c.ph = c.pw = 1, c.sh = c.sw = 2;
    c.unbatched = true;
    cases.push_back(c);
    c = Conv{2, 3, 4, 4, 5, 1, 1};  // 1x1 kernel
    cases.push_back(c);
    for (const Conv& p : cases) check_conv(p);
}

TEST_CASE("conv2d in float32", "[functional][conv][f32]") {
    Conv p{2, 3, 6, 6, 4, 3, 3};
    p.ph = p.pw = 1;
    check_conv(p, kFloat32);
    Conv q{1, 4, 7, 7, 4, 3, 3};
    q.sh = q.sw = 2, q.dh = q.dw = 2, q.groups = 2, q.bias = false;
    check_conv(q, kFloat32);
}

TEST_CASE("max_pool2d and avg_pool2d match naive pooling", "[functional][pool]") {
    const std::vector<std::pair<std::vector<int64_t>, Pool>> cases{
        {{2, 3, 6, 6}, {2, 2, 2, 2, 0, 0, true}},   // kernel 2, default stride
        {{2, 2, 7, 5}, {3, 3, 3, 3, 0, 0, true}},   // kernel 3, default stride (floor)
        {{1, 2, 6, 7}, {3, 3, 1, 1, 0, 0, false}},  // kernel 3, stride 1
        {{2, 2, 5, 5}, {3, 3, 2, 2, 1, 1, false}},  // kernel 3, stride 2, padding 1
        {{1, 3, 5, 6}, {2, 2, 1, 1, 1, 1, false}},  // kernel 2, stride 1, padding 1
        {{2, 4, 5}, {2, 3, 1, 2, 1, 1, false}},     // unbatched, per-axis values
        {{3, 5, 5}, {3, 3, 3, 3, 1, 1, true}},      // unbatched, default stride, padding 1
    };
    for (const auto& [shape, p] : cases) {
        check_pool(true, shape, p);
        check_pool(false, shape, p);
    }
}

TEST_CASE("max_pool2d pads with -inf", "[functional][pool]") {
    // All values negative: a zero-padded max would give 0 at the borders.
    Tensor x = uniform({1, 1, 4, 4}, kFloat64, -5, -1);
    Pool p{3, 3, 1, 1, 1, 1, false};
    int64_t ho = 0, wo = 0;
    Vec want = naive_pool(true, {1, 1, 4, 4}, host(x), p, ho, wo);
    expect_near("max_pool2d of negative values, padding 1",
                kiln::max_pool2d(x, {3, 3}, {1, 1}, {1, 1}), {1, 1, ho, wo}, want);
    for (double v : want) CHECK(v < 0);
}

TEST_CASE("linear matches x @ w^T + b", "[functional][linear]") {
    for (const std::vector<int64_t>& xs :
         {std::vector<int64_t>{4}, std::vector<int64_t>{3, 4}, std::vector<int64_t>{2, 3, 4}}) {
        for (bool bias : {true, false}) {
            Tensor x = uniform(xs, kFloat64, -2, 2);
            Tensor w = uniform({5, 4}, kFloat64, -1, 1);
            Tensor b = bias ? uniform({5}, kFloat64, -1, 1) : Tensor();
            Tensor y = kiln::linear(x, w, b);
            Vec xv = host(x), wv = host(w), bv = bias ? host(b) : Vec(5, 0.0);
            int64_t rows = numel_of(xs) / 4;
            Vec want(static_cast<size_t>(rows * 5));
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t o = 0; o < 5; ++o) {
                    double s = bv[o];
                    for (int64_t i = 0; i < 4; ++i) s += xv[r * 4 + i] * wv[o * 4 + i];
                    want[r * 5 + o] = s;
                }
            std::vector<int64_t> ys = xs;
            ys.back() = 5;
            expect_near("linear " + shape_text(xs) + (bias ? " with bias" : " without bias"), y, ys,
                        want);
        }
    }
}

TEST_CASE("layer_norm matches a naive normalization", "[functional][layer_norm]") {
    struct Case {
        std::vector<int64_t> normalized;
        bool weight, bias;
        double eps;
    };
    const std::vector<int64_t> xs{2, 3, 4};
    for (const Case& c : {Case{{4}, true, true, 1e-5}, Case{{4}, false, false, 1e-5},
                          Case{{3, 4}, true, true, 1e-5}, Case{{3, 4}, true, false, 0.1},
                          Case{{3, 4}, false, true, 1e-5}}) {
        Tensor x = normal(xs, kFloat64, 0.5, 2);
        Tensor w = c.weight ? uniform(c.normalized, kFloat64, -2, 2) : Tensor();
        Tensor b = c.bias ? uniform(c.normalized, kFloat64, -2, 2) : Tensor();
        Tensor y = kiln::layer_norm(x, c.normalized, w, b, c.eps);
        int64_t m = numel_of(c.normalized), groups = numel_of(xs) / m;
        Vec xv = host(x), wv = c.weight ? host(w) : Vec(m, 1.0),
            bv = c.bias ? host(b) : Vec(m, 0.0);
        Vec want(xv.size());
        for (int64_t g = 0; g < groups; ++g) {
            double mean = 0, var = 0;
            for (int64_t i = 0; i < m; ++i) mean += xv[g * m + i];
            mean /= double(m);
            for (int64_t i = 0; i < m; ++i) var += (xv[g * m + i] - mean) * (xv[g * m + i] - mean);
            var /= double(m);
            for (int64_t i = 0; i < m; ++i)
                want[g * m + i] = (xv[g * m + i] - mean) / std::sqrt(var + c.eps) * wv[i] + bv[i];
        }
        expect_near("layer_norm over " + shape_text(c.normalized) + (c.weight ? " weight" : "") +
                        (c.bias ? " bias" : "") + " eps " + std::to_string(c.eps),
                    y, xs, want);
    }
}

TEST_CASE("embedding picks rows", "[functional][embedding]") {
    Tensor w = uniform({5, 3}, kFloat64);
    Vec wv = host(w);
    struct Case {
        Vec ids;
        std::vector<int64_t> shape;
        DType dtype;
    };
    for (const Case& c : {Case{{4, 0, 4, 2, 4, 1}, {6}, kInt64},          // rank 1, repeats
                          Case{{1, 1, 3, 0, 4, 1}, {2, 3}, kInt64},       // rank 2, repeats
                          Case{{2}, {1}, kInt64}, Case{{3}, {}, kInt64},  // one id; scalar
                          Case{{0, 4, 0, 2}, {2, 2}, kInt32}}) {          // i32 ids
        Tensor idx = make(c.ids, c.shape, c.dtype);
        Tensor y = kiln::embedding(w, idx);
        Vec want;
        for (double id : c.ids)
            for (int64_t d = 0; d < 3; ++d) want.push_back(wv[static_cast<int64_t>(id) * 3 + d]);
        std::vector<int64_t> ys = c.shape;
        ys.push_back(3);
        expect_near("embedding of " + desc(idx), y, ys, want);
    }
    // Float32 weights keep their dtype.
    Tensor w32 = uniform({4, 2}, kFloat32);
    Vec w32v = host(w32);
    Tensor y = kiln::embedding(w32, make({3, 3, 0}, {3}, kInt64));
    expect_near("embedding of f32 weights", y, {3, 2},
                {w32v[6], w32v[7], w32v[6], w32v[7], w32v[0], w32v[1]}, kFloat32);
}

TEST_CASE("gather matches PyTorch's definition", "[functional][gather]") {
    struct Case {
        std::vector<int64_t> input, index;
        int64_t dim;
    };
    for (const Case& c : {Case{{3, 4, 5}, {2, 3, 4}, 0}, Case{{3, 4, 5}, {2, 6, 3}, 1},
                          Case{{3, 4, 5}, {3, 2, 7}, -1}, Case{{4, 3}, {2, 2}, 0},
                          Case{{4, 3}, {3, 5}, 1}, Case{{6}, {4}, 0}}) {
        Tensor t = uniform(c.input, kFloat64);
        int64_t d = c.dim < 0 ? c.dim + static_cast<int64_t>(c.input.size()) : c.dim;
        Tensor idx = uniform(c.index, kInt64, 0, static_cast<double>(c.input[d] - 1));
        Tensor y = kiln::gather(t, c.dim, idx);
        Vec tv = host(t);
        std::vector<int64_t> iv = ints(idx);
        Vec want(iv.size());
        for (int64_t f = 0; f < numel_of(c.index); ++f) {
            std::vector<int64_t> pos = unflat(f, c.index);
            pos[d] = iv[f];
            want[f] = tv[flat(pos, c.input)];
        }
        expect_near("gather dim " + std::to_string(c.dim) + " of " + shape_text(c.input) + " by " +
                        shape_text(c.index),
                    y, c.index, want);
    }
}

TEST_CASE("index_select picks entries along a dim", "[functional][index_select]") {
    struct Case {
        std::vector<int64_t> input;
        int64_t dim;
        Vec index;
    };
    for (const Case& c : {Case{{4, 5}, 0, {3, 0, 3, 1, 3}}, Case{{4, 5}, 1, {4, 4, 0}},
                          Case{{3, 4, 2}, 1, {2, 2, 1, 0, 3, 2}}, Case{{3, 4, 2}, -1, {1, 1}},
                          Case{{5}, 0, {0, 4, 4}}}) {
        Tensor t = uniform(c.input, kFloat64);
        int64_t n = static_cast<int64_t>(c.index.size());
        Tensor idx = make(c.index, {n}, kInt64);
        Tensor y = kiln::index_select(t, c.dim, idx);
        int64_t d = c.dim < 0 ? c.dim + static_cast<int64_t>(c.input.size()) : c.dim;
        std::vector<int64_t> ys = c.input;
        ys[d] = n;
        Vec tv = host(t), want(static_cast<size_t>(numel_of(ys)));
        for (int64_t f = 0; f < numel_of(ys); ++f) {
            std::vector<int64_t> pos = unflat(f, ys);
            pos[d] = static_cast<int64_t>(c.index[pos[d]]);
            want[f] = tv[flat(pos, c.input)];
        }
        expect_near("index_select dim " + std::to_string(c.dim) + " of " + shape_text(c.input), y,
                    ys, want);
    }
}

TEST_CASE("cross_entropy matches log-softmax with label smoothing", "[functional][cross_entropy]") {
    for (const ClassCase& cc : kClassCases) {
        int64_t classes = cc.logits.size() == 1 ? cc.logits[0] : cc.logits[1];
        Tensor logits = normal(cc.logits, kFloat64, 0, 3);
        Tensor targets = random_targets(cc.targets, classes);
        for (double ls : {0.0, 0.1}) {
            Vec per = naive_class_loss(cc.logits, host(logits), ints(targets), ls, false);
            for (Reduction r : kReductions) {
                Tensor y = F::cross_entropy(logits, targets, ls, r);
                expect_near("cross_entropy " + shape_text(cc.logits) + " label_smoothing " +
                                std::to_string(ls) + " reduction " + name_of(r),
                            y, reduced_shape(cc.targets, r), reduce(per, r));
            }
        }
    }
    // Large logits (a naive softmax would overflow) and i32 targets.
    Tensor big = make({1000, -1000, 0, 700, 710, -5}, {2, 3}, kFloat64);
    Tensor t = make({1, 0}, {2}, kInt32);
    Vec per = naive_class_loss({2, 3}, host(big), {1, 0}, 0, false);
    expect_near("cross_entropy of large logits", F::cross_entropy(big, t, 0, Reduction::None), {2},
                per);
    CHECK(std::abs(per[0] - 2000) < 1e-9);
    // The default arguments: no smoothing, mean.
    Tensor l = normal({3, 4}, kFloat64);
    Tensor tg = make({3, 0, 2}, {3}, kInt64);
    expect_near("cross_entropy defaults", F::cross_entropy(l, tg), {},
                reduce(naive_class_loss({3, 4}, host(l), {3, 0, 2}, 0, false), Reduction::Mean));
}

TEST_CASE("cross_entropy in float32", "[functional][cross_entropy][f32]") {
    Tensor logits = normal({6, 5}, kFloat32, 0, 2);
    Tensor targets = random_targets({6}, 5);
    for (double ls : {0.0, 0.1}) {
        Vec per = naive_class_loss({6, 5}, host(logits), ints(targets), ls, false);
        expect_near("cross_entropy f32 label_smoothing " + std::to_string(ls),
                    F::cross_entropy(logits, targets, ls, Reduction::Mean), {},
                    reduce(per, Reduction::Mean), kFloat32);
        expect_near("cross_entropy f32 none label_smoothing " + std::to_string(ls),
                    F::cross_entropy(logits, targets, ls, Reduction::None), {6}, per, kFloat32);
    }
}

TEST_CASE("nll_loss picks negated log-probabilities", "[functional][nll_loss]") {
    for (const ClassCase& cc : kClassCases) {
        int64_t classes = cc.logits.size() == 1 ? cc.logits[0] : cc.logits[1];
        Tensor logp = uniform(cc.logits, kFloat64, -4, 0);  // need not be normalized
        Tensor targets = random_targets(cc.targets, classes);
        Vec per = naive_class_loss(cc.logits, host(logp), ints(targets), 0, true);
        for (Reduction r : kReductions) {
            expect_near("nll_loss " + shape_text(cc.logits) + " reduction " + name_of(r),
                        F::nll_loss(logp, targets, r), reduced_shape(cc.targets, r),
                        reduce(per, r));
        }
    }
    // nll_loss of log_softmax is cross_entropy.
    Tensor l = normal({4, 3}, kFloat64);
    Tensor t = make({2, 2, 0, 1}, {4}, kInt64);
    expect_near("nll_loss(log_softmax)", F::nll_loss(kiln::log_softmax(l, 1), t), {},
                reduce(naive_class_loss({4, 3}, host(l), {2, 2, 0, 1}, 0, false), Reduction::Mean));
}

TEST_CASE("mse_loss and l1_loss", "[functional][mse_loss][l1_loss]") {
    for (const std::vector<int64_t>& s :
         {std::vector<int64_t>{3, 4}, std::vector<int64_t>{5}, std::vector<int64_t>{}}) {
        Tensor a = uniform(s, kFloat64), b = uniform(s, kFloat64);
        Vec av = host(a), bv = host(b), sq(av.size()), ab(av.size());
        for (size_t i = 0; i < av.size(); ++i) {
            sq[i] = (av[i] - bv[i]) * (av[i] - bv[i]);
            ab[i] = std::abs(av[i] - bv[i]);
        }
        for (Reduction r : kReductions) {
            expect_near("mse_loss " + shape_text(s) + " " + name_of(r), F::mse_loss(a, b, r),
                        reduced_shape(s, r), reduce(sq, r));
            expect_near("l1_loss " + shape_text(s) + " " + name_of(r), F::l1_loss(a, b, r),
                        reduced_shape(s, r), reduce(ab, r));
        }
    }
}

TEST_CASE("binary_cross_entropy_with_logits is stable", "[functional][bce]") {
    for (Reduction r : kReductions) {
        Tensor x = uniform({3, 4}, kFloat64, -6, 6), y = uniform({3, 4}, kFloat64, 0, 1);
        Vec xv = host(x), yv = host(y), per(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) {
            double s = 1 / (1 + std::exp(-xv[i]));  // naive is fine at moderate |x|
            per[i] = -(yv[i] * std::log(s) + (1 - yv[i]) * std::log(1 - s));
        }
        expect_near(std::string("bce_with_logits ") + name_of(r),
                    F::binary_cross_entropy_with_logits(x, y, r), reduced_shape({3, 4}, r),
                    reduce(per, r));
    }
    // Large |x|: the naive -(y log s + (1-y) log(1-s)) gives inf or nan here.
    Vec xs{50, -50, 100, -100, 1000, -1000, 50, -50, 0, 36, -36, 745};
    Vec ys{0, 1, 0.5, 0.5, 0.25, 0.75, 1, 0, 0.3, 0, 1, 0.9};
    Vec per(xs.size());
    bool naive_breaks = false;
    for (size_t i = 0; i < xs.size(); ++i) {
        per[i] = stable_bce(xs[i], ys[i]);
        double s = 1 / (1 + std::exp(-xs[i]));
        double naive = -(ys[i] * std::log(s) + (1 - ys[i]) * std::log(1 - s));
        naive_breaks |= !std::isfinite(naive);
    }
    CHECK(naive_breaks);  // the case is meaningful
    Tensor x = make(xs, {12}, kFloat64), y = make(ys, {12}, kFloat64);
    for (Reduction r : kReductions) {
        expect_near(std::string("bce_with_logits of large |x| ") + name_of(r),
                    F::binary_cross_entropy_with_logits(x, y, r), reduced_shape({12}, r),
                    reduce(per, r));
    }
}

}  // namespace kiln::test
