#include "frontend/graph_builder.h"

#include <algorithm>

#include "frontend/checks.h"

namespace kiln::build {

NodeRef cast(const NodeRef& n, DType dtype) {
    if (n->dtype() == dtype) return n;
    return ir::Node::make(ir::Op::Cast, dtype, n->shape(), {n});
}

Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b,
                       const std::source_location& loc) {
    size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1) {
            fail<ShapeError>(op,
                             "shapes " + ir::shape_str(a) + " and " + ir::shape_str(b) +
                                 " cannot be broadcast (dim " + std::to_string(i) + ": " +
                                 std::to_string(da) + " vs " + std::to_string(db) + ")",
                             loc);
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

NodeRef reshape(const NodeRef& n, const Shape& shape) {
    if (n->shape() == shape) return n;
    return ir::Node::make(ir::Op::Reshape, n->dtype(), shape, {n});
}

NodeRef broadcast_to(const NodeRef& n, const Shape& shape) {
    if (n->shape() == shape) return n;
    Shape padded(shape.size() - n->shape().size(), 1);
    padded.insert(padded.end(), n->shape().begin(), n->shape().end());
    NodeRef r = reshape(n, padded);
    if (padded == shape) return r;
    return ir::Node::make(ir::Op::Expand, n->dtype(), shape, {r});
}

NodeRef permute(const NodeRef& n, const std::vector<int64_t>& perm) {
    bool identity = true;
    Shape shape(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) {
        shape[i] = n->shape()[perm[i]];
        identity &= perm[i] == static_cast<int64_t>(i);
    }
    if (identity) return n;
    return ir::Node::make(ir::Op::Permute, n->dtype(), shape, {n}, ir::PermuteAttr{perm});
}

NodeRef scalar_like(double value, const NodeRef& like) {
    return ir::make_const(value, like->dtype(), like->shape());
}

NodeRef unary(ir::Op op, const NodeRef& a) {
    return ir::Node::make(op, op == ir::Op::Not ? DType::Bool : a->dtype(), a->shape(), {a});
}

NodeRef binary(ir::Op op, const NodeRef& a, const NodeRef& b) {
    DType out = ir::is_comparison(op) ? DType::Bool : a->dtype();
    return ir::Node::make(op, out, a->shape(), {a, b});
}

NodeRef where(const NodeRef& cond, const NodeRef& a, const NodeRef& b) {
    return ir::Node::make(ir::Op::Where, a->dtype(), a->shape(), {cond, a, b});
}

NodeRef reduce(ir::Op op, const NodeRef& n, const std::vector<int64_t>& axes) {
    if (axes.empty()) return n;
    Shape out = n->shape();
    for (int64_t a : axes) out[a] = 1;
    return ir::Node::make(op, n->dtype(), out, {n}, ir::AxesAttr{axes});
}

NodeRef squeeze_axes(const NodeRef& n, const std::vector<int64_t>& axes) {
    Shape out;
    for (size_t i = 0; i < n->shape().size(); ++i) {
        if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end())
            out.push_back(n->shape()[i]);
    }
    return reshape(n, out);
}

}  // namespace kiln::build
