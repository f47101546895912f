// The `kiln` command-line tool: inspect, compile and run `.kir` IR files. main() only dispatches
// and turns exceptions into messages and exit codes; the commands are in tools/commands.h.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ir/parser.h"
#include "kiln/error.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace {

using namespace kiln::cli;

int dispatch(const std::vector<std::string>& words) {
    if (words.empty()) throw UsageError("kiln: missing COMMAND");
    const std::string& command = words[0];
    std::vector<std::string> rest(words.begin() + 1, words.end());
    if (command == "help" || command == "--help" || command == "-h") {
        fmt::print(stdout, "{}", usage_text());
        return kExitOk;
    }
    if (command == "dump") return cmd_dump(rest, stdout);
    if (command == "fuse") return cmd_fuse(rest, stdout);
    if (command == "codegen") return cmd_codegen(rest, stdout);
    if (command == "run") return cmd_run(rest, stdout);
    throw UsageError(fmt::format("kiln: unknown command {}", kiln::ir::quoted(command)));
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> words(argv + 1, argv + argc);
    // `kiln help` is a request: the usage goes to stdout with status 0. A usage mistake (no or
    // unknown command, bad option) prints the message and the usage on stderr with status 2.
    try {
        int code = dispatch(words);
        std::fflush(stdout);
        return code;
    } catch (const UsageError& e) {
        std::fflush(stdout);
        fmt::print(stderr, "{}\n\n{}", e.what(), usage_text());
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
