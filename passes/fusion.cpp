#include "passes/fusion.h"

#include <fmt/format.h>

#include <unordered_set>

namespace kiln::passes {

using ir::Node;
using ir::NodeRef;
using ir::Op;

namespace {
int64_t bytes_of(const Node* n) {
    return ir::numel(n->shape()) * static_cast<int64_t>(dtype_size(n->dtype()));
}
}  // namespace

bool FusionPlan::is_buffer(const Node* n) const {
    return n->op() == Op::Input || materialized.count(n) != 0;
}

void FusionPlan::materialize(const Node* n, std::string reason) {
    if (n->op() == Op::Input || materialized.count(n)) return;
    materialized.emplace(n, FusionDecision{std::move(reason), bytes_of(n)});
}

std::vector<const Node*> FusionPlan::schedule() const {
    std::vector<const Node*> order;
    for (const Node* n : ir::topo_order(roots))
        if (materialized.count(n)) order.push_back(n);
    return order;
}

void materialize_shared_reductions(FusionPlan& plan) {
    // A reduction inlined into several kernels would be computed once per kernel; give it a
    // buffer instead. Materializing one can change the others' sharing, so iterate.
    for (bool changed = true; changed;) {
        changed = false;
        std::unordered_map<const Node*, int> users;  // kernels whose expression includes n
        for (const Node* k : plan.schedule()) {
            std::unordered_set<const Node*> seen;
            std::vector<const Node*> stack(1, k);
            while (!stack.empty()) {
                const Node* n = stack.back();
                stack.pop_back();
                for (const NodeRef& in : n->inputs()) {
                    if (plan.is_buffer(in.get()) || !seen.insert(in.get()).second) continue;
                    if (ir::op_category(in->op()) == ir::OpCategory::Reduce) users[in.get()]++;
                    stack.push_back(in.get());
                }
            }
        }
        for (const auto& [n, count] : users) {
            if (count > 1) {
                plan.materialize(n, fmt::format("reduction used by {} kernels", count));
                changed = true;
            }
        }
    }
}

FusionPlan plan_fusion(const std::vector<NodeRef>& roots) {
    FusionPlan plan;
    plan.roots = roots;
    for (const NodeRef& r : roots) plan.materialize(r.get(), "graph output");
    for (const Node* n : ir::topo_order(roots)) {
        if (ir::op_category(n->op()) != ir::OpCategory::Extern) continue;
        plan.materialize(n, "extern op result");
        for (const NodeRef& in : n->inputs())
            plan.materialize(in.get(), std::string("operand of extern ") +
                                           std::string(ir::op_name(n->op())) +
                                           " (needs contiguous memory)");
    }
    materialize_shared_reductions(plan);
    return plan;
}

std::string print_fusion(const FusionPlan& plan) {
    std::string s;
    int k = 0;
    for (const Node* n : plan.schedule()) {
        const FusionDecision& d = plan.materialized.at(n);
        bool ext = ir::op_category(n->op()) == ir::OpCategory::Extern;
        s += fmt::format("{} {}: {} {}{} ({} bytes) -- {}\n", ext ? "extern" : "kernel", k++,
                         ir::op_name(n->op()), dtype_name(n->dtype()), ir::shape_str(n->shape()),
                         d.bytes, d.reason);
    }
    return s;
}

}  // namespace kiln::passes
