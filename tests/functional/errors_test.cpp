// The exact errors of the functional ops: indices read from data (embedding ids, class
// targets, gather / index_select indices) are checked when the value is computed and reported
// as kiln::IndexError naming the op's call site; shapes, dtypes and argument values are checked
// when the op is recorded.
#include "ops/check.h"

namespace kiln::test {
namespace {

namespace F = kiln::nn::functional;

/// The message of the kiln::Error of type E that `f` throws; another kiln::Error is reported
/// with a prefix naming the mismatch, no error as "(no error)".
template <class E>
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const Error& e) {
        return std::string("(an error of another type) ") + e.what();
    }
    return "(no error)";
}

/// " at errors_test.cpp:LINE".
std::string at(int line) { return " at errors_test.cpp:" + std::to_string(line); }

Tensor ids(std::vector<double> v, DType dtype = kInt64) {
    Shape s{static_cast<int64_t>(v.size())};
    return make(v, s, dtype);
}

}  // namespace

TEST_CASE("unfold errors name the size, dim and shape", "[errors][movement]") {
    int line = __LINE__ + 1;
    auto too_big = [] { kiln::zeros({2, 3}).unfold(1, 4, 1); };
    CHECK(error_of<ShapeError>(too_big) ==
          "unfold: size 4 does not fit dim 1 of shape [2,3] (at most 3)" + at(line));
    line = __LINE__ + 1;
    auto no_step = [] { kiln::zeros({2, 3}).unfold(1, 2, 0); };
    CHECK(error_of<ValueError>(no_step) == "unfold: step must be positive, got 0" + at(line));
    line = __LINE__ + 1;
    auto no_size = [] { kiln::zeros({2, 3}).unfold(-1, 0, 1); };
    CHECK(error_of<ValueError>(no_size) == "unfold: size must be positive, got 0" + at(line));
}

TEST_CASE("embedding: an out-of-range id is reported when the value is read",
          "[functional][errors][embedding]") {
    Tensor w = kiln::zeros({5, 3});
    int line = __LINE__ + 1;
    Tensor y = kiln::embedding(w, ids({1, 7, 2}));  // recording does not read the ids
    const std::string want =
        "embedding: index 7 is out of range [0, 5) (the weight f32[5,3] has 5 rows)" + at(line);
    CHECK(error_of<IndexError>([&] { y.to_vector<float>(); }) == want);
    // On the CPU the value is never computed, so every later read reports it again. On a GPU
    // the gather ran asynchronously and the read that synchronized reported it (once).
    if (kiln::default_device().is_cpu()) {
        CHECK(error_of<IndexError>([&] { y.sum().item<float>(); }) == want);  // read downstream
        CHECK(error_of<IndexError>([&] { (y * 2).realize(); }) == want);
    }

    line = __LINE__ + 1;
    Tensor neg = kiln::embedding(w, ids({-1}, kInt32));
    CHECK(error_of<IndexError>([&] { neg.to_vector<float>(); }) ==
          "embedding: index -1 is out of range [0, 5) (the weight f32[5,3] has 5 rows)" + at(line));

    // Rank-2 ids: the message is the same (the ids are flattened inside).
    line = __LINE__ + 1;
    Tensor y2 = kiln::embedding(w, make({0, 1, 5, 2}, {2, 2}, kInt64));
    CHECK(error_of<IndexError>([&] { y2.to_vector<float>(); }) ==
          "embedding: index 5 is out of range [0, 5) (the weight f32[5,3] has 5 rows)" + at(line));

    // The gradient reads the same ids.
    Tensor wl = kiln::zeros({5, 3}, kFloat64).requires_grad_();
    line = __LINE__ + 1;
    Tensor yl = kiln::embedding(wl, ids({1, 7}));
    yl.sum().backward();
    CHECK(error_of<IndexError>([&] { wl.grad().to_vector<double>(); }) ==
          "embedding: index 7 is out of range [0, 5) (the weight f64[5,3] has 5 rows)" + at(line));

    // Nothing is left broken: valid ids work afterwards.
    CHECK(kiln::embedding(kiln::ones({5, 3}), ids({4, 0})).sum().item<float>() == 6.0f);
}

