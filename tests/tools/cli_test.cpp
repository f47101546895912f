// The `kiln` command-line tool, run as a separate process on the example files: exact output
// where the output is the point (round trips, error messages), structure elsewhere.
#include <algorithm>
#include <regex>

#include <catch2/catch.hpp>

#include "tools/cli_util.h"

using namespace kiln_test;

namespace {

/// The kernel count from the summary line "N kernel(s), M extern call(s)".
std::pair<int, int> summary_counts(const std::string& out) {
    std::smatch m;
    static const std::regex re(R"((\d+) kernels?, (\d+) extern calls?\n$)");
    REQUIRE(std::regex_search(out, m, re));
    return {std::stoi(m[1]), std::stoi(m[2])};
}

}  // namespace

TEST_CASE("the kiln binary is built", "[cli]") {
    INFO("expected the kiln executable at " << kiln_path());
    REQUIRE(std::filesystem::exists(kiln_path()));
}

TEST_CASE("dump prints a canonical file back unchanged", "[cli][dump]") {
    for (const char* name : {"chain.kir", "softmax.kir", "layernorm.kir", "matmul.kir"}) {
        INFO(name);
        RunResult r = run_kiln({"dump", example(name)});
        CHECK(r.status == 0);
        CHECK(r.err.empty());
        // The examples are canonical apart from their header comments.
        CHECK(r.out == strip_comments(read_text(examples_dir() / name)));
    }
}

TEST_CASE("dump canonicalizes names and keeps input ids", "[cli][dump]") {
    TempDir dir;
    write_text(dir.path / "named.kir", "# comment\n"
                                       "%x = input 5 : f32[2,3]   # trailing comment\n"
                                       "%s = reduce_sum %x {axes=[1]} : f32[2,1]\n"
                                       "%e = exp %s : f32[2,1]\n"
                                       "return %e, %x\n");
    RunResult r = run_kiln({"dump", (dir.path / "named.kir").string()});
    CHECK(r.status == 0);
    CHECK(r.out == "%0 = input 5 : f32[2,3]\n"
                   "%1 = reduce_sum %0 {axes=[1]} : f32[2,1]\n"
                   "%2 = exp %1 : f32[2,1]\n"
                   "return %2, %0\n");
    // Standard input works too.
    RunResult s = run_kiln({"dump", "-"}, (dir.path / "named.kir").string());
    CHECK(s.status == 0);
    CHECK(s.out == r.out);
}

TEST_CASE("dump --after shows the pipeline's stages", "[cli][dump]") {
    RunResult simplified = run_kiln({"dump", "--after=simplify", example("matmul.kir")});
    CHECK(simplified.status == 0);
    CHECK(simplified.out.find("matmul %0, %1 : f32[64,32]") != std::string::npos);
    RunResult fusion = run_kiln({"dump", "--after=fusion", example("matmul.kir")});
    CHECK(fusion.status == 0);
    CHECK(fusion.out.find("extern 0: matmul f32[64,32]") != std::string::npos);
    RunResult lowered = run_kiln({"dump", "--after=lower", example("softmax.kir")});
    CHECK(lowered.status == 0);
    CHECK(lowered.out.find("kernel 0: div f32[64,256] (65536 bytes) -- graph output\n") !=
          std::string::npos);
    CHECK(lowered.out.find("stage0 = reduce_max over [256]") != std::string::npos);
    RunResult merged = run_kiln({"dump", "--after", "merge", example("matmul.kir")});
    CHECK(merged.status == 0);
    CHECK(merged.out.ends_with("# no kernels merged\n"));
    RunResult all = run_kiln({"dump", "--after", "all", example("softmax.kir")});
    CHECK(all.status == 0);
    size_t at = 0;
    for (const char* pass : {"simplify", "split", "colsums", "fusion", "lower", "merge"}) {
        INFO(pass);
        size_t found = all.out.find(std::string("# after ") + pass + "\n", at);
        CHECK(found != std::string::npos);
        at = found;
    }
    RunResult bad = run_kiln({"dump", "--after=codegen", example("chain.kir")});
    CHECK(bad.status == 2);
    CHECK(bad.err.rfind("kiln dump: --after: codegen not in {simplify,split,colsums,fusion,lower,"
                        "merge,all}\n",
                        0) == 0);
}

