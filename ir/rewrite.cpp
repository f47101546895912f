#include "ir/rewrite.h"

#include <unordered_map>

namespace kiln::ir {

std::vector<NodeRef> rewrite_graph(const std::vector<NodeRef>& roots, const RewriteFn& fn) {
    std::unordered_map<const Node*, NodeRef> done;
    for (const Node* n : topo_order(roots)) {
        std::vector<NodeRef> ins;
        ins.reserve(n->inputs().size());
        for (const NodeRef& in : n->inputs()) ins.push_back(done.at(in.get()));
        NodeRef out = fn(*n, ins);
        done[n] = out ? out : Node::make(n->op(), n->dtype(), n->shape(), std::move(ins), n->attr());
    }
    std::vector<NodeRef> result;
    result.reserve(roots.size());
    for (const NodeRef& r : roots) result.push_back(done.at(r.get()));
    return result;
}

}  // namespace kiln::ir
