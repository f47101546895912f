#pragma once
/// Shared pieces of the `kiln` command-line tool: exit codes, loading a `.kir` file and making
/// its inputs canonical for the pass pipeline. The commands themselves live in tools/commands.h.
#include <string>
#include <vector>

#include "ir/node.h"
#include "kiln/error.h"

namespace kiln::cli {

/// Exit codes of the tool: success, a failed command (bad file, mismatch), a usage mistake.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// A command-line mistake found after parsing (a bad combination of options, a safetensors
/// file without a tensor an input needs). main() prints the message and exits with kExitUsage.
class UsageError : public Error {
public:
    using Error::Error;
};

/// The contents of `path` ("-" reads standard input). Throws kiln::Error
/// "cannot open PATH: REASON" (or "cannot read ...") when the file cannot be read; main()
/// prefixes "kiln: ".
std::string read_file(const std::string& path);

/// A parsed `.kir` file: its roots, as parse_graph returned them.
struct LoadedGraph {
    std::string filename;
    std::vector<ir::NodeRef> roots;
};

/// Reads and parses `path` (kiln::ParseError "FILE:LINE:COL: error: ..." on malformed text;
/// "-" is standard input, named "<stdin>" in messages) and runs the verifier over the result.
LoadedGraph load_graph(const std::string& path);

/// A graph ready for the pass pipeline: inputs are placeholders 0..n-1.
struct CanonicalGraph {
    std::vector<ir::NodeRef> roots;
    /// placeholders[i] is the input node with id i (every placeholder of the graph, including
    /// ones that simplification may later drop).
    std::vector<ir::NodeRef> placeholders;
    /// The id each placeholder had in the file (equal to its index unless renumbered).
    std::vector<int64_t> file_ids;
    bool renumbered = false;
};

/// Checks that `g` is a tensor-level graph (no loop-level `var`/`load`/`stage` nodes: throws
/// kiln::ValueError naming the file and op otherwise) and makes its inputs placeholders
/// 0..n-1. When the file's input ids are already a permutation of 0..n-1 they are kept (so
/// `input K` in the file is input K of the program); otherwise inputs are renumbered in order
/// of first appearance (the order print_graph lists them).
CanonicalGraph canonicalize(const LoadedGraph& g);

}  // namespace kiln::cli