TEST_CASE("fuse: chain is one kernel, softmax at most two, matmul one extern call", "[cli][fuse]") {
    RunResult chain = run_kiln({"fuse", example("chain.kir")});
    REQUIRE(chain.status == 0);
    CHECK(summary_counts(chain.out) == std::pair{1, 0});
    CHECK(chain.out.find("kernel 0: add f32[1024] (4096 bytes) -- graph output\n") !=
          std::string::npos);
    CHECK(chain.out.find("outer [1024]") != std::string::npos);
    CHECK(chain.out.ends_with("\n1 kernel, 0 extern calls\n"));

    RunResult softmax = run_kiln({"fuse", example("softmax.kir")});
    REQUIRE(softmax.status == 0);
    auto [sk, se] = summary_counts(softmax.out);
    CHECK(sk >= 1);
    CHECK(sk <= 2);
    CHECK(se == 0);
    CHECK(softmax.out.find("reduce_max over [256]") != std::string::npos);

    RunResult layernorm = run_kiln({"fuse", example("layernorm.kir")});
    REQUIRE(layernorm.status == 0);
    CHECK(summary_counts(layernorm.out).first <= 2);

    RunResult matmul = run_kiln({"fuse", example("matmul.kir")});
    REQUIRE(matmul.status == 0);
    CHECK(summary_counts(matmul.out) == std::pair{1, 1});
    CHECK(matmul.out.find("extern matmul f32 [64,128] x [128,32] -> [64,32]") != std::string::npos);
}

TEST_CASE("codegen prints vectorized LLVM IR", "[cli][codegen]") {
    RunResult opt = run_kiln({"codegen", example("chain.kir")});
    REQUIRE(opt.status == 0);
    CHECK(opt.out.rfind("; target: ", 0) == 0);
    CHECK(opt.out.find("; kernel 0: e_add_erf_mul_sigmoid\n") != std::string::npos);
    CHECK(opt.out.find("define ") != std::string::npos);
    CHECK(std::regex_search(opt.out, std::regex(R"(<\d+ x float>)")));

    RunResult raw = run_kiln({"codegen", "--target", "llvm", example("chain.kir")});
    REQUIRE(raw.status == 0);
    CHECK(raw.out.find("define ") != std::string::npos);
    CHECK(raw.out != opt.out);

    RunResult matmul = run_kiln({"codegen", example("matmul.kir")});
    REQUIRE(matmul.status == 0);
    CHECK(matmul.out.find("; extern matmul f32 [64,128] x [128,32]") != std::string::npos);
    CHECK(matmul.out.find("; kernel 0: e_add_max\n") != std::string::npos);
}

TEST_CASE("run matches the reference interpreter", "[cli][run]") {
    for (const char* name : {"chain.kir", "softmax.kir", "layernorm.kir", "matmul.kir"}) {
        INFO(name);
        RunResult r = run_kiln({"run", "--check", example(name)});
        CHECK(r.status == 0);
        CHECK(r.err.empty());
        CHECK(r.out.find("input 0: tensor(") == 0);
        CHECK(r.out.find(": ok\n") != std::string::npos);
        CHECK(r.out.find("ok: 1 output matches the reference\n") != std::string::npos);
    }
}

TEST_CASE("run is deterministic and --seed changes the data", "[cli][run]") {
    // The values (everything before the step times) are the same every run.
    auto values = [](const RunResult& r) { return r.out.substr(0, r.out.find("\nstep ")); };
    RunResult a = run_kiln({"run", example("chain.kir")});
    RunResult b = run_kiln({"run", example("chain.kir")});
    RunResult c = run_kiln({"run", "--seed=7", example("chain.kir")});
    REQUIRE(a.status == 0);
    REQUIRE(c.status == 0);
    CHECK(values(a) == values(b));
    CHECK(values(a).substr(0, 40) != values(c).substr(0, 40));
    CHECK(a.out.find("output 0: tensor([") != std::string::npos);
}

TEST_CASE("run fails when outputs are outside the tolerance", "[cli][run]") {
    // f32 kernels against a float64 reference are never exact: zero tolerance must fail.
    RunResult r = run_kiln({"run", "--check", "--rtol=0", "--atol=0", example("chain.kir")});
    CHECK(r.status == 1);
    CHECK(r.out.find("MISMATCH") != std::string::npos);
    CHECK(r.out.find("FAILED: output 0 differs from the reference at element ") !=
          std::string::npos);
    CHECK(r.err.find("kiln run: " + example("chain.kir") + ": output 0 differs") == 0);
}

