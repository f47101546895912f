#pragma once
/// Reverse-mode automatic differentiation as a graph pass: from output nodes and their
/// cotangents it builds gradient *nodes* in the same IR, so a backward graph simplifies, fuses
/// and compiles like any other, and differentiating a gradient graph again (higher order) needs
/// nothing more. Each op's vector-Jacobian product is a rule written as graph construction, one
/// file per op family (vjp_*.cpp next to this one).
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

/// Gradients of sum_i <roots[i], cotangents[i]> with respect to each node of `wrt`, in order;
/// nullptr where no path carries a gradient. cotangents[i] has roots[i]'s dtype and shape.
///
/// Gradients flow only through nodes that track_grad(): a `detach` node cuts the flow and a
/// `leaf` node is a variable (its input is never differentiated). The gradient with respect to
/// a node counts every path from the roots to it, including paths through other `wrt` nodes.
/// The result refers to forward nodes (values the backward needs), never copies them.
std::vector<ir::NodeRef> gradients(const std::vector<ir::NodeRef>& roots,
                                   const std::vector<ir::NodeRef>& cotangents,
                                   const std::vector<ir::NodeRef>& wrt);

}  // namespace kiln::passes