TEST_CASE("cross_entropy and nll_loss: out-of-range targets",
          "[functional][errors][cross_entropy]") {
    Tensor logits = kiln::zeros({2, 3});
    int line = __LINE__ + 1;
    Tensor high = F::cross_entropy(logits, ids({0, 3}));
    CHECK(error_of<IndexError>([&] { high.item<float>(); }) ==
          "cross_entropy: target 3 is out of range [0, 3) (3 classes)" + at(line));
    line = __LINE__ + 1;
    Tensor low = F::cross_entropy(logits, ids({-1, 0}));
    CHECK(error_of<IndexError>([&] { low.item<float>(); }) ==
          "cross_entropy: target -1 is out of range [0, 3) (3 classes)" + at(line));
    // [N, C, d] logits, label smoothing, no reduction.
    line = __LINE__ + 1;
    Tensor spatial = F::cross_entropy(kiln::zeros({2, 3, 2}), make({0, 1, 2, 5}, {2, 2}, kInt64),
                                      0.1, F::Reduction::None);
    CHECK(error_of<IndexError>([&] { spatial.to_vector<float>(); }) ==
          "cross_entropy: target 5 is out of range [0, 3) (3 classes)" + at(line));
    // [C] logits with a [] target.
    line = __LINE__ + 1;
    Tensor single = F::cross_entropy(kiln::zeros({4}), make({4}, {}, kInt64));
    CHECK(error_of<IndexError>([&] { single.item<float>(); }) ==
          "cross_entropy: target 4 is out of range [0, 4) (4 classes)" + at(line));
    line = __LINE__ + 1;
    Tensor nll = F::nll_loss(logits, ids({3, 0}), F::Reduction::Sum);
    CHECK(error_of<IndexError>([&] { nll.item<float>(); }) ==
          "nll_loss: target 3 is out of range [0, 3) (3 classes)" + at(line));
}

TEST_CASE("gather and index_select: out-of-range indices", "[functional][errors][indexing]") {
    Tensor t = kiln::zeros({3, 4});
    int line = __LINE__ + 1;
    Tensor g1 = kiln::gather(t, 1, make({0, 4}, {1, 2}, kInt64));
    CHECK(error_of<IndexError>([&] { g1.to_vector<float>(); }) ==
          "gather: index 4 is out of range [0, 4) (dim 1 of f32[3,4] has size 4)" + at(line));
    line = __LINE__ + 1;
    Tensor g0 = kiln::gather(t, 0, make({-2}, {1, 1}, kInt64));
    CHECK(error_of<IndexError>([&] { g0.to_vector<float>(); }) ==
          "gather: index -2 is out of range [0, 3) (dim 0 of f32[3,4] has size 3)" + at(line));
    line = __LINE__ + 1;
    Tensor gl = kiln::gather(t, -1, make({1, 9}, {2, 1}, kInt64));  // dim -1 reads as dim 1
    CHECK(error_of<IndexError>([&] { gl.to_vector<float>(); }) ==
          "gather: index 9 is out of range [0, 4) (dim 1 of f32[3,4] has size 4)" + at(line));
    line = __LINE__ + 1;
    Tensor s0 = kiln::index_select(t, 0, ids({0, 3}));
    CHECK(error_of<IndexError>([&] { s0.to_vector<float>(); }) ==
          "index_select: index 3 is out of range [0, 3) (dim 0 of f32[3,4] has size 3)" + at(line));
    line = __LINE__ + 1;
    Tensor s1 = kiln::index_select(t, 1, ids({-1, 0}));
    CHECK(error_of<IndexError>([&] { s1.to_vector<float>(); }) ==
          "index_select: index -1 is out of range [0, 4) (dim 1 of f32[3,4] has size 4)" +
              at(line));
}