TEST_CASE("run renumbers inputs and binds inputs that simplification drops", "[cli][run]") {
    TempDir dir;
    // Ids 7 and 3 are renumbered in order of appearance; where(true, b, a) drops input 7 (now 1)
    // but it stays an input of the program, and a root.
    write_text(dir.path / "ids.kir", "%a = input 7 : f32[4]\n"
                                     "%b = input 3 : f32[4]\n"
                                     "%t = const 1 : bool[4]\n"
                                     "%w = where %t, %b, %a : f32[4]\n"
                                     "%r = exp %w : f32[4]\n"
                                     "return %r, %a\n");
    RunResult r = run_kiln({"run", "--check", (dir.path / "ids.kir").string()});
    CHECK(r.status == 0);
    CHECK(r.out.find("input 0 (file's input 3): tensor(") != std::string::npos);
    CHECK(r.out.find("ok: 2 outputs match the reference\n") != std::string::npos);
    // Placeholder 0 dropped while 1 survives: the executor needs every number bound.
    write_text(dir.path / "drop.kir", "%b = input 0 : f32[4]\n"
                                      "%t = const 1 : bool[4]\n"
                                      "%a = input 1 : f32[4]\n"
                                      "%w = where %t, %a, %b : f32[4]\n"
                                      "return %w\n");
    RunResult d = run_kiln({"run", "--check", (dir.path / "drop.kir").string()});
    CHECK(d.status == 0);
    CHECK(d.err.empty());
    // Integers and bools compare exactly.
    write_text(dir.path / "int.kir", "%0 = input 0 : i32[5]\n"
                                     "%1 = input 1 : i32[5]\n"
                                     "%2 = div %0, %1 : i32[5]\n"
                                     "%3 = lt %0, %1 : bool[5]\n"
                                     "return %2, %3\n");
    RunResult i = run_kiln({"run", "--check", (dir.path / "int.kir").string()});
    CHECK(i.status == 0);
    CHECK(i.out.find("(rtol 0, atol 0): ok") != std::string::npos);
}

TEST_CASE("a malformed file prints FILE:LINE:COL and exits 1", "[cli][errors]") {
    std::string file = example("malformed.kir");
    for (const char* command : {"dump", "fuse", "codegen", "run"}) {
        INFO(command);
        RunResult r = run_kiln({command, file});
        CHECK(r.status == 1);
        CHECK(r.out.empty());
        CHECK(r.err == file + ":4:14: error: use of undefined value '%7'\n"
                              "    %2 = add %0, %7 : f32[4]\n"
                              "                 ^\n");
    }
    TempDir dir;
    write_text(dir.path / "empty.kir", "");
    RunResult empty = run_kiln({"dump", (dir.path / "empty.kir").string()});
    CHECK(empty.status == 1);
    CHECK(empty.err ==
          (dir.path / "empty.kir").string() + ":1:1: error: missing 'return' at end of input\n");
    write_text(dir.path / "junk.kir", std::string("\x7f"
                                                  "ELF\0\1\2\xff\xfe garbage",
                                                  17));
    RunResult junk = run_kiln({"run", (dir.path / "junk.kir").string()});
    CHECK(junk.status == 1);
    CHECK(junk.err.find((dir.path / "junk.kir").string() + ":1:1: error: ") == 0);
}

TEST_CASE("missing files and loop-level graphs are errors, not crashes", "[cli][errors]") {
    // A missing FILE argument is a usage error (exit 2), named with the command.
    RunResult missing = run_kiln({"run", "/nonexistent/dir/model.kir"});
    CHECK(missing.status == 2);
    CHECK(missing.err == "kiln run: FILE: no such file: /nonexistent/dir/model.kir\n"
                         "Run 'kiln run --help' for more information.\n");
    TempDir dir;
    RunResult directory = run_kiln({"dump", dir.path.string()});
    CHECK(directory.status == 2);
    CHECK(directory.err.rfind("kiln dump: FILE: is a directory: " + dir.path.string() + "\n", 0) ==
          0);
    write_text(dir.path / "loop.kir", "%v = var {index=0, extent=4} : i64[]\n"
                                      "%l = load %v {buffer=0} : f32[]\n"
                                      "return %l\n");
    std::string loop = (dir.path / "loop.kir").string();
    CHECK(run_kiln({"dump", loop}).status == 0);  // printing loop IR is fine
    RunResult run = run_kiln({"run", loop});
    CHECK(run.status == 1);
    CHECK(run.err == "kiln: " + loop +
                         ": 'var' is a loop-level op: only tensor-level graphs can be compiled "
                         "(loop IR appears inside lowered kernels, not in .kir graphs)\n");
}

