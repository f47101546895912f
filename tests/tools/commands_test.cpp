// `kiln explain`, `dot`, `fuse`, `dump --after`, `codegen --target`, `run --inputs`, `bench` and
// `cache`: golden files where the output is deterministic (IR text in, expected text out;
// tests/tools/golden, regenerated with KILN_UPDATE_GOLDEN=1 after a reviewed change), schema
// checks for every --json document, structure where the output holds times.
#include <regex>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kiln/kiln.h"
#include "tools/cli_util.h"

using namespace kiln_test;
using nlohmann::json;

namespace {

std::filesystem::path golden_dir() {
    return std::filesystem::path(__FILE__).parent_path() / "golden";
}

/// Checks `actual` against golden file `name` (or rewrites it when KILN_UPDATE_GOLDEN is set).
void check_golden(const std::string& name, const std::string& actual) {
    std::filesystem::path file = golden_dir() / name;
    if (std::getenv("KILN_UPDATE_GOLDEN")) write_text(file, actual);
    INFO("golden file " << file.string());
    REQUIRE(std::filesystem::exists(file));
    CHECK(actual == read_text(file));
}

/// `kiln ARGS` must succeed with nothing on stderr; returns its stdout.
std::string ok_output(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    RunResult r = run_kiln(args, "", env);
    INFO("kiln " << args.front() << ": " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    return r.out;
}

/// A JSON document's field, required to exist and have the given type.
const json& field(const json& j, const char* name, json::value_t type) {
    INFO("field " << name << " of " << j.dump().substr(0, 200));
    REQUIRE(j.contains(name));
    const json& f = j.at(name);
    bool number = type == json::value_t::number_float;
    REQUIRE((f.type() == type || (number && f.is_number())));
    return f;
}

constexpr auto kInt = json::value_t::number_unsigned;
constexpr auto kNum = json::value_t::number_float;
constexpr auto kStr = json::value_t::string;
constexpr auto kArr = json::value_t::array;
constexpr auto kObj = json::value_t::object;

/// Integers in nlohmann are signed or unsigned depending on the value: accept either.
int64_t integer(const json& j, const char* name) {
    INFO("field " << name);
    REQUIRE(j.contains(name));
    REQUIRE(j.at(name).is_number_integer());
    return j.at(name).get<int64_t>();
}

/// Every field of an explain document has the documented type, and the totals add up.
void check_explain_schema(const json& doc) {
    CHECK(field(doc, "schema", kStr) == "kiln.explain");
    CHECK(integer(doc, "version") == 1);
    const json& nodes = field(doc, "nodes", kArr);
    auto known = [&](int64_t id) { return id >= 0 && id < static_cast<int64_t>(nodes.size()); };
    for (size_t i = 0; i < nodes.size(); ++i) {
        const json& n = nodes[i];
        CHECK(integer(n, "id") == static_cast<int64_t>(i));
        field(n, "op", kStr);
        field(n, "dtype", kStr);
        field(n, "shape", kArr);
        CHECK(integer(n, "bytes") >= 0);
        for (const json& in : field(n, "inputs", kArr)) CHECK(known(in.get<int64_t>()));
    }
    for (const json& o : field(doc, "outputs", kArr)) CHECK(known(o.get<int64_t>()));
    int64_t read = 0, written = 0, flops = 0, kernels = 0, externs = 0;
    const json& steps = field(doc, "steps", kArr);
    for (size_t i = 0; i < steps.size(); ++i) {
        const json& s = steps[i];
        CHECK(integer(s, "index") == static_cast<int64_t>(i));
        std::string kind = field(s, "kind", kStr);
        CHECK((kind == "kernel" || kind == "extern"));
        (kind == "kernel" ? kernels : externs)++;
        field(s, "name", kStr);
        if (kind == "kernel") field(s, "loops", kArr);
        for (const json& op : field(s, "ops", kArr)) CHECK(known(op.get<int64_t>()));
        for (const json& op : field(s, "recomputed", kArr)) CHECK(known(op.get<int64_t>()));
        for (const json& r : field(s, "reads", kArr)) CHECK(known(integer(r, "id")));
        REQUIRE(!field(s, "writes", kArr).empty());
        for (const json& w : s.at("writes")) {
            CHECK(known(integer(w, "id")));
            CHECK(!field(w, "reason", kStr).get<std::string>().empty());
        }
        read += integer(s, "bytes_read");
        written += integer(s, "bytes_written");
        flops += integer(s, "flops");
        if (s.contains("merged")) {
            CHECK(field(s.at("merged"), "kernels", kArr).size() >= 2);
            field(s.at("merged"), "reason", kStr);
        }
    }
    for (const json& e : field(doc, "edges", kArr)) {
        CHECK(known(integer(e, "value")));
        CHECK(integer(e, "from") < integer(e, "to"));
        CHECK(integer(e, "to") < static_cast<int64_t>(steps.size()));
        CHECK(integer(e, "bytes") > 0);
        CHECK(!field(e, "reason", kStr).get<std::string>().empty());
    }
    const json& totals = field(doc, "totals", kObj);
    CHECK(integer(totals, "kernels") == kernels);
    CHECK(integer(totals, "externs") == externs);
    CHECK(integer(totals, "bytes_read") == read);
    CHECK(integer(totals, "bytes_written") == written);
    CHECK(integer(totals, "flops") == flops);
    CHECK(integer(totals, "compute_ops") > 0);
}

/// A small training step as a program records it: linear, cross-entropy-like softmax, backward
/// and an SGD update (dumped by a Kiln program with KILN_DUMP, trimmed by hand).
constexpr const char* kTrainStep = R"(%0 = input 0 : f32[32,16]
%1 = input 1 : f32[8,16]
%2 = permute %1 {perm=[1,0]} : f32[16,8]
%3 = matmul %0, %2 : f32[32,8]
%4 = reduce_max %3 {axes=[1]} : f32[32,1]
%5 = expand %4 : f32[32,8]
%6 = sub %3, %5 : f32[32,8]
%7 = exp %6 : f32[32,8]
%8 = reduce_sum %7 {axes=[1]} : f32[32,1]
%9 = expand %8 : f32[32,8]
%10 = div %7, %9 : f32[32,8]
%11 = input 2 : f32[32,8]
%12 = sub %10, %11 : f32[32,8]
%13 = permute %12 {perm=[1,0]} : f32[8,32]
%14 = matmul %13, %0 : f32[8,16]
%15 = input 3 : f32[8,16]
%16 = const 0.9 : f32[8,16]
%17 = mul %15, %16 : f32[8,16]
%18 = add %17, %14 : f32[8,16]
%19 = const 0.1 : f32[8,16]
%20 = mul %18, %19 : f32[8,16]
%21 = sub %1, %20 : f32[8,16]
%22 = log %8 : f32[32,1]
%23 = reduce_sum %22 {axes=[0,1]} : f32[1,1]
return %21, %18, %14, %23
)";

}  // namespace

