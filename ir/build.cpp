#include "ir/build.h"

#include <algorithm>

#include "ir/conv.h"
#include "kiln/error.h"

namespace kiln::ir::build {

NodeRef cast(const NodeRef& n, DType dtype) {
    if (n->dtype() == dtype) return n;
    return ir::Node::make(ir::Op::Cast, dtype, n->shape(), {n});
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

NodeRef expand(const NodeRef& n, const Shape& shape) {
    if (n->shape() == shape) return n;
    return ir::Node::make(ir::Op::Expand, n->dtype(), shape, {n});
}

NodeRef slice(const NodeRef& n, const std::vector<int64_t>& start,
              const std::vector<int64_t>& step, const Shape& shape) {
    bool identity = shape == n->shape();
    for (size_t d = 0; d < start.size(); ++d) identity &= start[d] == 0 && step[d] == 1;
    if (identity) return n;
    return ir::Node::make(ir::Op::Slice, n->dtype(), shape, {n}, ir::SliceAttr{start, step});
}

NodeRef pad(const NodeRef& n, const std::vector<int64_t>& before,
            const std::vector<int64_t>& after) {
    Shape shape = n->shape();
    bool none = true;
    for (size_t d = 0; d < shape.size(); ++d) {
        shape[d] += before[d] + after[d];
        none &= before[d] == 0 && after[d] == 0;
    }
    if (none) return n;
    return ir::Node::make(ir::Op::Pad, n->dtype(), shape, {n}, ir::PadAttr{before, after});
}

NodeRef flip(const NodeRef& n, const std::vector<int64_t>& axes) {
    if (axes.empty()) return n;
    return ir::Node::make(ir::Op::Flip, n->dtype(), n->shape(), {n}, ir::AxesAttr{axes});
}

NodeRef matmul(const NodeRef& a, const NodeRef& b) {
    Shape shape = a->shape();
    shape.back() = b->shape().back();
    return ir::Node::make(ir::Op::Matmul, a->dtype(), shape, {a, b});
}

NodeRef transpose_last(const NodeRef& n) {
    std::vector<int64_t> perm(n->shape().size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    return permute(n, perm);
}

NodeRef detach(const NodeRef& n) {
    if (!n->tracks_grad()) return n;
    return ir::Node::make(ir::Op::Detach, n->dtype(), n->shape(), {n});
}

NodeRef gather(const NodeRef& src, const NodeRef& index, const IndexAttr& attr) {
    Shape out = index->shape();
    out.insert(out.end(), src->shape().begin() + attr.axis + 1, src->shape().end());
    return ir::Node::make(ir::Op::Gather, src->dtype(), out, {src, index}, attr);
}

NodeRef scatter_add(const NodeRef& index, const NodeRef& rows, const Shape& dense,
                    const IndexAttr& attr) {
    return ir::Node::make(ir::Op::ScatterAdd, rows->dtype(), dense, {index, rows}, attr);
}

NodeRef conv2d(const NodeRef& x, const NodeRef& w, const ConvAttr& attr) {
    std::string problem;
    ConvGeometry g = conv_geometry(x->shape(), w->shape(), attr, problem);
    KILN_CHECK(problem.empty(), "build::conv2d: " + problem);
    return ir::Node::make(ir::Op::Conv2d, x->dtype(), g.output_shape(), {x, w}, attr);
}

NodeRef conv2d_grad_input(const NodeRef& dy, const NodeRef& w, const Shape& x_shape,
                          const ConvAttr& attr) {
    return ir::Node::make(ir::Op::Conv2dGradInput, dy->dtype(), x_shape, {dy, w}, attr);
}

NodeRef conv2d_grad_weight(const NodeRef& x, const NodeRef& dy, const Shape& w_shape,
                           const ConvAttr& attr) {
    return ir::Node::make(ir::Op::Conv2dGradWeight, dy->dtype(), w_shape, {x, dy}, attr);
}

}  // namespace kiln::ir::build