TEST_CASE("usage errors exit 2 with a hint on stderr; help exits 0", "[cli][usage]") {
    auto usage_error = [](const RunResult& r, const std::string& message) {
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err == message);
    };
    usage_error(run_kiln({"frobnicate", example("chain.kir")}),
                "kiln: unknown command 'frobnicate'\nRun 'kiln --help' for more information.\n");
    usage_error(run_kiln({}), "kiln: A subcommand is required\n"
                              "Run 'kiln --help' for more information.\n");
    for (const char* help : {"--help", "-h"}) {
        RunResult h = run_kiln({help});
        CHECK(h.status == 0);
        CHECK(h.out.find("Usage: kiln [OPTIONS] SUBCOMMAND\n") != std::string::npos);
        for (const char* command : {"dump", "fuse", "explain", "dot", "codegen", "run", "bench",
                                    "cache"})
            CHECK(h.out.find(std::string("\n  ") + command + " ") != std::string::npos);
        CHECK(h.out.find("Examples:\n") != std::string::npos);
        CHECK(h.err.empty());
    }
    // Every command has its own help with examples.
    for (const char* command : {"dump", "fuse", "explain", "dot", "codegen", "run", "bench",
                                "cache"}) {
        INFO(command);
        RunResult h = run_kiln({command, "--help"});
        CHECK(h.status == 0);
        CHECK(h.out.find(std::string("Usage: kiln ") + command + " [OPTIONS]") !=
              std::string::npos);
        CHECK(h.out.find("Examples:\n  kiln " + std::string(command)) != std::string::npos);
    }
    usage_error(run_kiln({"fuse", "--fast", example("chain.kir")}),
                "kiln fuse: The following argument was not expected: --fast\n"
                "Run 'kiln fuse --help' for more information.\n");
    usage_error(run_kiln({"run"}), "kiln run: FILE is required\n"
                                   "Run 'kiln run --help' for more information.\n");
    usage_error(run_kiln({"dump", example("chain.kir"), "b.kir"}),
                "kiln dump: The following argument was not expected: b.kir\n"
                "Run 'kiln dump --help' for more information.\n");
    usage_error(run_kiln({"run", example("chain.kir"), "--seed"}),
                "kiln run: --seed: 1 required UINT missing\n"
                "Run 'kiln run --help' for more information.\n");
    usage_error(run_kiln({"run", "--rtol=abc", example("chain.kir")}),
                "kiln run: --rtol: expected a number >= 0, got 'abc'\n"
                "Run 'kiln run --help' for more information.\n");
}

TEST_CASE("deep chains: every command handles a 20000-op graph", "[cli][limits]") {
    TempDir dir;
    std::string text = "%0 = input 0 : f32[8]\n%c = const 0.5 : f32[8]\n";
    for (int k = 1; k <= 20000; ++k) {
        text += k % 2 ? "%" + std::to_string(k) + " = sin %" + std::to_string(k - 1) + " : f32[8]\n"
                      : "%" + std::to_string(k) + " = add %" + std::to_string(k - 1) +
                            ", %c : f32[8]\n";
    }
    text += "return %20000\n";
    std::string file = (dir.path / "deep.kir").string();
    write_text(file, text);
    RunResult dump = run_kiln({"dump", file});
    CHECK(dump.status == 0);
    CHECK(std::count(dump.out.begin(), dump.out.end(), '\n') == 20003);
    RunResult fuse = run_kiln({"fuse", file});
    CHECK(fuse.status == 0);
    CHECK(fuse.out.find("kernel size bound: its expression holds more than") != std::string::npos);
    RunResult codegen = run_kiln({"codegen", file});
    CHECK(codegen.status == 0);
    CHECK(codegen.out.find("@kiln_math_sin_f32") != std::string::npos);  // math called, not inlined
    RunResult run = run_kiln({"run", "--check", file});
    CHECK(run.status == 0);
    CHECK(run.out.find("ok: 1 output matches the reference") != std::string::npos);
    // A rank far above the limit is a parse error with a position, not a crash.
    std::string wide = "%0 = input 0 : f32[1";
    for (int i = 1; i < 100000; ++i) wide += ",1";
    write_text(dir.path / "wide.kir", wide + "]\nreturn %0\n");
    RunResult rank = run_kiln({"run", (dir.path / "wide.kir").string()});
    CHECK(rank.status == 1);
    // The line is shown cut to 120 columns, a caret under the column.
    std::string shown = "    " + wide.substr(0, 120) + "...\n    " + std::string(18, ' ') + "^\n";
    CHECK(rank.err == (dir.path / "wide.kir").string() +
                          ":1:19: error: rank 100000 is more than Kiln's limit of 64 dimensions\n" +
                          shown);
}

