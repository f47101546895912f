#pragma once
/// The IR's text form (`.kir`), written by `print_graph` and read back by `parse_graph`
/// (ir/parser.h). One node per line, numbered in topological order, then the root list:
///
///     # comments start with '#'
///     %0 = input 0 : f32[2,3]
///     %1 = const 1.5 : f32[2,3]
///     %2 = add %0, %1 : f32[2,3]
///     %3 = reduce_sum %2 {axes=[1]} : f32[2,1]
///     %4 = slice %0 {start=[0,1], step=[1,2]} : f32[2,1]
///     return %3, %4
///
/// Attributes: {axis=N} (iota), {axes=[..]} (reductions, flip), {perm=[..]},
/// {start=[..], step=[..]}, {before=[..], after=[..]}, {index=N, extent=M} (var), {buffer=N}
/// (load), {stage=N} (stage). `input ID` prints InputAttr::id only (its data is not printable).
/// Float constants print the shortest text that reads back to the same value (f32 constants as
/// floats, so `0.1` rather than `0.10000000149011612`); non-finite ones print as `inf`, `-inf`,
/// `nan`, `-nan`, or `nan(0x<64-bit pattern>)` for other NaN payloads. Integer and bool
/// constants print their integer. Scalars print as `f32[]`.
#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/// The `.kir` text of the graph reachable from `roots` (which may repeat), ending with
/// `return %a, %b` and a newline.
std::string print_graph(const std::vector<NodeRef>& roots);

/// A constant's value as IR text (see above), for the constant node `n`.
std::string print_const_value(const Node& n);

}  // namespace kiln::ir
