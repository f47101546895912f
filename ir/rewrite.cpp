#include "ir/rewrite.h"

#include <unordered_map>

namespace kiln::ir {

std::vector<NodeRef> rewrite_graph(const std::vector<NodeRef>& roots, const RewriteFn& fn) {
    std::unordered_map<const Node*, NodeRef> done;
    // Iterative post-order DFS (graphs can be long chains) that carries each node's reference,
    // so a node whose inputs did not change is kept as it is without an intern-table lookup.
    std::vector<std::pair<const NodeRef*, size_t>> stack;
    std::vector<NodeRef> ins;
    for (const NodeRef& root : roots) {
        if (done.count(root.get())) continue;
        stack.push_back({&root, 0});
        while (!stack.empty()) {
            auto& [ref, next] = stack.back();
            const Node& n = **ref;
            if (next < n.inputs().size()) {
                const NodeRef& in = n.inputs()[next++];
                if (!done.count(in.get())) stack.push_back({&in, 0});
                continue;
            }
            ins.clear();
            bool same = true;
            for (const NodeRef& in : n.inputs()) {
                ins.push_back(done.at(in.get()));
                same = same && ins.back() == in;
            }
            NodeRef out = fn(n, ins);
            if (!out) out = same ? *ref : Node::make(n.op(), n.dtype(), n.shape(), ins, n.attr());
            done.emplace(&n, std::move(out));
            stack.pop_back();
        }
    }
    std::vector<NodeRef> result;
    result.reserve(roots.size());
    for (const NodeRef& r : roots) result.push_back(done.at(r.get()));
    return result;
}

}  // namespace kiln::ir