TEST_CASE("run: shapes that overflow are parse errors", "[cli][limits]") {
    TempDir dir;
    write_text(dir.path / "huge.kir", "%0 = input 0 : f32[999999999999,999999999]\nreturn %0\n");
    RunResult r = run_kiln({"run", (dir.path / "huge.kir").string()});
    CHECK(r.status == 1);
    CHECK(r.err == (dir.path / "huge.kir").string() +
                       ":1:19: error: shape [999999999999,999999999] has more than "
                       "9223372036854775807 elements\n"
                       "    %0 = input 0 : f32[999999999999,999999999]\n"
                       "                      ^\n");
}

TEST_CASE("run: f32 overflow to inf matches the reference", "[cli][run]") {
    // The reference rounds each f32 node to f32, so x * 1e30 * 1e30 is inf there too (and the
    // later * 1e-30 does not bring it back into range).
    TempDir dir;
    write_text(dir.path / "overflow.kir", "%0 = input 0 : f32[64]\n"
                                          "%1 = const 1e30 : f32[64]\n"
                                          "%2 = mul %0, %1 : f32[64]\n"
                                          "%3 = mul %2, %1 : f32[64]\n"
                                          "%4 = const 1e-30 : f32[64]\n"
                                          "%5 = mul %3, %4 : f32[64]\n"
                                          "return %5\n");
    RunResult r = run_kiln({"run", "--check", (dir.path / "overflow.kir").string()});
    CHECK(r.status == 0);
    CHECK(r.out.find("inf") != std::string::npos);
    CHECK(r.out.find("ok: 1 output matches the reference") != std::string::npos);
}

TEST_CASE("run: an f64 output of f32 arithmetic gets the f32 tolerance", "[cli][run]") {
    // What a program that casts its f32 results to f64 dumps: 4e9 * x / 3 and exp(x) in f32
    // (exp is a few ulp from the exact value), then f64.
    TempDir dir;
    write_text(dir.path / "cast.kir", "%0 = input 0 : f32[16]\n"
                                      "%1 = const 4e9 : f32[16]\n"
                                      "%2 = mul %0, %1 : f32[16]\n"
                                      "%3 = const 3 : f32[16]\n"
                                      "%4 = div %2, %3 : f32[16]\n"
                                      "%5 = exp %0 : f32[16]\n"
                                      "%6 = add %4, %5 : f32[16]\n"
                                      "%7 = cast %6 : f64[16]\n"
                                      "%8 = cast %5 : f64[16]\n"
                                      "return %7, %8\n");
    RunResult r = run_kiln({"run", "--check", (dir.path / "cast.kir").string()});
    CHECK(r.status == 0);
    CHECK(r.out.find("output 0: tensor(") != std::string::npos);
    CHECK(r.out.find("(rtol 0.0001, atol 1e-05): ok\noutput 1") != std::string::npos);
    // A real mismatch shows enough digits to see the difference.
    RunResult strict =
        run_kiln({"run", "--check", "--rtol=0", "--atol=0", example("chain.kir")});
    std::smatch m;
    REQUIRE(std::regex_search(strict.out, m,
                              std::regex(R"(got (-?[0-9.e+-]+), expected (-?[0-9.e+-]+))")));
    CHECK(m[1].str() != m[2].str());
}

TEST_CASE("errors show bytes that are not printable text escaped", "[cli][errors]") {
    TempDir dir;
    auto error_for = [&](const std::string& bytes) {
        write_text(dir.path / "bytes.kir", "%0 = input 0 : f32[2]\n" + bytes + "\nreturn %0\n");
        RunResult r = run_kiln({"dump", (dir.path / "bytes.kir").string()});
        CHECK(r.status == 1);
        std::string prefix = (dir.path / "bytes.kir").string() +
                             ":2:1: error: expected a definition '%name = ...' or 'return', found ";
        REQUIRE(r.err.rfind(prefix, 0) == 0);
        return r.err.substr(prefix.size());
    };
    // The message, then the line (escaped the same way) and a caret.
    CHECK(error_for("\xff") == "'\\xff'\n    \\xff\n    ^\n");
    CHECK(error_for("\xc3\xa9t\xc3\xa9") ==  // a whole UTF-8 character
          "'\xc3\xa9'\n    \xc3\xa9t\xc3\xa9\n    ^\n");
    CHECK(error_for("\xc3") == "'\\xc3'\n    \\xc3\n    ^\n");  // half of one
    CHECK(error_for("\x01") == "'\\x01'\n    \\x01\n    ^\n");
    RunResult cmd = run_kiln({"\x01\xfe"});
    CHECK(cmd.status == 2);
    CHECK(cmd.err.rfind("kiln: unknown command '\\x01\\xfe'\n", 0) == 0);
}
