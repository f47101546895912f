#pragma once
/// The IR verifier: the well-formedness rules of every op (shapes, dtypes, attributes). These
/// rules are the IR's static semantics (see the header comment of ir/ops.def); the parser runs
/// `check_node` on every node it builds, and pass pipelines run `verify_graph` between passes.
#include <cstddef>
#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/// Returns "" when `n` is well-formed, else one line that starts with the op's name, e.g.
/// "add: input shapes [2,3] and [3] differ from result [2,3]". Checks `n` against its direct
/// inputs only (not the inputs' own validity). Never throws.
std::string check_node(const Node& n);

/// Checks every node reachable from `roots`, inputs first. Throws kiln::InternalError naming the
/// first bad node (its topological number as in print_graph, its op and check_node's message).
void verify_graph(const std::vector<NodeRef>& roots);

/// The index in `Attr` (the std::variant) of the attribute kind nodes of `op` carry: NoAttr for
/// ops without parameters, AxesAttr for reductions and flip, and so on.
size_t expected_attr_index(Op op);

}  // namespace kiln::ir
