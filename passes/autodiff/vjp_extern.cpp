// Gradients of extern ops.
// - matmul: for C = A B, dA = dC B^T and dB = A^T dC (batch dims match, so no reduction over a
//   broadcast batch is needed: the frontend expands before the matmul and the expand's own
//   rule sums).
// - gather and scatter_add are each other's transpose: the gradient of a gather scatters the
//   output gradient back to the rows it read (O(index) work, never a one-hot product), and the
//   gradient of a scatter_add gathers. Indices get none.
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
    default: {
        const NodeRef& a = n->input(0);
        const NodeRef& w = n->input(1);
        return {needs[0] ? b::matmul(g, b::transpose_last(w)) : nullptr,
                needs[1] ? b::matmul(b::transpose_last(a), g) : nullptr};
    }
    }
}

}  // namespace kiln::passes::vjp
