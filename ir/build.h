#pragma once
/// Node-level builders that frontend ops and passes (autodiff's gradient rules) are written in.
/// They assume checked arguments (the public ops check and report user errors first) and insert
/// the explicit reshapes, expands and casts the IR requires.
#include <string>

#include "ir/node.h"

namespace kiln::ir::build {

using ir::NodeRef;
using ir::Shape;

/// `n` converted to `dtype` (n itself when it already has it).
NodeRef cast(const NodeRef& n, DType dtype);
/// `n` broadcast to `shape` (a prefix reshape, then expand); assumes it is broadcastable.
NodeRef broadcast_to(const NodeRef& n, const Shape& shape);
NodeRef reshape(const NodeRef& n, const Shape& shape);
NodeRef permute(const NodeRef& n, const std::vector<int64_t>& perm);
/// A constant shaped like `like`, with `like`'s dtype unless given.
NodeRef scalar_like(double value, const NodeRef& like);
NodeRef unary(ir::Op op, const NodeRef& a);
/// Same-shape, same-dtype inputs; result dtype bool for comparisons.
NodeRef binary(ir::Op op, const NodeRef& a, const NodeRef& b);
NodeRef where(const NodeRef& cond, const NodeRef& a, const NodeRef& b);
/// Reduction keeping the reduced axes with size 1.
NodeRef reduce(ir::Op op, const NodeRef& n, const std::vector<int64_t>& axes);
/// Drops the size-1 `axes` (after a keepdim reduction).
NodeRef squeeze_axes(const NodeRef& n, const std::vector<int64_t>& axes);
/// Size-1 dims of `n` grown to `shape` (same rank); n itself when the shapes are equal.
NodeRef expand(const NodeRef& n, const Shape& shape);
/// out[i] = n[start + i*step] with out sizes `shape`; n itself for the identity slice.
NodeRef slice(const NodeRef& n, const std::vector<int64_t>& start,
              const std::vector<int64_t>& step, const Shape& shape);
/// Zeros before/after each dim; n itself when there are none.
NodeRef pad(const NodeRef& n, const std::vector<int64_t>& before,
            const std::vector<int64_t>& after);
/// Reverses `axes` (sorted, unique); n itself when there are none.
NodeRef flip(const NodeRef& n, const std::vector<int64_t>& axes);
/// [..., M, K] @ [..., K, N] with equal batch dims.
NodeRef matmul(const NodeRef& a, const NodeRef& b);
/// Swaps the last two dims.
NodeRef transpose_last(const NodeRef& n);
/// `n` cut from autograd (a `detach` node); n itself when no gradient flows through it.
NodeRef detach(const NodeRef& n);
/// Rows of src [A..., S, B...] taken by index i64 [A..., K] along attr.axis: [A..., K, B...].
NodeRef gather(const NodeRef& src, const NodeRef& index, const IndexAttr& attr);
/// gather's transpose: rows [A..., K, B...] added into zeros of `dense` [A..., S, B...].
NodeRef scatter_add(const NodeRef& index, const NodeRef& rows, const Shape& dense,
                    const IndexAttr& attr);

/// conv2d(x [N, C, H, W], w) -> [N, O, Ho, Wo], and its two gradients (see ops.def): the
/// input gradient from dy and w (x_shape: the input's shape), the weight gradient from x and dy
/// (w_shape: the weight's). Shapes must fit (the frontend checks them first).
NodeRef conv2d(const NodeRef& x, const NodeRef& w, const ConvAttr& attr);
NodeRef conv2d_grad_input(const NodeRef& dy, const NodeRef& w, const Shape& x_shape,
                          const ConvAttr& attr);
NodeRef conv2d_grad_weight(const NodeRef& x, const NodeRef& dy, const Shape& w_shape,
                           const ConvAttr& attr);

}  // namespace kiln::ir::build