TEST_CASE("shape, dtype and value errors are raised when recorded", "[functional][errors][args]") {
    Tensor x = kiln::zeros({1, 3, 5, 5});
    Tensor w4 = kiln::zeros({2, 4, 3, 3}), w3 = kiln::zeros({2, 3, 3, 3});
    Tensor w64 = kiln::zeros({2, 3, 3, 3}, kFloat64);
    int line = __LINE__ + 1;
    auto conv_channels = [&] { kiln::conv2d(x, w4); };
    CHECK(error_of<ShapeError>(conv_channels) ==
          "conv2d: the weight f32[2,4,3,3] does not fit the input f32[1,3,5,5] with groups=1 "
          "(expected [out, 3, kh, kw]: in channels / groups)" +
              at(line));
    line = __LINE__ + 2;
    auto conv_groups = [&] {
        kiln::conv2d(kiln::zeros({1, 4, 5, 5}), kiln::zeros({3, 2, 3, 3}), {}, {1, 1}, {0, 0},
                     {1, 1}, 2);
    };
    CHECK(error_of<ShapeError>(conv_groups) ==
          "conv2d: the weight f32[3,2,3,3] has 3 out channels, which groups=2 does not divide" +
              at(line));
    line = __LINE__ + 2;
    auto conv_big = [&] {
        kiln::conv2d(kiln::zeros({1, 1, 2, 2}), kiln::zeros({1, 1, 5, 5}), {}, {1, 1}, {1, 1});
    };
    CHECK(error_of<ShapeError>(conv_big) ==
          "conv2d: the kernel [5,5] spans [5,5], more than the input [1,1,2,2] padded to [4,4]" +
              at(line));
    line = __LINE__ + 1;
    auto conv_dtypes = [&] { kiln::conv2d(x, w64); };
    CHECK(error_of<TypeError>(conv_dtypes) ==
          "conv2d: the input f32[1,3,5,5] and the weight f64[2,3,3,3] have different dtypes" +
              at(line));
    line = __LINE__ + 1;
    auto conv_bias = [&] { kiln::conv2d(x, w3, kiln::zeros({3})); };
    CHECK(error_of<ShapeError>(conv_bias) == "conv2d: the bias f32[3] must be [2]" + at(line));
    line = __LINE__ + 1;
    auto conv_stride = [&] { kiln::conv2d(x, w3, {}, {0, 1}); };
    CHECK(error_of<ValueError>(conv_stride) ==
          "conv2d: stride [0,1] must be two values >= 1" + at(line));

    Tensor logits = kiln::zeros({2, 3});
    Tensor float_targets = make({0, 1}, {2}, kFloat32);
    line = __LINE__ + 1;
    auto ce_float = [&] { F::cross_entropy(logits, float_targets); };
    CHECK(error_of<TypeError>(ce_float) ==
          "cross_entropy: targets must be class indices (i64), got f32[2]" + at(line));
    line = __LINE__ + 1;
    auto ce_shape = [&] { F::cross_entropy(logits, ids({0, 1, 1})); };
    CHECK(error_of<ShapeError>(ce_shape) ==
          "cross_entropy: targets i64[3] do not fit the input f32[2,3] ([N, C, ...] scores need "
          "[N, ...] targets)" +
              at(line));
    line = __LINE__ + 1;
    auto ce_smoothing = [&] { F::cross_entropy(logits, ids({0, 1}), 1.5); };
    CHECK(error_of<ValueError>(ce_smoothing) ==
          "cross_entropy: label_smoothing 1.5 is not in [0, 1]" + at(line));

    Tensor a = kiln::zeros({2, 3}), b = kiln::zeros({3, 2}), c = kiln::zeros({3});
    line = __LINE__ + 1;
    auto mse_shapes = [&] { F::mse_loss(a, b); };
    CHECK(error_of<ShapeError>(mse_shapes) ==
          "mse_loss: the input f32[2,3] and the target f32[3,2] must have the same shape" +
              at(line));
    line = __LINE__ + 1;
    auto bce_shapes = [&] { F::binary_cross_entropy_with_logits(a, c); };
    CHECK(error_of<ShapeError>(bce_shapes) ==
          "binary_cross_entropy_with_logits: the input f32[2,3] and the target f32[3] must have "
          "the same shape" +
              at(line));

    Tensor h = kiln::zeros({2, 3, 4});
    line = __LINE__ + 1;
    auto ln_shape = [&] { kiln::layer_norm(h, {3}); };
    CHECK(error_of<ShapeError>(ln_shape) ==
          "layer_norm: normalized_shape [3] is not the trailing shape of f32[2,3,4]" + at(line));
    line = __LINE__ + 1;
    auto ln_weight = [&] { kiln::layer_norm(h, {4}, c); };
    CHECK(error_of<ShapeError>(ln_weight) ==
          "layer_norm: the weight f32[3] must have normalized_shape [4]" + at(line));

    line = __LINE__ + 1;
    auto dropout_high = [&] { kiln::dropout(a, 1.5); };
    CHECK(error_of<ValueError>(dropout_high) ==
          "dropout: probability 1.5 is not in [0, 1]" + at(line));
    line = __LINE__ + 1;
    auto dropout_negative = [&] { kiln::dropout(a, -0.1, false); };  // checked even when off
    CHECK(error_of<ValueError>(dropout_negative) ==
          "dropout: probability -0.1 is not in [0, 1]" + at(line));

    Tensor table = kiln::zeros({5, 3}), float_ids = kiln::zeros({2});
    line = __LINE__ + 1;
    auto emb_float = [&] { kiln::embedding(table, float_ids); };
    CHECK(error_of<TypeError>(emb_float) ==
          "embedding: indices must be an integer tensor (i64), got f32[2]" + at(line));
    line = __LINE__ + 1;
    auto emb_rank = [&] { kiln::embedding(c, ids({0})); };
    CHECK(error_of<ShapeError>(emb_rank) ==
          "embedding: the weight must be 2-D [num_embeddings, dim], got f32[3]" + at(line));

    Tensor t = kiln::zeros({3, 4}), big = kiln::zeros({4, 1}, kInt64);
    Tensor idx2 = kiln::zeros({1, 1}, kInt64);
    line = __LINE__ + 1;
    auto gather_rank = [&] { kiln::gather(t, 1, ids({0})); };
    CHECK(error_of<ShapeError>(gather_rank) ==
          "gather: the index i64[1] must have the rank of f32[3,4]" + at(line));
    line = __LINE__ + 1;
    auto gather_big = [&] { kiln::gather(t, 1, big); };
    CHECK(error_of<ShapeError>(gather_big) ==
          "gather: the index i64[4,1] is larger than f32[3,4] in dim 0" + at(line));
    line = __LINE__ + 1;
    auto select_rank = [&] { kiln::index_select(t, 0, idx2); };
    CHECK(error_of<ShapeError>(select_rank) ==
          "index_select: the index must be 1-D, got i64[1,1]" + at(line));

    Tensor lw = kiln::zeros({4, 2}), img = kiln::zeros({1, 1, 5, 5});
    line = __LINE__ + 1;
    auto linear_shapes = [&] { kiln::linear(a, lw); };
    CHECK(error_of<ShapeError>(linear_shapes) ==
          "linear: the input f32[2,3] does not fit the weight f32[4,2] ([out_features, "
          "in_features])" +
              at(line));
    line = __LINE__ + 1;
    auto pool_padding = [&] { kiln::max_pool2d(img, {2, 2}, {}, {2, 2}); };
    CHECK(error_of<ValueError>(pool_padding) ==
          "max_pool2d: padding [2,2] must be at most half the kernel size" + at(line));
}

// Messages name the input as the caller passed it, not its internal batched view.
TEST_CASE("unbatched conv2d errors name the caller's input shape",
          "[functional][errors][unbatched]") {
    std::string m = error_of<ShapeError>([&] {
        kiln::conv2d(kiln::zeros({3, 5, 5}), kiln::zeros({2, 4, 3, 3}));
    });
    CHECK_THAT(m, Catch::Contains("the input f32[3,5,5]"));
    m = error_of<TypeError>([&] {
        kiln::conv2d(kiln::zeros({1, 5, 5}), kiln::zeros({1, 1, 3, 3}, kFloat64));
    });
    CHECK_THAT(m, Catch::Contains("the input f32[1,5,5]"));
}

}  // namespace kiln::test
