#pragma once
/// Builders for the i64 scalar expressions of loop kernels (indices, masks) that simplify as
/// they build, using value ranges derived from loop-variable extents: constant folding, x*1,
/// x+0, and div/mod of linearized indices (what reshapes of contiguous dims produce).
#include <cstdint>

#include "ir/node.h"

namespace kiln::passes::index {

using ir::NodeRef;

/// Inclusive bounds of an i64 expression's value.
struct Range {
    int64_t lo = 0, hi = 0;
};

/// Loop variable `index` over [0, extent); a const 0 when extent <= 1.
NodeRef var(int64_t index, int64_t extent);
NodeRef constant(int64_t v);
NodeRef add(const NodeRef& a, const NodeRef& b);
NodeRef sub(const NodeRef& a, const NodeRef& b);
NodeRef mul(const NodeRef& a, int64_t c);
/// Floor division and modulo by a positive constant (only built on non-negative values, where
/// they equal C's truncating ops that the IR defines).
NodeRef div(const NodeRef& a, int64_t c);
NodeRef mod(const NodeRef& a, int64_t c);
/// Booleans, folded when the ranges decide them.
NodeRef less(const NodeRef& a, const NodeRef& b);
NodeRef logical_and(const NodeRef& a, const NodeRef& b);
NodeRef true_value();
bool is_true(const NodeRef& b);

Range range(const NodeRef& e);
/// Whether `e` mentions loop variable `index`.
bool uses_var(const NodeRef& e, int64_t index);
/// The coefficient of loop variable `index` in `e` when e is affine in it (0 when unused), or
/// -1 when the variable appears inside a division, remainder or other non-affine term.
int64_t stride_of(const NodeRef& e, int64_t index);
/// Largest loop-variable index in `e`, or -1.
int64_t max_var(const NodeRef& e);

}  // namespace kiln::passes::index