TEST_CASE("explain: golden text for the examples and a training step", "[cli][explain]") {
    for (const char* name : {"softmax", "matmul", "layernorm", "chain"})
        check_golden(std::string("explain_") + name + ".txt",
                     ok_output({"explain", example(std::string(name) + ".kir")}));
    TempDir dir;
    write_text(dir.path / "step.kir", kTrainStep);
    std::string step = ok_output({"explain", (dir.path / "step.kir").string()});
    check_golden("explain_step.txt", step);
    // The update of the weight, its momentum and the gradient merged into one kernel, and every
    // value crossing steps is listed with its rule.
    CHECK(step.find("  merged    ") != std::string::npos);
    // exp(x - max) is computed for the row sum and again for the output (not stored between).
    CHECK(step.find("  recomputes %9 sub, %10 exp (computed by an earlier step too)\n") !=
          std::string::npos);
    CHECK(step.find("-- transposed operand of extern matmul (read in place)") != std::string::npos);
    CHECK(step.find("-- extern op result") != std::string::npos);
}

TEST_CASE("explain --json follows schema kiln.explain version 1", "[cli][explain][json]") {
    TempDir dir;
    write_text(dir.path / "step.kir", kTrainStep);
    for (const std::string& file :
         {example("softmax.kir"), example("matmul.kir"), example("layernorm.kir"),
          (dir.path / "step.kir").string()}) {
        INFO(file);
        json doc = json::parse(ok_output({"explain", "--json", file}));
        check_explain_schema(doc);
    }
    json doc = json::parse(ok_output({"explain", "--json", example("matmul.kir")}));
    // matmul then bias+relu: one extern, one kernel, the matmul's result crossing between them.
    REQUIRE(doc["steps"].size() == 2);
    CHECK(doc["steps"][0]["kind"] == "extern");
    CHECK(doc["steps"][0]["name"] == "matmul");
    CHECK(doc["steps"][0]["flops"] == 2 * 64 * 128 * 32);
    CHECK(doc["steps"][1]["name"] == "e_add_max");
    REQUIRE(doc["edges"].size() == 1);
    CHECK(doc["edges"][0]["bytes"] == 64 * 32 * 4);
    CHECK(doc["edges"][0]["reason"] == "extern op result");
}

