#pragma once
/// simplify: constant folding, algebraic identities and movement-op peepholes on a tensor graph.
/// CSE needs no pass: nodes are hash-consed, so equal subgraphs are one node already.
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

/// Returns the simplified roots (same order). Never changes a value, only its recipe.
std::vector<ir::NodeRef> simplify(const std::vector<ir::NodeRef>& roots);

}  // namespace kiln::passes
