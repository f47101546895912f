// Inputs the parser fuzzer (tests/fuzz, run by scripts/fuzz) found problems with, kept in
// tests/ir/data/fuzz_regressions: each must parse (and then verify and print back to the same
// graph) or fail with a kiln::ParseError "FILE:LINE:COL: error: ...". Another exception (an
// InternalError from a KILN_CHECK included) fails the test; a crash or an undefined-behaviour
// report fails the sanitizer build of the suite.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "kiln/error.h"

namespace {

namespace fs = std::filesystem;

/// True when `msg` starts with "FILE:LINE:COL: error: " (LINE and COL decimal numbers).
bool has_position(const std::string& msg, const std::string& file) {
    if (msg.rfind(file + ":", 0) != 0) return false;
    size_t i = file.size() + 1;
    for (int field = 0; field < 2; ++field) {
        size_t start = i;
        while (i < msg.size() && msg[i] >= '0' && msg[i] <= '9') ++i;
        if (i == start || i >= msg.size() || msg[i] != ':') return false;
        ++i;
    }
    return msg.compare(i, 8, " error: ") == 0;
}

/// No control characters (C0, DEL, C1) but newlines and no bytes that are not UTF-8.
bool printable(const std::string& msg) {
    for (size_t i = 0; i < msg.size();) {
        unsigned char c = static_cast<unsigned char>(msg[i]);
        size_t n = kiln::ir::utf8_length(std::string_view(msg).substr(i));
        if (n == 0 || (c < 0x20 && c != '\n') || c == 0x7F) return false;
        if (n == 2 && c == 0xC2 && static_cast<unsigned char>(msg[i + 1]) < 0xA0)
            return false;  // a C1 control, U+0080..U+009F
        i += n;
    }
    return true;
}

}  // namespace

TEST_CASE("inputs the parser fuzzer found parse or fail with a position", "[ir][text][fuzz]") {
    std::vector<fs::path> files;
    for (const fs::directory_entry& e :
         fs::directory_iterator(fs::path(KILN_TEST_DATA_DIR) / "fuzz_regressions"))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(!files.empty());
    for (const fs::path& path : files) {
        std::string name = path.filename().string();
        INFO(name);
        std::ifstream in(path, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
            std::vector<kiln::ir::NodeRef> roots;
            try {
                roots = kiln::ir::parse_graph(text, name);
            } catch (const kiln::ParseError& e) {
                std::string msg = e.what();
                INFO(msg);
                CHECK(has_position(msg, name));
                CHECK(printable(msg));
                CHECK(msg.size() <= 4096);
                continue;
            }
            kiln::ir::verify_graph(roots);
            CHECK(kiln::ir::parse_graph(kiln::ir::print_graph(roots)) == roots);
        } catch (const std::exception& e) {
            FAIL_CHECK("not a ParseError: " << e.what());
        }
    }
}
