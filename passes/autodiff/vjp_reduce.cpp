// Gradients of reductions. Reductions keep the reduced axes with size 1, so the output gradient
// only needs an expand back to the input's shape. max/min send the gradient to the elements
// equal to the result, split evenly among ties (PyTorch's amax/amin).
#include "ir/build.h"
#include "passes/autodiff/vjp.h"

namespace kiln::passes::vjp {

Grads reduce(const NodeRef& n, const NodeRef& g, const Needs& needs) {
    namespace b = ir::build;
    using ir::Op;
    const NodeRef& x = n->input(0);
    NodeRef spread = b::expand(g, x->shape());
    if (n->op() == Op::ReduceSum) return {spread};
    const auto& axes = n->attr_as<ir::AxesAttr>().axes;
    NodeRef hit = b::binary(Op::Eq, x, b::expand(n, x->shape()));
    NodeRef count = b::reduce(Op::ReduceSum, b::cast(hit, x->dtype()), axes);
    NodeRef share = b::expand(b::binary(Op::Div, g, count), x->shape());
    return {b::where(hit, share, b::scalar_like(0, share))};
}

}  // namespace kiln::passes::vjp
