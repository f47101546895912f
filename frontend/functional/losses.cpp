// Losses of torch::nn::functional, written with the public ops. cross_entropy and nll_loss
// pick each sample's target with the IR's gather (its gradient scatters back, O(N)); the
// targets' range is checked where the gather reads them.
#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/index_sites.h"
#include "frontend/tensor_impl.h"
#include "kiln/functional.h"

namespace kiln {

namespace nn::functional {
namespace {

Tensor reduce(const Tensor& per_element, Reduction r, const std::source_location& loc) {
    switch (r) {
    case Reduction::None: return per_element;
    case Reduction::Sum: return per_element.sum(loc);
    case Reduction::Mean: break;
    }
    return per_element.mean(loc);
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b,
                      const std::source_location& loc) {
    ir::NodeRef na = node_of(a, op, loc), nb = node_of(b, op, loc);
    if (na->shape() != nb->shape()) {
        fail<ShapeError>(op, "the input " + describe(*na) + " and the target " + describe(*nb) +
                                 " must have the same shape", loc);
    }
}

/// log_probs [N, C, d...] / [C] as [M, C] and targets [N, d...] / [] as [M]: the class dim
/// moved last and the rest flattened (views). Returns the per-sample shape.
ir::Shape samples(const char* op, const Tensor& scores, const Tensor& targets, Tensor& flat,
                  Tensor& flat_targets, const std::source_location& loc) {
    ir::NodeRef s = node_of(scores, op, loc);
    ir::NodeRef t = node_of(targets, op, loc);
    require_floating(op, *s, loc);
    if (t->dtype() != DType::Int64 && t->dtype() != DType::Int32) {
        fail<TypeError>(op, "targets must be class indices (i64), got " + describe(*t), loc);
    }
    ir::Shape want = s->shape();
    if (!want.empty()) want.erase(want.begin() + (want.size() == 1 ? 0 : 1));
    if (s->rank() == 0 || t->shape() != want) {
        fail<ShapeError>(op, "targets " + describe(*t) + " do not fit the input " + describe(*s) +
                                 " ([N, C, ...] scores need [N, ...] targets)", loc);
    }
    int64_t classes = s->rank() == 1 ? s->shape()[0] : s->shape()[1];
    Tensor moved = s->rank() == 1 ? scores.unsqueeze(0, loc) : scores;
    if (moved.dim() > 2) {  // [N, C, d...] -> [N, d..., C]
        std::vector<int64_t> perm{0};
        for (int64_t i = 2; i < moved.dim(); ++i) perm.push_back(i);
        perm.push_back(1);
        moved = moved.permute(perm, loc);
    }
    flat = moved.reshape({-1, classes}, loc);
    flat_targets = targets.to(kInt64, loc).reshape({-1}, loc);
    return want;
}

/// -log_probs[m, target[m]] for every sample m, shaped `shape`.
Tensor pick_nll(const char* op, const Tensor& flat_logp, const Tensor& flat_targets,
                const ir::Shape& shape, const std::source_location& loc) {
    int64_t classes = flat_logp.size(1, loc);
    common_device(op, {&flat_logp, &flat_targets}, loc);
    int64_t site = detail::index_site(op, "target", std::to_string(classes) + " classes", loc);
    ir::NodeRef idx = build::reshape(node_of(flat_targets, op, loc),
                                     {flat_targets.numel(), 1});
    ir::NodeRef picked = build::gather(node_of(flat_logp, op, loc), idx, {1, site});
    Tensor p = make_tensor(build::reshape(picked, shape), flat_logp.device());
    return -Located(p, loc);
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction,
                std::source_location loc) {
    Tensor flat, flat_targets;
    ir::Shape shape = samples("nll_loss", log_probs, targets, flat, flat_targets, loc);
    return reduce(pick_nll("nll_loss", flat, flat_targets, shape, loc), reduction, loc);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing,
                     Reduction reduction, std::source_location loc) {
    if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
        fail<ValueError>("cross_entropy", "label_smoothing " + scalar_str(label_smoothing) +
                                              " is not in [0, 1]", loc);
    }
    Tensor flat, flat_targets;
    ir::Shape shape = samples("cross_entropy", logits, targets, flat, flat_targets, loc);
    Tensor logp = kiln::log_softmax(flat, 1, loc);
    Tensor loss = pick_nll("cross_entropy", logp, flat_targets, shape, loc);
    if (label_smoothing > 0) {
        // PyTorch: (1 - e) * nll + e * mean over classes of -log p.
        Tensor uniform = -Located(logp.mean({1}, false, loc), loc);
        loss = Located(loss, loc) * (1 - label_smoothing) +
               Located(uniform.reshape(shape, loc), loc) * label_smoothing;
    }
    return reduce(loss, reduction, loc);
}

Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction, std::source_location loc) {
    check_same_shape("mse_loss", a, b, loc);
    Tensor d = Located(a, loc) - b;
    return reduce(Located(d, loc) * d, reduction, loc);
}

Tensor l1_loss(const Tensor& a, const Tensor& b, Reduction reduction, std::source_location loc) {
    check_same_shape("l1_loss", a, b, loc);
    return reduce((Located(a, loc) - b).abs(loc), reduction, loc);
}

Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y, Reduction reduction,
                                        std::source_location loc) {
    check_same_shape("binary_cross_entropy_with_logits", x, y, loc);
    // max(x, 0) - x y + log(1 + exp(-|x|)): no overflow for large |x|.
    Tensor l = Located(x.relu(loc), loc) - Located(x, loc) * y +
               (Located((-Located(x.abs(loc), loc)).exp(loc), loc) + 1.0).log(loc);
    return reduce(l, reduction, loc);
}

}  // namespace nn::functional
}  // namespace kiln
