// The reverse sweep. It runs over the nodes between the roots and the `wrt` nodes only: a first
// pass marks the nodes from which some wrt node is reachable through gradient-carrying edges,
// the second walks them users-first, asks each op's rule for its inputs' gradients and sums
// the contributions a node receives from several users.
#include "passes/autodiff/autodiff.h"

#include <unordered_map>
#include <unordered_set>

#include "ir/build.h"
#include "kiln/error.h"
#include "passes/autodiff/vjp.h"

namespace kiln::passes {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;
using ir::OpCategory;

/// Nodes under `roots`, inputs before users, each once; gradient-carrying edges only (a leaf's
/// input and the inputs of nodes that do not track grad are not followed).
std::vector<NodeRef> differentiable_order(const std::vector<NodeRef>& roots) {
    std::vector<NodeRef> order;
    std::unordered_set<const Node*> seen;
    std::vector<std::pair<NodeRef, size_t>> stack;  // iterative: graphs can be long chains
    auto follows = [](const Node& n) { return n.tracks_grad() && n.op() != Op::Leaf; };
    for (const NodeRef& root : roots) {
        if (!seen.insert(root.get()).second) continue;
        stack.push_back({root, 0});
        while (!stack.empty()) {
            auto& [n, next] = stack.back();
            if (follows(*n) && next < n->inputs().size()) {
                const NodeRef& in = n->inputs()[next++];
                if (seen.insert(in.get()).second) stack.push_back({in, 0});
                continue;
            }
            order.push_back(n);
            stack.pop_back();
        }
    }
    return order;
}

NodeRef accumulate(const NodeRef& sum, const NodeRef& term) {
    return sum ? ir::build::binary(Op::Add, sum, term) : term;
}

vjp::Grads rule(const NodeRef& n, const NodeRef& g, const vjp::Needs& needs) {
    switch (ir::op_category(n->op())) {
    case OpCategory::Unary:
    case OpCategory::Binary:
    case OpCategory::Ternary: return vjp::elementwise(n, g, needs);
    case OpCategory::Reduce: return vjp::reduce(n, g, needs);
    case OpCategory::Movement: return vjp::movement(n, g, needs);
    case OpCategory::Extern: return vjp::extern_op(n, g, needs);
    case OpCategory::Source:
    case OpCategory::Loop: break;
    }
    return vjp::Grads(n->inputs().size());
}

}  // namespace

std::vector<NodeRef> gradients(const std::vector<NodeRef>& roots,
                               const std::vector<NodeRef>& cotangents,
                               const std::vector<NodeRef>& wrt) {
    KILN_CHECK(roots.size() == cotangents.size(), "gradients: one cotangent per root");
    std::unordered_set<const Node*> targets;
    for (const NodeRef& w : wrt) targets.insert(w.get());
    std::vector<NodeRef> order = differentiable_order(roots);

    // Which nodes have a wrt node at or below them (inputs come first in `order`).
    std::unordered_set<const Node*> reaches;
    for (const NodeRef& n : order) {
        bool r = targets.count(n.get()) > 0;
        if (!r && n->tracks_grad() && n->op() != Op::Leaf)
            for (const NodeRef& in : n->inputs()) r |= reaches.count(in.get()) > 0;
        if (r) reaches.insert(n.get());
    }

    std::unordered_map<const Node*, NodeRef> adjoint;
    for (size_t i = 0; i < roots.size(); ++i) {
        KILN_CHECK(cotangents[i]->shape() == roots[i]->shape() &&
                       cotangents[i]->dtype() == roots[i]->dtype(),
                   "gradients: cotangent does not match its root");
        if (reaches.count(roots[i].get()))
            adjoint[roots[i].get()] = accumulate(adjoint[roots[i].get()], cotangents[i]);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const NodeRef& n = *it;
        auto a = adjoint.find(n.get());
        if (a == adjoint.end() || !a->second || n->op() == Op::Leaf) continue;
        vjp::Needs needs(n->inputs().size());
        bool any = false;
        for (size_t i = 0; i < needs.size(); ++i) any |= needs[i] = reaches.count(n->input(i).get()) > 0;
        if (!any) continue;
        vjp::Grads grads = rule(n, a->second, needs);
        KILN_CHECK(grads.size() == needs.size(), "gradients: a rule returned the wrong count");
        for (size_t i = 0; i < grads.size(); ++i) {
            if (!needs[i] || !grads[i]) continue;
            const NodeRef& in = n->input(i);
            KILN_CHECK(grads[i]->shape() == in->shape() && grads[i]->dtype() == in->dtype(),
                       "gradients: the rule of '" + std::string(ir::op_name(n->op())) +
                           "' returned " + ir::shape_str(grads[i]->shape()) + " for input " +
                           ir::shape_str(in->shape()));
            NodeRef& slot = adjoint[in.get()];
            slot = accumulate(slot, grads[i]);
        }
        // A node's adjoint is final once its users are done; intermediate ones can go, except
        // for wrt nodes, which are the result.
        if (!targets.count(n.get())) a->second = nullptr;
    }
    std::vector<NodeRef> out;
    out.reserve(wrt.size());
    for (const NodeRef& w : wrt) {
        auto a = adjoint.find(w.get());
        out.push_back(a == adjoint.end() ? nullptr : a->second);
    }
    return out;
}

}  // namespace kiln::passes
