// linear, layer_norm and dropout, written with the public ops (so their gradients come from
// the ops' rules and fuse like any other graph).
#include "frontend/checks.h"
#include "frontend/tensor_impl.h"
#include "kiln/functional.h"

namespace kiln {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, std::source_location loc) {
    ir::NodeRef nx = node_of(x, "linear", loc);
    ir::NodeRef nw = node_of(w, "linear", loc);
    if (nw->rank() != 2 || nx->rank() < 1 || nx->shape().back() != nw->shape()[1]) {
        fail<ShapeError>("linear", "the input " + describe(*nx) + " does not fit the weight " +
                                       describe(*nw) + " ([out_features, in_features])", loc);
    }
    Tensor y = kiln::matmul(x, w.t(loc), loc);
    if (!b.defined()) return y;
    ir::NodeRef nb = node_of(b, "linear", loc);
    if (nb->shape() != ir::Shape{nw->shape()[0]}) {
        fail<ShapeError>("linear", "the bias " + describe(*nb) + " does not fit the weight " +
                                       describe(*nw), loc);
    }
    return Located(y, loc) + b;
}

Tensor layer_norm(const Tensor& x, std::vector<int64_t> normalized_shape, const Tensor& w,
                  const Tensor& b, double eps, std::source_location loc) {
    ir::NodeRef n = node_of(x, "layer_norm", loc);
    require_floating("layer_norm", *n, loc);
    const ir::Shape& shape = n->shape();
    size_t k = normalized_shape.size();
    bool fits = k >= 1 && k <= shape.size() &&
                std::equal(normalized_shape.begin(), normalized_shape.end(), shape.end() - k);
    if (!fits) {
        fail<ShapeError>("layer_norm", "normalized_shape " + ir::ints_str(normalized_shape) +
                                           " is not the trailing shape of " + describe(*n), loc);
    }
    for (const Tensor* p : {&w, &b}) {
        if (!p->defined()) continue;
        ir::NodeRef np = node_of(*p, "layer_norm", loc);
        if (np->shape() != ir::Shape(normalized_shape)) {
            fail<ShapeError>("layer_norm", std::string(p == &w ? "the weight " : "the bias ") +
                                               describe(*np) + " must have normalized_shape " +
                                               ir::ints_str(normalized_shape), loc);
        }
    }
    std::vector<int64_t> dims;
    for (size_t i = 0; i < k; ++i) dims.push_back(-1 - static_cast<int64_t>(i));
    Tensor mean = x.mean(dims, true, loc);
    Tensor centered = Located(x, loc) - mean;
    Tensor var = (Located(centered, loc) * centered).mean(dims, true, loc);
    Tensor y = Located(centered, loc) * (Located(var, loc) + eps).rsqrt(loc);
    if (w.defined()) y = Located(y, loc) * w;
    if (b.defined()) y = Located(y, loc) + b;
    return y;
}

Tensor dropout(const Tensor& x, double p, bool train, std::source_location loc) {
    ir::NodeRef n = node_of(x, "dropout", loc);
    if (!(p >= 0 && p <= 1)) {
        fail<ValueError>("dropout", "probability " + scalar_str(p) + " is not in [0, 1]", loc);
    }
    require_floating("dropout", *n, loc);
    if (!train || p == 0) return x;
    if (p == 1) return Located(x, loc) * 0.0;
    TensorOptions like_x = TensorOptions(x.dtype()).device(x.device());
    Tensor keep = kiln::rand(x.sizes(), like_x, loc) >= p;
    return Located(kiln::where(keep, x, kiln::zeros({}, like_x), loc), loc) * (1.0 / (1 - p));
}

}  // namespace kiln