TEST_CASE("dot: one cluster per step, memory edges labelled", "[cli][dot]") {
    check_golden("dot_matmul.dot", ok_output({"dot", example("matmul.kir")}));
    TempDir dir;
    std::string out = (dir.path / "g.dot").string();
    ok_output({"dot", example("softmax.kir"), "-o", out});
    std::string text = read_text(out);
    CHECK(text.rfind("digraph kiln {", 0) == 0);
    CHECK(text.find("subgraph cluster_0") != std::string::npos);
    // An image: rendered when Graphviz is installed, else the .dot next to it and a note.
    std::string svg = (dir.path / "g.svg").string();
    RunResult r = run_kiln({"dot", example("matmul.kir"), "-o", svg});
    CHECK(r.status == 0);
    if (std::system("command -v dot >/dev/null 2>&1") == 0) {
        CHECK(read_text(svg).find("<svg") != std::string::npos);
    } else {
        CHECK(r.out.find("Graphviz's 'dot' is not installed: wrote " +
                         (dir.path / "g.dot").string()) == 0);
        CHECK(!std::filesystem::exists(svg));
    }
    RunResult bad = run_kiln({"dot", example("matmul.kir"), "-o", (dir.path / "g.txt").string()});
    CHECK(bad.status == 2);
    CHECK(bad.err == "kiln dot: -o " + (dir.path / "g.txt").string() +
                         ": expected a .dot, .svg or .png file\n");
}

TEST_CASE("fuse and dump --after: golden kernels", "[cli][fuse]") {
    check_golden("fuse_layernorm.txt", ok_output({"fuse", example("layernorm.kir")}));
    TempDir dir;
    write_text(dir.path / "step.kir", kTrainStep);
    check_golden("dump_after_merge_step.txt",
                 ok_output({"dump", "--after", "merge", (dir.path / "step.kir").string()}));
    check_golden("dump_after_fusion_matmul.txt",
                 ok_output({"dump", "--after", "fusion", example("matmul.kir")}));
}

TEST_CASE("codegen: targets and a chosen kernel", "[cli][codegen]") {
    std::string assembly = ok_output({"codegen", "--target", "asm", example("chain.kir")});
    CHECK(assembly.find("; kernel 0: e_add_erf_mul_sigmoid\n") != std::string::npos);
    CHECK(assembly.find("\t.text\n") != std::string::npos);
    CHECK(std::regex_search(assembly, std::regex(R"(\bret[q]?\b)")));
    TempDir dir;
    write_text(dir.path / "step.kir", kTrainStep);
    std::string one =
        ok_output({"codegen", "--kernel", "1", "--target", "llvm", (dir.path / "step.kir").string()});
    CHECK(one.find("; kernel 1: ") != std::string::npos);
    CHECK(one.find("; kernel 0: ") == std::string::npos);
    CHECK(one.find("; extern") == std::string::npos);
    RunResult range = run_kiln({"codegen", "--kernel", "9", example("chain.kir")});
    CHECK(range.status == 2);
    CHECK(range.err == "kiln codegen: --kernel 9: the program has 1 kernel\n");
    // CUDA C needs nothing installed; PTX needs NVRTC (the CUDA toolkit), else a clear error.
    std::string cuda = ok_output({"codegen", "--target", "cuda", example("softmax.kir")});
    CHECK(cuda.find("; target: CUDA C for NVRTC\n") == 0);
    CHECK(cuda.find("// launch: ") != std::string::npos);
    CHECK(cuda.find("extern \"C\" __global__ void __launch_bounds__(KILN_BLOCK)\n"
                    "kiln_r_div_exp_reduce_max_reduce_sum_0(") != std::string::npos);
    RunResult ptx = run_kiln({"codegen", "--target", "ptx", example("chain.kir")});
    if (ptx.status == 0) {
        CHECK(ptx.out.find(".visible .entry kiln_e_add_erf_mul_sigmoid_0(") != std::string::npos);
    } else {
        CHECK(ptx.status == 1);
        CHECK(ptx.err.rfind("kiln: --target ptx: ", 0) == 0);
    }
}

