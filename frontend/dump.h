#pragma once
/// KILN_DUMP=DIR: every graph a program realizes is written to DIR/graph_NNNN.kir (canonical
/// form: realized buffers are placeholders `input 0..n-1`), so that `kiln dump/fuse/codegen/run`
/// can inspect and replay what a real program compiled.
#include <filesystem>
#include <optional>
#include <vector>

#include "ir/node.h"

namespace kiln::detail {

/// Writes `canonical_roots` to the directory named by KILN_DUMP (the variable is read once, at
/// the first call; unset or empty: does nothing). Called by the realize driver for every
/// realization, program-cache hits included. Never throws; see dump_graph().
void dump_graph_if_requested(const std::vector<ir::NodeRef>& canonical_roots) noexcept;

/// Writes `roots` (whose inputs must be placeholders, `data == nullptr`) as the next
/// `dir/graph_NNNN.kir` and returns its path. Creates `dir` if needed. Numbers come from one
/// process-wide counter (thread-safe) and never overwrite an existing file: a name already
/// taken (an earlier run, another process) is skipped. The file is written to a temporary name
/// and then linked into place, so readers never see a half-written dump. Never throws: on an
/// IO error returns std::nullopt and prints one warning per process to stderr.
std::optional<std::filesystem::path> dump_graph(const std::filesystem::path& dir,
                                                const std::vector<ir::NodeRef>& roots) noexcept;

}  // namespace kiln::detail
