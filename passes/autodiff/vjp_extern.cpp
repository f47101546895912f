// Gradients of extern ops. matmul: for C = A B, dA = dC B^T and dB = A^T dC (batch dims match,
// so no reduction over a broadcast batch is needed: the frontend expands before the matmul and
// the expand's own rule sums).
#include "ir/build.h"
#include "passes/autodiff/vjp.h"

namespace kiln::passes::vjp {

Grads extern_op(const NodeRef& n, const NodeRef& g, const Needs& needs) {
    namespace b = ir::build;
    const NodeRef& a = n->input(0);
    const NodeRef& w = n->input(1);
    return {needs[0] ? b::matmul(g, b::transpose_last(w)) : nullptr,
            needs[1] ? b::matmul(b::transpose_last(a), g) : nullptr};
}

}  // namespace kiln::passes::vjp