TEST_CASE("run --inputs takes the values from a safetensors file", "[cli][run]") {
    TempDir dir;
    std::string file = (dir.path / "in.safetensors").string();
    std::vector<float> x(64 * 128, 0.0f), w(128 * 32, 0.0f), b(32);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i) - 3;
    kiln::save_safetensors({{"input0", kiln::tensor(x, {64, 128})},
                            {"input1", kiln::tensor(w, {128, 32})},
                            {"input2", kiln::tensor(b, {32})}},
                           file);
    std::string out = ok_output({"run", "--check", example("matmul.kir"), "--inputs", file});
    // relu(0 @ w + b) = max(b, 0) = 0, 0, 0, 0, 1, 2, ..., 28 in every row.
    CHECK(out.find("output 0: tensor([[ 0.0000,  0.0000,  0.0000, ..., 26.0000, 27.0000, "
                   "28.0000],\n") != std::string::npos);
    CHECK(out.find("ok: 1 output matches the reference\n") != std::string::npos);
    CHECK(out.find("\nstep  kind     name") != std::string::npos);

    kiln::save_safetensors({{"input0", kiln::tensor(x, {64, 128})}}, file);
    RunResult missing = run_kiln({"run", example("matmul.kir"), "--inputs", file});
    CHECK(missing.status == 1);
    CHECK(missing.err == "kiln: " + file + ": no tensor 'input1' for input 1 (f32[128,32])\n");
    kiln::save_safetensors({{"0", kiln::tensor(x, {64, 128})},
                            {"1", kiln::tensor(w, {32, 128})},
                            {"2", kiln::tensor(b, {32})}},
                           file);
    RunResult shape = run_kiln({"run", example("matmul.kir"), "--inputs", file});
    CHECK(shape.status == 1);
    CHECK(shape.err ==
          "kiln: " + file + ": tensor '1' is f32[32,128], input 1 needs f32[128,32]\n");
}

