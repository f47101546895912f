#pragma once
/// The `kiln` tool's commands. Each takes the words after the command name, writes its report to
/// `out` and returns the process exit code (tools/cli_common.h). Mistakes in the arguments
/// throw cli::UsageError; unreadable or malformed files throw kiln::Error (ParseError for bad
/// text); main() turns both into messages and exit codes.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace kiln::cli {

/// A command's arguments: exactly one FILE and `--name[=value]` options.
struct CommandArgs {
    std::string file;
    /// Given options by name (without the dashes); flags map to "".
    std::map<std::string, std::string> options;

    bool has(const std::string& name) const { return options.count(name) != 0; }
};

/// What a command accepts: option name -> whether it takes a value (`--name=value`).
using OptionSpec = std::map<std::string, bool>;

/// Splits `args` into one FILE and options allowed by `spec`. Throws UsageError naming the
/// command for an unknown option, a missing or unexpected value, or not exactly one FILE
/// ("-" alone is a FILE: standard input).
CommandArgs parse_command_args(const std::string& command, const std::vector<std::string>& args,
                               const OptionSpec& spec);

/// `kiln dump FILE [--after=simplify|fusion|lower]`: the graph as canonical text, or the
/// result of the pipeline up to that pass.
int cmd_dump(const std::vector<std::string>& args, std::FILE* out);

/// `kiln fuse FILE`: the fusion partition, every loop kernel and "N kernels, M extern calls".
int cmd_fuse(const std::vector<std::string>& args, std::FILE* out);

/// `kiln codegen FILE [--unoptimized]`: each kernel's LLVM IR for the host CPU.
int cmd_codegen(const std::vector<std::string>& args, std::FILE* out);

/// `kiln run FILE [--seed=N] [--show=N] [--rtol=X] [--atol=X]`: runs the compiled program on
/// deterministic pseudo-random inputs and compares every output with the reference
/// interpreter. Returns kExitFailure when an output is outside the tolerance.
int cmd_run(const std::vector<std::string>& args, std::FILE* out);

}  // namespace kiln::cli
