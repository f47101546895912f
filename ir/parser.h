#pragma once
/// Reads the IR's text form (`.kir`, see ir/printer.h) back into hash-consed nodes.
#include <string>
#include <string_view>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/// Parses `.kir` text and returns the roots listed by its `return` line (in order, repeats
/// kept). The inverse of print_graph: `parse_graph(print_graph(g)) == g` (pointer equality)
/// for every well-formed graph whose inputs have `data == nullptr`; parsed inputs get
/// `data == nullptr`. Value names are `%` followed by letters, digits, `_` or `.`; they need
/// not be numbers. A `var`'s `extent` may be left out (it is then 0). Every node is checked with
/// the verifier's `check_node` as it is built.
///
/// Throws kiln::ParseError with the message `FILE:LINE:COL: error: WHAT` (1-based line and
/// column, `filename` as given), e.g. `model.kir:3:10: error: use of undefined value '%7'`.
std::vector<NodeRef> parse_graph(std::string_view text, std::string_view filename = "<input>");

/// `text` in single quotes for a message: printable ASCII and whole UTF-8 characters stay as
/// they are; control characters (C0, DEL, and C1 such as U+009B, which some terminals obey) and
/// bytes that are not valid UTF-8 (a cut-off character, a binary file) become `\xNN` (each
/// byte), so a message never carries raw bytes or terminal controls to the terminal.
std::string quoted(std::string_view text);

/// The length of the UTF-8 character starting `text` (1..4), or 0 when it does not start with
/// a complete, valid one.
size_t utf8_length(std::string_view text);

}  // namespace kiln::ir
