#pragma once
/// KILN_DUMP=DIR: every graph a program realizes is written to DIR/graph_NNNN.kir (canonical
/// form: realized buffers are placeholders `input 0..n-1`), so that `kiln dump/fuse/codegen/run`
/// can inspect and replay what a real program compiled. Beside it, DIR/graph_NNNN.kernels.txt
/// holds the program that graph ran: every step in order, each kernel's loop-kernel text and
/// its optimized LLVM IR for this CPU, and the extern calls (matmul, conv, gather/scatter). A
/// realize that compiled its program writes that file; one whose program came from the program
/// cache gets the same file under its own name (a hard link to the file of the graph the program
/// was compiled for, or, where links are impossible, a one-line note naming that file).
/// The switches are documented together in support/debug.h.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ir/node.h"
#include "ir/program.h"

namespace kiln::detail {

/// Writes `canonical_roots` to the directory named by KILN_DUMP (the variable is read once, at
/// the first use; unset or empty: does nothing) and returns the file's path. Called by the
/// realize driver for every realization, program-cache hits included. Never throws; see
/// dump_graph().
std::optional<std::filesystem::path>
dump_graph_if_requested(const std::vector<ir::NodeRef>& canonical_roots) noexcept;

/// Writes `roots` (whose inputs must be placeholders, `data == nullptr`) as the next
/// `dir/graph_NNNN.kir` and returns its path. Creates `dir` if needed. Numbers come from one
/// process-wide counter (thread-safe) and never overwrite an existing file: a name already
/// taken (an earlier run, another process) is skipped. The file is written to a temporary name
/// and then linked into place, so readers never see a half-written dump. Never throws: on an
/// IO error returns std::nullopt and prints one warning per process to stderr.
std::optional<std::filesystem::path> dump_graph(const std::filesystem::path& dir,
                                                const std::vector<ir::NodeRef>& roots) noexcept;

/// The kernels file that goes with a dumped graph: graph_0007.kir -> graph_0007.kernels.txt.
std::filesystem::path kernels_file_for(const std::filesystem::path& graph_file);

/// The text of a kernels file: a header naming `graph_name`, then each step of `program`
/// ("# step 3: kernel k3_exp", its loop kernel and optimized LLVM IR from the global
/// CpuCompiler; an extern step as one comment line). Throws only on out of memory.
std::string program_kernels_text(const ir::Program& program, const std::string& graph_name);

/// Writes the kernels of `program`, compiled for the graph dumped as `graph_file`, to
/// kernels_file_for(graph_file) and returns that path. Written to a temporary name and renamed
/// into place. Never throws: on an IO error returns std::nullopt (one warning per process).
std::optional<std::filesystem::path> dump_kernels(const std::filesystem::path& graph_file,
                                                  const ir::Program& program) noexcept;

/// For a graph (dumped as `graph_file`) whose program came from the cache: gives
/// kernels_file_for(graph_file) the contents of `compiled_kernels` (the kernels file written
/// when that program was compiled) by a hard link, else writes a note naming it. Never throws.
std::optional<std::filesystem::path>
dump_cached_kernels(const std::filesystem::path& compiled_kernels,
                    const std::filesystem::path& graph_file) noexcept;

}  // namespace kiln::detail
