#pragma once
/// The vector-Jacobian product rules, one function per op family. Each takes a forward node `n`,
/// the gradient `g` of the output with respect to `n` (n's dtype and shape) and which inputs
/// need a gradient, and returns one gradient node per input (nullptr where none is needed or
/// none flows). Rules only build nodes; simplification is left to the simplify pass.
#include <vector>

#include "ir/node.h"

namespace kiln::passes::vjp {

using ir::NodeRef;
using Needs = std::vector<bool>;
using Grads = std::vector<NodeRef>;

/// Unary, binary and ternary elementwise ops (vjp_elementwise.cpp).
Grads elementwise(const NodeRef& n, const NodeRef& g, const Needs& needs);
/// reduce_sum / reduce_max / reduce_min (vjp_reduce.cpp).
Grads reduce(const NodeRef& n, const NodeRef& g, const Needs& needs);
/// Views: the gradient of a view is the inverse view (vjp_movement.cpp).
Grads movement(const NodeRef& n, const NodeRef& g, const Needs& needs);
/// matmul (vjp_extern.cpp).
Grads extern_op(const NodeRef& n, const NodeRef& g, const Needs& needs);

}  // namespace kiln::passes::vjp
