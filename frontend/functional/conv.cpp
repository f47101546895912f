// Pooling as views: every kernel offset (ki, kj) is a strided slice of the padded input, so
// pooling is an elementwise fold over the slices (one fused kernel), and its backward comes from
// the views' rules (the slices' gradients are pads that add up). conv2d is one extern IR op
// (ir/conv.h; runtime/conv.cpp computes it image by image in cache) whose gradients are two more
// conv ops; its bias is an add that fuses into whatever reads the result.
#include <limits>

#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/tensor_impl.h"
#include "kiln/functional.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Shape;

struct Window {
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    int64_t ho, wo;  ///< output size
};

std::vector<int64_t> pair_arg(const char* op, const char* name, std::vector<int64_t> v,
                              int64_t min, const std::source_location& loc) {
    if (v.size() == 1) v.push_back(v[0]);
    if (v.size() != 2 || v[0] < min || v[1] < min) {
        fail<ValueError>(op, std::string(name) + " " + ir::ints_str(v) + " must be two values >= " +
                                 std::to_string(min), loc);
    }
    return v;
}

/// The window of `op` over x [N, C, H, W]; `shown` is the input as the user passed it.
Window window(const char* op, const Shape& x, const Shape& shown, std::vector<int64_t> kernel,
              std::vector<int64_t> stride, std::vector<int64_t> padding,
              std::vector<int64_t> dilation, const std::source_location& loc) {
    kernel = pair_arg(op, "kernel size", kernel, 1, loc);
    stride = pair_arg(op, "stride", stride.empty() ? kernel : stride, 1, loc);
    padding = pair_arg(op, "padding", padding, 0, loc);
    dilation = pair_arg(op, "dilation", dilation, 1, loc);
    Window w{kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
             dilation[0], dilation[1], 0, 0};
    int64_t h = x[x.size() - 2], wd = x[x.size() - 1];
    int64_t eh = w.dh * (w.kh - 1) + 1, ew = w.dw * (w.kw - 1) + 1;  // dilated kernel extent
    if (h + 2 * w.ph < eh || wd + 2 * w.pw < ew) {
        std::string k = "the kernel " + ir::ints_str(kernel);
        if (w.dh > 1 || w.dw > 1) k += " with dilation " + ir::ints_str(dilation);
        fail<ShapeError>(op, k + " spans " + ir::ints_str({eh, ew}) + ", more than the input " +
                                 ir::shape_str(shown) + " padded to " +
                                 ir::ints_str({h + 2 * w.ph, wd + 2 * w.pw}), loc);
    }
    w.ho = (h + 2 * w.ph - eh) / w.sh + 1;
    w.wo = (wd + 2 * w.pw - ew) / w.sw + 1;
    return w;
}

/// The input of kernel offset (ki, kj) for every output position: [..., Ho, Wo], a view of the
/// padded input xp.
NodeRef offset_view(const NodeRef& xp, const Window& w, int64_t ki, int64_t kj) {
    size_t r = xp->shape().size();
    std::vector<int64_t> start(r, 0), step(r, 1);
    start[r - 2] = ki * w.dh;
    start[r - 1] = kj * w.dw;
    step[r - 2] = w.sh;
    step[r - 1] = w.sw;
    Shape shape = xp->shape();
    shape[r - 2] = w.ho;
    shape[r - 1] = w.wo;
    return build::slice(xp, start, step, shape);
}

NodeRef pad_hw(const NodeRef& x, const Window& w) {
    size_t r = x->shape().size();
    std::vector<int64_t> before(r, 0), after(r, 0);
    before[r - 2] = after[r - 2] = w.ph;
    before[r - 1] = after[r - 1] = w.pw;
    return build::pad(x, before, after);
}

/// x as [N, C, H, W] (a batch of one for [C, H, W]); checks rank and dtype.
NodeRef batched(const char* op, const Tensor& t, bool& unbatched,
                const std::source_location& loc) {
    NodeRef x = node_of(t, op, loc);
    require_floating(op, *x, loc);
    if (x->rank() != 3 && x->rank() != 4) {
        fail<ShapeError>(op, "expects [N, C, H, W] or [C, H, W] input, got " + describe(*x), loc);
    }
    unbatched = x->rank() == 3;
    if (unbatched) {
        Shape s = x->shape();
        s.insert(s.begin(), 1);
        x = build::reshape(x, s);
    }
    return x;
}

Tensor finish(NodeRef r, bool unbatched, const Tensor& like) {
    if (unbatched) {
        Shape s = r->shape();
        s.erase(s.begin());
        r = build::reshape(r, s);
    }
    return make_tensor(r, like.device());
}

