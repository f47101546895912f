#pragma once
/// Bottom-up graph rewriting, the one mechanism passes use to rebuild a graph.
#include <functional>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/// Called for each node, inputs first, with its inputs already rewritten. Returns the node's
/// replacement, or nullptr to keep it (rebuilt on the new inputs; hash-consing gives back the
/// same node when they did not change).
using RewriteFn = std::function<NodeRef(const Node& node, const std::vector<NodeRef>& inputs)>;

/// The rewritten roots, in the same order (each node is visited once).
std::vector<NodeRef> rewrite_graph(const std::vector<NodeRef>& roots, const RewriteFn& fn);

}  // namespace kiln::ir
