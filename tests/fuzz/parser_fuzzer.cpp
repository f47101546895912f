// libFuzzer target for the `.kir` parser (ir/parser.h). Built and run by scripts/fuzz with
// clang++-19 -fsanitize=fuzzer,address,undefined; see tests/fuzz/CMakeLists.txt.
//
// Any input must either parse or throw kiln::ParseError whose message is
// "fuzz.kir:LINE:COL: error: WHAT" (then the source line and a caret), printable (no control
// characters but newlines, no bytes that are not UTF-8) and short. Everything else is a
// finding: another exception (kiln::InternalError from a KILN_CHECK included), a crash, a
// sanitizer report, a hang, a blowup in time or memory. A graph that parses must also pass the
// whole-graph verifier and survive a round trip: parse(print(g)) == g.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "kiln/error.h"

namespace {

[[noreturn]] void finding(const char* what, std::string_view detail) {
    std::fprintf(stderr, "parser_fuzzer: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

/// "fuzz.kir:LINE:COL: error: " with LINE and COL positive decimal numbers.
bool has_position(std::string_view msg) {
    constexpr std::string_view kFile = "fuzz.kir:";
    if (msg.substr(0, kFile.size()) != kFile) return false;
    size_t i = kFile.size();
    for (int field = 0; field < 2; ++field) {
        size_t digits = 0;
        while (i < msg.size() && msg[i] >= '0' && msg[i] <= '9') ++i, ++digits;
        if (digits == 0 || i >= msg.size() || msg[i] != ':') return false;
        ++i;
    }
    return msg.substr(i, 8) == " error: ";
}

/// True when `msg` holds only printable text: newlines, no other control characters (C0, DEL,
/// C1), whole UTF-8 characters.
bool printable(std::string_view msg) {
    for (size_t i = 0; i < msg.size();) {
        unsigned char c = static_cast<unsigned char>(msg[i]);
        size_t n = kiln::ir::utf8_length(msg.substr(i));
        if (n == 0 || (c < 0x20 && c != '\n') || c == 0x7F) return false;
        if (n == 2 && c == 0xC2 && static_cast<unsigned char>(msg[i + 1]) < 0xA0)
            return false;  // a C1 control, U+0080..U+009F
        i += n;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        std::vector<kiln::ir::NodeRef> roots;
        try {
            roots = kiln::ir::parse_graph(text, "fuzz.kir");
        } catch (const kiln::ParseError& e) {
            std::string_view msg = e.what();
            if (!has_position(msg)) finding("ParseError without FILE:LINE:COL", msg);
            if (!printable(msg)) finding("ParseError with unprintable bytes", msg);
            // The message, one source line (at most ~120 columns) and a caret: never a
            // multi-kilobyte message, whatever the input.
            if (msg.size() > 4096) finding("ParseError message too long", msg.substr(0, 4096));
            return 0;
        }
        // What parses is well-formed and prints back to the same graph.
        kiln::ir::verify_graph(roots);
        std::string printed = kiln::ir::print_graph(roots);
        if (kiln::ir::parse_graph(printed, "printed.kir") != roots)
            finding("parse(print(g)) != g", printed);
    } catch (const std::exception& e) {
        finding("unexpected exception", e.what());
    } catch (...) {
        finding("unexpected exception", "(not a std::exception)");
    }
    return 0;
}