/// max / average pooling: `combine` (max or add) folded over the kernel offsets' views of the
/// padded input, one fused kernel. Max pooling pads with -inf, average pooling with zeros
/// (which it counts, PyTorch's count_include_pad).
Tensor pool2d(const char* op, ir::Op combine, const Tensor& x, std::vector<int64_t> kernel,
              std::vector<int64_t> stride, std::vector<int64_t> padding,
              const std::source_location& loc) {
    bool unbatched = false;
    NodeRef n = batched(op, x, unbatched, loc);
    Window w = window(op, n->shape(), x.sizes(), kernel, stride, padding, {1, 1}, loc);
    if (w.ph * 2 > w.kh || w.pw * 2 > w.kw) {
        fail<ValueError>(op, "padding " + ir::ints_str({w.ph, w.pw}) +
                                 " must be at most half the kernel size", loc);
    }
    if (w.sh == w.kh && w.sw == w.kw && w.ph == 0 && w.pw == 0) {
        // Windows that tile the input (the common 2x2 pooling): [N, C, Ho*kh, Wo*kw] viewed as
        // [N, C, Ho, kh, Wo, kw] and reduced over kh and kw. The gradient is then the
        // reduction's (a mask times the expanded output gradient): one fused kernel with affine
        // indices, where folding max over the offset views gave a backward that recomputed
        // every window once per offset (10x slower than the forward).
        const Shape& s = n->shape();
        NodeRef v = build::slice(n, {0, 0, 0, 0}, {1, 1, 1, 1}, {s[0], s[1], w.ho * w.kh, w.wo * w.kw});
        v = build::reshape(v, {s[0], s[1], w.ho, w.kh, w.wo, w.kw});
        NodeRef r = build::reduce(combine == ir::Op::Max ? ir::Op::ReduceMax : ir::Op::ReduceSum, v, {3, 5});
        r = build::reshape(r, {s[0], s[1], w.ho, w.wo});
        if (combine == ir::Op::Add)
            r = build::binary(ir::Op::Mul, r, build::scalar_like(1.0 / double(w.kh * w.kw), r));
        return finish(r, unbatched, x);
    }
    NodeRef xp = pad_hw(n, w);
    if (combine == ir::Op::Max && (w.ph || w.pw)) {  // pick -inf outside a padded mask
        NodeRef inside = pad_hw(ir::make_int_const(1, DType::Bool, n->shape()), w);
        xp = build::where(inside, xp,
                          build::scalar_like(-std::numeric_limits<double>::infinity(), xp));
    }
    NodeRef r;
    for (int64_t ki = 0; ki < w.kh; ++ki)
        for (int64_t kj = 0; kj < w.kw; ++kj) {
            NodeRef v = offset_view(xp, w, ki, kj);
            r = r ? build::binary(combine, r, v) : v;
        }
    if (combine == ir::Op::Add)
        r = build::binary(ir::Op::Mul, r, build::scalar_like(1.0 / double(w.kh * w.kw), r));
    return finish(r, unbatched, x);
}

}  // namespace

Tensor max_pool2d(const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                  std::vector<int64_t> padding, std::source_location loc) {
    return pool2d("max_pool2d", ir::Op::Max, x, kernel, stride, padding, loc);
}

Tensor avg_pool2d(const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                  std::vector<int64_t> padding, std::source_location loc) {
    return pool2d("avg_pool2d", ir::Op::Add, x, kernel, stride, padding, loc);
}



Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              std::vector<int64_t> stride, std::vector<int64_t> padding,
              std::vector<int64_t> dilation, int64_t groups, std::source_location loc) {
    bool unbatched = false;
    NodeRef n = batched("conv2d", x, unbatched, loc);
    NodeRef wt = node_of(weight, "conv2d", loc);
    const Shape& xs = n->shape();
    const Shape& ws = wt->shape();
    std::string input = describe(*node_of(x, "conv2d", loc));  // as the user passed it
    if (groups < 1) fail<ValueError>("conv2d", "groups must be >= 1, got " + std::to_string(groups), loc);
    if (wt->rank() != 4 || ws[1] * groups != xs[1]) {
        fail<ShapeError>("conv2d", "the weight " + describe(*wt) + " does not fit the input " +
                                       input + " with groups=" + std::to_string(groups) +
                                       " (expected [out, " + std::to_string(xs[1] / groups) +
                                       ", kh, kw]: in channels / groups)", loc);
    }
    if (ws[0] % groups != 0) {
        fail<ShapeError>("conv2d", "the weight " + describe(*wt) + " has " +
                                       std::to_string(ws[0]) + " out channels, which groups=" +
                                       std::to_string(groups) + " does not divide", loc);
    }
    if (wt->dtype() != n->dtype()) {
        fail<TypeError>("conv2d", "the input " + input + " and the weight " + describe(*wt) +
                                      " have different dtypes", loc);
    }
    Window w = window("conv2d", xs, x.sizes(), {ws[2], ws[3]}, stride, padding, dilation, loc);
    ir::ConvAttr attr{{w.sh, w.sw}, {w.ph, w.pw}, {w.dh, w.dw}, groups};
    Tensor y = make_tensor(build::conv2d(n, wt, attr),
                           common_device("conv2d", {&x, &weight, &bias}, loc));
    if (bias.defined()) {
        NodeRef nb = node_of(bias, "conv2d", loc);
        if (nb->shape() != Shape{ws[0]}) {
            fail<ShapeError>("conv2d", "the bias " + describe(*nb) + " must be [" +
                                           std::to_string(ws[0]) + "]", loc);
        }
        y = Located(y, loc) + bias.reshape({ws[0], 1, 1}, loc);
    }
    if (unbatched) y = y.squeeze(0, loc);
    return y;
}

}  // namespace kiln
