#include "passes/fusion.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

namespace kiln::passes {

using ir::Node;
using ir::NodeRef;
using ir::Op;

namespace {
int64_t bytes_of(const Node* n) {
    return ir::numel(n->shape()) * static_cast<int64_t>(dtype_size(n->dtype()));
}

/// Numbers the plan's graph (topological order and each node's position in it).
void number_graph(FusionPlan& plan) {
    plan.order = ir::topo_order(plan.roots);
    plan.position.clear();
    plan.position.reserve(plan.order.size());
    for (size_t i = 0; i < plan.order.size(); ++i) plan.position.emplace(plan.order[i], i);
}
}  // namespace

bool FusionPlan::is_buffer(const Node* n) const {
    return n->op() == Op::Input || materialized.count(n) != 0;
}

void FusionPlan::materialize(const Node* n, std::string reason) {
    if (n->op() == Op::Input || materialized.count(n)) return;
    materialized.emplace(n, FusionDecision{std::move(reason), bytes_of(n)});
    if (position.empty()) number_graph(*this);  // a plan not made by plan_fusion
    size_t at = position.at(n);
    auto it = std::lower_bound(schedule_.begin(), schedule_.end(), at,
                               [&](const Node* m, size_t p) { return position.at(m) < p; });
    schedule_.insert(it, n);
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

namespace {

/// Nodes a consumer's kernel never computes itself: buffers are loaded, constants are inlined.
bool is_free(const FusionPlan& plan, const Node* n) {
    return plan.is_buffer(n) || n->op() == Op::Const;
}

/// Ops in n's fused expression (distinct nodes reachable from n without crossing a free node),
/// counted up to `limit + 1`. `seen` is scratch space.
int64_t exact_ops(const FusionPlan& plan, const Node* n, int64_t limit,
                  std::unordered_set<const Node*>& seen, std::vector<const Node*>& stack) {
    seen.clear();
    stack.assign(1, n);
    seen.insert(n);
    while (!stack.empty() && static_cast<int64_t>(seen.size()) <= limit) {
        const Node* m = stack.back();
        stack.pop_back();
        for (const NodeRef& in : m->inputs())
            if (!is_free(plan, in.get()) && seen.insert(in.get()).second) stack.push_back(in.get());
    }
    return static_cast<int64_t>(seen.size());
}

/// Cuts expressions past `max_ops` ops. Sizes are computed inputs first: 1 + the inputs' sizes
/// is exact for trees and an upper bound otherwise, so the exact count (a bounded walk, since
/// a shared subexpression such as x in x*c + sin(x) is computed once) is only taken when that
/// bound is over the limit. Linear in the graph for chains and trees; at most max_ops + 1 steps
/// per node for DAGs whose sharing keeps sizes near the limit.
void bound_kernel_sizes(FusionPlan& plan, int64_t max_ops) {
    std::unordered_map<const Node*, int64_t> ops;
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> stack;
    for (const Node* n : plan.order) {
        if (n->op() == Op::Input || n->op() == Op::Const) continue;
        int64_t size = 1;
        const NodeRef* prev = nullptr;
        for (const NodeRef& in : n->inputs()) {
            if (is_free(plan, in.get()) || (prev && *prev == in)) continue;
            size += ops.at(in.get());
            prev = &in;
        }
        if (size > max_ops) size = exact_ops(plan, n, max_ops, seen, stack);
        if (size > max_ops && !plan.is_buffer(n)) {
            plan.materialize(n, fmt::format("kernel size bound: its expression holds more than "
                                            "{} ops",
                                            max_ops));
        }
        ops[n] = size;
    }
}

}  // namespace

FusionPlan plan_fusion(const std::vector<NodeRef>& roots, int64_t max_kernel_ops) {
    FusionPlan plan;
    plan.roots = roots;
    plan.max_kernel_ops = max_kernel_ops;
    number_graph(plan);
    for (const NodeRef& r : roots) plan.materialize(r.get(), "graph output");
    for (const Node* n : plan.order) {
        if (ir::op_category(n->op()) != ir::OpCategory::Extern) continue;
        plan.materialize(n, "extern op result");
        for (const NodeRef& in : n->inputs()) {
            const ir::Node* src = n->op() == ir::Op::Matmul ? transposed_source(in.get()) : nullptr;
            if (src) {
                // A reshape of a buffer holds the same bytes: BLAS reads that buffer.
                plan.materialize(strip_reshapes(src),
                                 "transposed operand of extern matmul (read in place)");
                continue;
            }
            plan.materialize(strip_reshapes(in.get()), std::string("operand of extern ") +
                                                           std::string(ir::op_name(n->op())) +
                                                           " (needs contiguous memory)");
        }
    }
    bound_kernel_sizes(plan, max_kernel_ops);
    materialize_shared_reductions(plan);
    return plan;
}

FusionPlan plan_unfused(const std::vector<NodeRef>& roots) {
    FusionPlan plan = plan_fusion(roots);
    for (const Node* n : plan.order) {
        ir::OpCategory c = ir::op_category(n->op());
        bool computes = c == ir::OpCategory::Unary || c == ir::OpCategory::Binary ||
                        c == ir::OpCategory::Ternary || c == ir::OpCategory::Reduce ||
                        n->op() == Op::Random || n->op() == Op::Iota;
        if (computes) plan.materialize(n, "fusion disabled: every op its own kernel");
    }
    return plan;
}

const ir::Node* strip_reshapes(const ir::Node* operand) {
    while (operand->op() == ir::Op::Reshape) operand = operand->input(0).get();
    return operand;
}

const ir::Node* transposed_source(const ir::Node* operand) {
    if (operand->op() != ir::Op::Permute || operand->rank() < 2) return nullptr;
    const auto& perm = operand->attr_as<ir::PermuteAttr>().perm;
    int64_t r = operand->rank();
    for (int64_t i = 0; i < r - 2; ++i)
        if (perm[i] != i) return nullptr;
    if (perm[r - 2] != r - 1 || perm[r - 1] != r - 2) return nullptr;
    return operand->input(0).get();
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
