#include "passes/split_reductions.h"

#include "ir/rewrite.h"

namespace kiln::passes {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

/// Rows for the partial reduction: a divisor of n, as many as useful (up to 256) while each row
/// keeps at least 1024 elements.
int64_t choose_rows(int64_t n) {
    for (int64_t p = 256; p >= 8; --p)
        if (n % p == 0 && n / p >= 1024) return p;
    return 0;
}

NodeRef split(const Node& n, const NodeRef& x) {
    int64_t total = ir::numel(x->shape());
    int64_t rows = choose_rows(total);
    if (rows == 0) return nullptr;
    DType t = x->dtype();
    NodeRef grid = Node::make(Op::Reshape, t, {rows, total / rows}, {x});
    NodeRef partial = Node::make(n.op(), t, {rows, 1}, {grid}, ir::AxesAttr{{1}});
    NodeRef final_ = Node::make(n.op(), t, {1, 1}, {partial}, ir::AxesAttr{{0}});
    return Node::make(Op::Reshape, t, n.shape(), {final_});
}

}  // namespace

std::vector<NodeRef> split_reductions(const std::vector<NodeRef>& roots, int64_t min_elements) {
    return ir::rewrite_graph(roots, [&](const Node& n, const std::vector<NodeRef>& ins) -> NodeRef {
        if (ir::op_category(n.op()) == ir::OpCategory::Reduce && ir::numel(n.shape()) == 1 &&
            ir::numel(ins[0]->shape()) >= min_elements)
            return split(n, ins[0]);
        return nullptr;
    });
}

}  // namespace kiln::passes
