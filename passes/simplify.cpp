#include "passes/simplify.h"

#include <cmath>

#include "ir/interpreter.h"
#include "ir/rewrite.h"
#include "kiln/error.h"

namespace kiln::passes {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;
using ir::OpCategory;

bool foldable_const(const NodeRef& n) {
    if (n->op() != Op::Const) return false;
    // Integers beyond 2^53 do not survive the reference's double arithmetic.
    return is_floating(n->dtype()) || std::abs(ir::const_int(*n)) < (int64_t(1) << 53);
}

/// op applied to constant inputs, evaluated by the reference interpreter on scalars.
NodeRef fold(const Node& n, const std::vector<NodeRef>& ins) {
    std::vector<NodeRef> scalars;
    for (const NodeRef& in : ins) scalars.push_back(Node::make(Op::Const, in->dtype(), {}, {}, in->attr()));
    NodeRef scalar = Node::make(n.op(), n.dtype(), {}, scalars, n.attr());
    ir::RefTensor v = ir::interpret({scalar}, [](const Node&) -> ir::RefTensor {
        KILN_CHECK(false, "simplify: fold reached an input");
        return {};
    })[0];
    if (is_floating(n.dtype())) return ir::make_const(v.values[0], n.dtype(), n.shape());
    return ir::make_int_const(static_cast<int64_t>(v.values[0]), n.dtype(), n.shape());
}

bool same_const(const NodeRef& n, double v) { return n->op() == Op::Const && ir::const_value(*n) == v; }

/// One local rewrite of `n` whose inputs are already simplified; nullptr if none applies.
NodeRef rewrite(const Node& n, const std::vector<NodeRef>& ins) {
    // Autograd markers have done their work by the time a graph is compiled.
    if (n.op() == Op::Detach || n.op() == Op::Leaf) return ins[0];
    OpCategory cat = ir::op_category(n.op());
    bool elementwise = ir::is_elementwise(n.op());
    if (elementwise) {
        bool all_const = true;
        for (const NodeRef& in : ins) all_const &= foldable_const(in);
        if (all_const) return fold(n, ins);
    }
    switch (n.op()) {
    case Op::Add:
        if (same_const(ins[1], 0)) return ins[0];
        if (same_const(ins[0], 0)) return ins[1];
        break;
    case Op::Sub:
        if (same_const(ins[1], 0)) return ins[0];
        break;
    case Op::Mul:
        if (same_const(ins[1], 1)) return ins[0];
        if (same_const(ins[0], 1)) return ins[1];
        break;
    case Op::Div:
        if (same_const(ins[1], 1)) return ins[0];
        break;
    case Op::Neg:
        if (ins[0]->op() == Op::Neg) return ins[0]->input(0);
        break;
    case Op::Cast:
        if (ins[0]->dtype() == n.dtype()) return ins[0];
        break;
    case Op::Where:
        if (ins[0]->op() == Op::Const) return ir::const_int(*ins[0]) ? ins[1] : ins[2];
        if (ins[1] == ins[2]) return ins[1];
        break;
    default: break;
    }
    if (cat == OpCategory::Movement) {
        const NodeRef& x = ins[0];
        if ((n.op() == Op::Reshape || n.op() == Op::Expand) && x->shape() == n.shape())
            return x;
        if (x->op() == Op::Const && n.op() != Op::Pad)
            return Node::make(Op::Const, n.dtype(), n.shape(), {}, x->attr());
        if (n.op() == Op::Reshape && x->op() == Op::Reshape)
            return Node::make(Op::Reshape, n.dtype(), n.shape(), {x->input(0)});
        if (n.op() == Op::Expand && x->op() == Op::Expand)
            return Node::make(Op::Expand, n.dtype(), n.shape(), {x->input(0)});
        if (n.op() == Op::Permute) {
            const auto& perm = n.attr_as<ir::PermuteAttr>().perm;
            bool identity = true;
            for (size_t i = 0; i < perm.size(); ++i) identity &= perm[i] == static_cast<int64_t>(i);
            if (identity) return x;
            if (x->op() == Op::Permute) {
                const auto& inner = x->attr_as<ir::PermuteAttr>().perm;
                std::vector<int64_t> composed(perm.size());
                for (size_t i = 0; i < perm.size(); ++i) composed[i] = inner[perm[i]];
                return Node::make(Op::Permute, n.dtype(), n.shape(), {x->input(0)},
                                  ir::PermuteAttr{composed});
            }
        }
    }
    if (cat == OpCategory::Reduce && ins[0]->op() == Op::Const && n.op() != Op::ReduceSum) {
        int64_t count = ir::numel(ins[0]->shape()) / std::max<int64_t>(1, ir::numel(n.shape()));
        if (count > 0) return Node::make(Op::Const, n.dtype(), n.shape(), {}, ins[0]->attr());
    }
    return nullptr;
}

}  // namespace

std::vector<NodeRef> simplify(const std::vector<NodeRef>& roots) {
    return ir::rewrite_graph(roots, [](const Node& n, const std::vector<NodeRef>& ins) {
        // Rewrites can enable each other (reshape of reshape of const): repeat to a fixpoint.
        NodeRef current = rewrite(n, ins);
        for (int guard = 0; current && guard < 8 && !current->inputs().empty(); ++guard) {
            NodeRef again = rewrite(*current, current->inputs());
            if (!again) break;
            current = again;
        }
        return current;
    });
}

}  // namespace kiln::passes