TEST_CASE("bench: every step timed against measured limits, fused vs unfused", "[cli][bench]") {
    std::string text = ok_output({"bench", "--budget", "0.01", example("softmax.kir")});
    CHECK(std::regex_search(text, std::regex(R"(machine limits \(measured now, best of before and after the timings\): triad [0-9.]+ GB/s, sgemm [0-9.]+ GFLOP/s)")));
    CHECK(std::regex_search(text, std::regex(R"(\n +0  r_div_exp_reduce_max_reduce_sum +[0-9.]+ (ns|us|ms))")));
    CHECK(std::regex_search(text, std::regex(R"(whole graph, fused: +[0-9.]+ (ns|us|ms) .* 1 kernel \+ 0 extern)")));
    CHECK(std::regex_search(text, std::regex(R"(whole graph, unfused: +[0-9.]+ (ns|us|ms) .* 5 kernels \+ 0 extern)")));
    CHECK(std::regex_search(text, std::regex(R"(fusion speedup: +[0-9.]+x)")));

    TempDir dir;
    write_text(dir.path / "step.kir", kTrainStep);
    json doc = json::parse(
        ok_output({"bench", "--json", "--budget", "0.01", (dir.path / "step.kir").string()}));
    CHECK(field(doc, "schema", kStr) == "kiln.bench");
    CHECK(integer(doc, "version") == 1);
    CHECK(integer(doc, "threads") >= 1);
    const json& limits = field(doc, "limits", kObj);
    CHECK(field(limits, "triad_gbps", kNum).get<double>() > 0);
    CHECK(field(limits, "sgemm_gflops", kNum).get<double>() > 0);
    const json& fused = field(doc, "fused", kObj);
    const json& steps = field(doc, "steps", kArr);
    CHECK(static_cast<int64_t>(steps.size()) == integer(fused, "kernels") + integer(fused, "externs"));
    for (const json& s : steps) {
        const json& t = field(s, "time", kObj);
        double median = field(t, "median_s", kNum), lo = field(t, "min_s", kNum),
               hi = field(t, "max_s", kNum);
        CHECK(lo <= median);
        CHECK(median <= hi);
        CHECK(integer(t, "runs") >= 5);
        field(s, "name", kStr);
        field(s, "kind", kStr);
        CHECK(integer(s, "bytes") > 0);
        CHECK(field(s, "bandwidth_fraction", kNum).get<double>() > 0);
        field(s, "peak_fraction", kNum);
    }
    const json& unfused = field(doc, "unfused", kObj);
    CHECK(integer(unfused, "kernels") > integer(fused, "kernels"));
    CHECK(integer(unfused, "bytes") > integer(fused, "bytes"));
    CHECK(field(doc, "speedup", kNum).get<double>() > 0);
}

TEST_CASE("cache ls, stats, verify and clear on a cache directory", "[cli][cache]") {
    TempDir dir;
    std::vector<std::string> env{"KILN_CACHE_DIR=" + (dir.path / "cache").string()};
    std::string empty = ok_output({"cache", "ls"}, env);
    CHECK(empty == "0 entries, 0 B in " + (dir.path / "cache").string() + "\n");
    ok_output({"run", example("softmax.kir")}, env);  // compiles one kernel (and math)
    std::string ls = ok_output({"cache", "ls"}, env);
    CHECK(std::regex_search(ls, std::regex(R"(\n?[0-9a-f]{32} +[0-9.]+ (B|KiB) +[0-9]+ s ago +kernel r_div_exp_reduce_max_reduce_sum\n)")));
    std::string stats = ok_output({"cache", "stats"}, env);
    CHECK(stats.find("cache directory: " + (dir.path / "cache").string() + "\n") == 0);
    CHECK(std::regex_search(stats, std::regex(R"(\n  kernel +1 +)")));

    // Corrupt the kernel's entry: verify finds it, says why and removes it.
    std::smatch m;
    REQUIRE(std::regex_search(ls, m, std::regex(R"(([0-9a-f]{32}) +\S+ \S+ +\S+ \S+ \S+ +kernel)")));
    std::filesystem::path entry = dir.path / "cache" / m[1].str();
    std::string bytes = read_text(entry);
    write_text(entry, bytes.substr(0, bytes.size() / 2));
    write_text(dir.path / "cache" / (m[1].str() + ".tmp.1.2.3"), "partial");
    std::string verify = ok_output({"cache", "verify"}, env);
    CHECK(verify.find("corrupt: " + m[1].str() + " (") != std::string::npos);
    CHECK(verify.find("): truncated payload\n") != std::string::npos);
    CHECK(verify.find("): temporary file of an interrupted write\n") != std::string::npos);
    CHECK(verify.find(" corrupt (2 removed)\n") != std::string::npos);
    CHECK(!std::filesystem::exists(entry));
    CHECK(ok_output({"cache", "verify"}, env).find(", 0 corrupt (0 removed)\n") != std::string::npos);

    std::string clear = ok_output({"cache", "clear"}, env);
    CHECK(clear.rfind("removed ", 0) == 0);
    CHECK(ok_output({"cache", "ls"}, env) == empty);
    RunResult bad = run_kiln({"cache", "prune"}, "", env);
    CHECK(bad.status == 2);
    CHECK(bad.err.rfind("kiln cache: ACTION: prune not in {ls,stats,clear,verify}\n", 0) == 0);
}
