// Gradients of extern ops.
// - matmul: for C = A B, dA = dC B^T and dB = A^T dC (batch dims match, so no reduction over a
//   broadcast batch is needed: the frontend expands before the matmul and the expand's own
//   rule sums).
// - gather and scatter_add are each other's transpose: the gradient of a gather scatters the
//   output gradient back to the rows it read (O(index) work, never a one-hot product), and the
//   gradient of a scatter_add gathers. Indices get none.
// - conv2d is bilinear in (x, w) and its two gradient ops are its transposes, so the three
//   close under differentiation: with y = conv(x, w), dx = grad_input(dy, w) and
//   dw = grad_weight(x, dy); grad_input is linear in dy (transpose: conv) and in w (<g, dx> =
//   <conv(g, w), dy>, so w gets grad_weight(g, dy)); grad_weight likewise (dy gets conv(x, g),
//   x gets grad_input(dy, g)). Second-order gradients of a CNN stay conv steps.
#include "ir/build.h"
#include "passes/autodiff/vjp.h"

namespace kiln::passes::vjp {

Grads extern_op(const NodeRef& n, const NodeRef& g, const Needs& needs) {
    namespace b = ir::build;
    using ir::Op;
    switch (n->op()) {
    case Op::Gather: {
        const auto& attr = n->attr_as<ir::IndexAttr>();
        return {b::scatter_add(n->input(1), g, n->input(0)->shape(), attr), nullptr};
    }
    case Op::ScatterAdd: return {nullptr, b::gather(g, n->input(0), n->attr_as<ir::IndexAttr>())};
    case Op::Conv2d: {
        const auto& attr = n->attr_as<ir::ConvAttr>();
        const NodeRef& x = n->input(0);
        const NodeRef& w = n->input(1);
        return {needs[0] ? b::conv2d_grad_input(g, w, x->shape(), attr) : nullptr,
                needs[1] ? b::conv2d_grad_weight(x, g, w->shape(), attr) : nullptr};
    }
    case Op::Conv2dGradInput: {  // n = grad_input(dy, w), g shaped like x
        const auto& attr = n->attr_as<ir::ConvAttr>();
        const NodeRef& dy = n->input(0);
        const NodeRef& w = n->input(1);
        return {needs[0] ? b::conv2d(g, w, attr) : nullptr,
                needs[1] ? b::conv2d_grad_weight(g, dy, w->shape(), attr) : nullptr};
    }
    case Op::Conv2dGradWeight: {  // n = grad_weight(x, dy), g shaped like w
        const auto& attr = n->attr_as<ir::ConvAttr>();
        const NodeRef& x = n->input(0);
        const NodeRef& dy = n->input(1);
        return {needs[0] ? b::conv2d_grad_input(dy, g, x->shape(), attr) : nullptr,
                needs[1] ? b::conv2d(x, g, attr) : nullptr};
    }
    default: {
        const NodeRef& a = n->input(0);
        const NodeRef& w = n->input(1);
        return {needs[0] ? b::matmul(g, b::transpose_last(w)) : nullptr,
                needs[1] ? b::matmul(b::transpose_last(a), g) : nullptr};
    }
    }
}

}  // namespace kiln::passes::vjp
