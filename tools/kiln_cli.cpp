// The `kiln` command-line tool: inspect, explain, run and benchmark `.kir` IR files. main() only
// parses the command line (CLI11), runs the chosen subcommand and turns exceptions into messages
// and exit codes; the subcommands are in tools/commands.h.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ir/parser.h"
#include "kiln/error.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace {

using namespace kiln::cli;

constexpr const char* kDescription =
    "Inspect, explain, run and benchmark Kiln IR files (.kir text, as written by KILN_DUMP=DIR "
    "or kiln::graph_text).";

constexpr const char* kFooter = R"(
FILE may be '-' for standard input. Run 'kiln COMMAND --help' for a command's options.

Examples:
  KILN_DUMP=dumps ./train          # write every graph a program realizes as dumps/graph_NNNN.kir
  kiln explain dumps/graph_0003.kir
  kiln bench dumps/graph_0003.kir --json > step.json
  kiln cache stats

Exit status: 0 success, 1 failure (unreadable or malformed file, outputs differing from the
reference), 2 usage error (unknown command or option, missing file).)";

/// The subcommand the parse reached (for error messages): "kiln dump", or "kiln".
std::string command_path(const CLI::App& app) {
    std::string path = "kiln";
    for (const CLI::App* sub : app.get_subcommands()) path += " " + sub->get_name();
    return path;
}

/// Runs the parsed subcommand's action; exceptions become messages and exit codes.
int run(const Action& action) {
    try {
        int code = action();
        std::fflush(stdout);
        return code;
    } catch (const UsageError& e) {
        std::fflush(stdout);
        fmt::print(stderr, "{}\n", e.what());
        return kExitUsage;
    } catch (const kiln::ParseError& e) {
        // Already "FILE:LINE:COL: error: ...", the form editors and compilers use.
        std::fflush(stdout);
        fmt::print(stderr, "{}\n", e.what());
        return kExitFailure;
    } catch (const kiln::Error& e) {
        std::fflush(stdout);
        fmt::print(stderr, "kiln: {}\n", e.what());
        return kExitFailure;
    } catch (const kiln::InternalError& e) {
        std::fflush(stdout);
        fmt::print(stderr, "kiln: internal error: {}\n", e.what());
        return kExitFailure;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        fmt::print(stderr, "kiln: error: {}\n", e.what());
        return kExitFailure;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "kiln");
    app.footer(kFooter);
    app.require_subcommand(1);
    app.fallthrough(false);
    Action action;
    add_dump(app, action);
    add_fuse(app, action);
    add_explain(app, action);
    add_dot(app, action);
    add_codegen(app, action);
    add_run(app, action);
    add_bench(app, action);
    add_cache(app, action);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);  // the help of the command asked about, on stdout, status 0
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // The message may quote the user's words: escape bytes that are not printable text.
        std::string message = kiln::ir::quoted(e.what());
        message = message.substr(1, message.size() - 2);
        // CLI11 reports an unknown command as a missing one ("A subcommand is required").
        if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-')
            message = "unknown command " + kiln::ir::quoted(argv[1]);
        std::string path = command_path(app);
        fmt::print(stderr, "{}: {}\nRun '{} --help' for more information.\n", path, message,
                   path);
        return kExitUsage;
    }
    return run(action);
}
