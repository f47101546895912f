#pragma once
/// The functional ops networks are built from (LibTorch's torch::linear, torch::conv2d, ... and
/// torch::nn::functional's losses). All record lazily and differentiate like any other op.
#include <cstdint>
#include <source_location>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

/// x @ w^T + b, for x [..., in], w [out, in], b [out] (optional).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = {}, KILN_LOC);

/// 2-D convolution of x [N, C, H, W] (or unbatched [C, H, W]) with w [O, C / groups, kh, kw]
/// and optional b [O], as PyTorch's conv2d (cross-correlation, zero padding).
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = {},
              std::vector<int64_t> stride = {1, 1}, std::vector<int64_t> padding = {0, 0},
              std::vector<int64_t> dilation = {1, 1}, int64_t groups = 1, KILN_LOC);
/// Max / average over kernel windows of x [N, C, H, W] (or [C, H, W]); stride defaults to the
/// kernel. Max pooling pads with -inf; average pooling counts the zero padding (PyTorch's
/// count_include_pad=true). A gradient tie inside a max window is split evenly.
Tensor max_pool2d(const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> stride = {},
                  std::vector<int64_t> padding = {0, 0}, KILN_LOC);
Tensor avg_pool2d(const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> stride = {},
                  std::vector<int64_t> padding = {0, 0}, KILN_LOC);

/// Normalizes over the trailing dims `normalized_shape` (biased variance), then * w + b.
Tensor layer_norm(const Tensor& x, std::vector<int64_t> normalized_shape, const Tensor& w = {},
                  const Tensor& b = {}, double eps = 1e-5, KILN_LOC);
/// Zeroes elements with probability p and scales the rest by 1 / (1 - p) when `train`.
Tensor dropout(const Tensor& x, double p = 0.5, bool train = true, KILN_LOC);

/// Rows of weight [num, dim] picked by i64 indices of any shape: [indices..., dim].
Tensor embedding(const Tensor& weight, const Tensor& indices, KILN_LOC);
/// out[i][j][k] = t[i][index[i][j][k]][k] for dim 1 (PyTorch's gather; index i64 of t's rank,
/// no larger than t outside `dim`).
Tensor gather(const Tensor& t, int64_t dim, const Tensor& index, KILN_LOC);
/// The entries of t at positions `index` (1-D i64) along `dim`.
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index, KILN_LOC);

namespace nn::functional {

/// How a loss combines its per-element values (LibTorch's reduction option).
enum class Reduction { None, Mean, Sum };

/// Softmax cross-entropy of logits [N, C] (or [N, C, d...], or [C]) against i64 class targets
/// [N] ([N, d...], []), with optional label smoothing.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing = 0,
                     Reduction reduction = Reduction::Mean, KILN_LOC);
/// -log_probs[target], for log-probabilities shaped as cross_entropy's logits.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets,
                Reduction reduction = Reduction::Mean, KILN_LOC);
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean, KILN_LOC);
Tensor l1_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean, KILN_LOC);
/// Binary cross-entropy on logits x against targets y in [0, 1], computed stably.
Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y,
                                        Reduction reduction = Reduction::Mean, KILN_LOC);

}  // namespace nn::functional
}  // namespace kiln
