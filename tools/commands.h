#pragma once
/// The `kiln` tool's subcommands. Each `add_*` function adds one subcommand with its options
/// and help text to the CLI11 application; when the command line selects it, parsing stores in
/// `action` what to run. An action writes its report to stdout and returns the process exit
/// code (tools/cli_common.h). Unreadable or malformed files throw kiln::Error (ParseError for
/// bad text); main() turns exceptions into messages and exit codes.
#include <functional>
#include <string>

namespace CLI {
class App;
class Validator;
}

namespace kiln::cli {

/// What a parsed subcommand runs: returns the exit code.
using Action = std::function<int()>;

/// The FILE argument every subcommand takes: an existing `.kir` file, or "-" for standard
/// input (anything else is a usage error, exit 2).
void add_file_argument(CLI::App& command, std::string& file);

/// Checks an option's value is a number >= 0 ("expected a number >= 0, got 'abc'").
extern const CLI::Validator& kNonNegative;

/// A subcommand's help below its options: `about` (wrapped to the terminal's usual width)
/// and `examples` (lines of commands, as given).
void set_help(CLI::App& command, const std::string& about, const std::string& examples);

/// `kiln dump FILE [--after PASS|all]`: the graph as canonical text, or each pass's result.
void add_dump(CLI::App& app, Action& action);
/// `kiln fuse FILE`: the fusion partition with reasons, merges, every loop kernel.
void add_fuse(CLI::App& app, Action& action);
/// `kiln explain FILE [--json]`: every fusion decision, per step bytes and FLOPs.
void add_explain(CLI::App& app, Action& action);
/// `kiln dot FILE [-o OUT.dot|svg|png]`: Graphviz, one cluster per kernel.
void add_dot(CLI::App& app, Action& action);
/// `kiln codegen FILE [--target llvm|llvm-opt|asm|cuda] [--kernel N]`: generated code.
void add_codegen(CLI::App& app, Action& action);
/// `kiln run FILE [--inputs F.safetensors] [--seed S] [--check]`: outputs and step times.
void add_run(CLI::App& app, Action& action);
/// `kiln bench FILE [--json]`: every step timed against this machine's limits, fused vs not.
void add_bench(CLI::App& app, Action& action);
/// `kiln cache ls|stats|clear|verify`: the on-disk kernel cache.
void add_cache(CLI::App& app, Action& action);

}  // namespace kiln::cli
