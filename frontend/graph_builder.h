#pragma once
/// Node-level builders the frontend ops are written in. They assume checked arguments (the
/// public ops check and report user errors first) and insert the explicit reshapes, expands and
/// casts the IR requires.
#include <source_location>
#include <string>

#include "ir/node.h"

namespace kiln::build {

using ir::NodeRef;
using ir::Shape;

/// `n` converted to `dtype` (n itself when it already has it).
NodeRef cast(const NodeRef& n, DType dtype);
/// The broadcast of two shapes (numpy rules); throws ShapeError naming `op` when impossible.
Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b,
                       const std::source_location& loc);
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

}  // namespace kiln::build
