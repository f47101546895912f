// The debug switches of support/debug.h: KILN_DUMP's kernels files (through the dump functions
// and end to end), KILN_DEBUG's levels and KILN_PROFILE's trace at exit. The variables are read
// once per process, so the end-to-end cases run this binary again as a child.
#include <algorithm>
#include <map>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "frontend/dump.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "ir/loop_kernel.h"
#include "passes/pipeline.h"
#include "profiler/profiler_util.h"
#include "runtime/executor.h"
#include <kiln/kiln.h>

using namespace kiln;
using namespace kiln_test;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A small program with a matmul and kernels before and after it, on this file's own shapes.
float small_program(float shift) {
    std::vector<float> values(12);
    for (int i = 0; i < 12; ++i) values[i] = static_cast<float>(i) + shift;  // new data, same graph
    Tensor x = tensor(values, {3, 4});
    Tensor w = tensor(
        std::vector<float>{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}, {4, 5});
    return kiln::exp(matmul(kiln::sin(x), w) * 0.5).sum().item<float>();
}

}  // namespace

TEST_CASE("dump_kernels writes every step, each kernel's loop text and LLVM IR, beside the graph",
          "[dump]") {
    TempDir tmp;
    Tensor x = randn({6, 5});
    Tensor w = randn({5, 4});
    x.realize();
    w.realize();
    Tensor y = softmax(matmul(kiln::tanh(x), w) * 2, 1).sum({1});
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    std::vector<ir::NodeRef> canonical = detail::canonical_graph({y.impl()->node()}, inputs);
    std::optional<std::filesystem::path> graph = detail::dump_graph(tmp.path, canonical);
    REQUIRE(graph);
    ir::Program program = passes::compile_graph(canonical);

    std::optional<std::filesystem::path> kernels = detail::dump_kernels(*graph, program);
    REQUIRE(kernels);
    CHECK(*kernels == tmp.path / (graph->stem().string() + ".kernels.txt"));
    CHECK(*kernels == detail::kernels_file_for(*graph));
    std::string text = read_text(*kernels);
    CHECK(contains(text, "# The program Kiln compiled for " + graph->filename().string()));
    int kernel_steps = 0;
    for (size_t s = 0; s < program.steps.size(); ++s) {
        const ir::Step& step = program.steps[s];
        CHECK(contains(text,
                       "# step " + std::to_string(s) + ": " + runtime::step_label(step) + "\n"));
        if (const auto* ks = std::get_if<ir::KernelStep>(&step)) {
            ++kernel_steps;
            CHECK(contains(text, ir::print_loop_kernel(ks->kernel)));
            CHECK(contains(text, "# step " + std::to_string(s) + ": kernel " + ks->kernel.name +
                                     ": optimized LLVM IR\n"));
        }
    }
    CHECK(kernel_steps >= 2);
    CHECK(contains(text, "matmul 6x5x4 f32"));
    CHECK(contains(text, "define "));  // LLVM IR functions
    CHECK(contains(text, "@kiln_k"));

    // A graph whose program came from the cache: the same file under its own name.
    std::optional<std::filesystem::path> graph2 = detail::dump_graph(tmp.path, canonical);
    REQUIRE(graph2);
    std::optional<std::filesystem::path> kernels2 = detail::dump_cached_kernels(*kernels, *graph2);
    REQUIRE(kernels2);
    CHECK(*kernels2 == detail::kernels_file_for(*graph2));
    CHECK(std::filesystem::equivalent(*kernels, *kernels2));
    // Nothing else: no temporaries left behind.
    CHECK(names_in(tmp.path) ==
          std::set<std::string>{graph->filename().string(), kernels->filename().string(),
                                graph2->filename().string(), kernels2->filename().string()});
}

TEST_CASE("dump_kernels reports an unwritable directory without throwing", "[dump]") {
    TempDir tmp;
    ir::Program empty;
    std::optional<std::filesystem::path> p;
    CHECK_NOTHROW(p = detail::dump_kernels(tmp.path / "missing" / "graph_0000.kir", empty));
    CHECK_FALSE(p);
    CHECK(names_in(tmp.path).empty());
}

// ---- children: each runs with one switch set in its environment

TEST_CASE("small program child", "[.kiln_small_program_child]") {
    CHECK(small_program(0) > 0);
    CHECK(small_program(1) > 0);  // the same structure: a program cache hit
}

TEST_CASE("KILN_PROFILE child", "[.kiln_profile_child]") {
    CHECK(profiler::running());  // started when the library loaded
    try {
        profiler::start();
        FAIL("start() under KILN_PROFILE did not throw");
    } catch (const Error& e) {
        CHECK(contains(e.what(), "KILN_PROFILE="));
    }
    CHECK(small_program(2) > 0);
}

TEST_CASE("KILN_DUMP writes every realized graph with its kernels file", "[dump]") {
    TempDir tmp;
    std::filesystem::path dir = tmp.path / "dumps";
    REQUIRE(run_child("KILN_DUMP=" + shell_quote(dir.string()), "[.kiln_small_program_child]",
                      tmp.path / "stderr.txt") == 0);
    std::set<std::string> names = names_in(dir);
    CHECK(names == std::set<std::string>{"graph_0000.kir", "graph_0000.kernels.txt",
                                         "graph_0001.kir", "graph_0001.kernels.txt"});
    // The second realize hit the program cache: its kernels file is the first one's.
    CHECK(std::filesystem::equivalent(dir / "graph_0000.kernels.txt",
                                      dir / "graph_0001.kernels.txt"));
    std::string text = read_text(dir / "graph_0000.kernels.txt");
    CHECK(contains(text, "# The program Kiln compiled for graph_0000.kir"));
    CHECK(contains(text, "# step 0: kernel "));
    CHECK(contains(text, "matmul 3x4x5 f32"));
    CHECK(contains(text, "optimized LLVM IR"));
    CHECK(read_text(tmp.path / "stderr.txt").empty());
}

TEST_CASE("KILN_DEBUG levels add pass times, IR, generated code and launches", "[debug]") {
    TempDir tmp;
    std::map<int, std::string> err;
    for (int level : {1, 2, 3, 4}) {
        std::filesystem::path out = tmp.path / ("debug" + std::to_string(level) + ".txt");
        REQUIRE(run_child("KILN_DEBUG=" + std::to_string(level), "[.kiln_small_program_child]",
                          out) == 0);
        err[level] = read_text(out);
    }
    for (int level : {1, 2, 3, 4}) {
        INFO("KILN_DEBUG=" << level << "\n" << err[level].substr(0, 2000));
        const std::string& e = err[level];
        // Level 1: one line per pass of the one compile.
        for (const char* pass : {"simplify", "split", "colsums", "fusion", "lower", "merge"})
            CHECK(contains(e, fmt::format("[kiln] pass {:<9} ", pass)));
        // Level 2: the pass results (the fusion plan names its kernels, lowering prints them).
        CHECK(contains(e, "kernel ") == (level >= 2));
        // Level 3: generated code of each kernel compiled (or loaded from the disk cache).
        CHECK(contains(e, ": optimized LLVM IR\n") == (level >= 3));
        CHECK(contains(e, "define ") == (level >= 3));
        // Level 4: every launch, both realizes.
        CHECK(contains(e, "[kiln] launch matmul 3x4x5 f32 ") == (level >= 4));
        CHECK(contains(e, "[kiln] launch kernel ") == (level >= 4));
    }
    // Each launch is one line: "[kiln] launch LABEL T ms (N bytes)"; two realizes run the same
    // steps.
    std::istringstream lines(err[4]);
    std::string line;
    int launches = 0, matmuls = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("[kiln] launch ", 0) != 0) continue;
        ++launches;
        if (contains(line, "matmul")) ++matmuls;
        CHECK(contains(line, " ms ("));
        CHECK(line.ends_with(" bytes)"));
    }
    CHECK(matmuls == 2);
    CHECK(launches >= 4);
    CHECK(launches % 2 == 0);
}

TEST_CASE("KILN_PROFILE writes a trace of the whole run at exit", "[profiler]") {
    TempDir tmp;
    std::filesystem::path file = tmp.path / "run.json";
    REQUIRE(run_child("KILN_PROFILE=" + shell_quote(file.string()), "[.kiln_profile_child]",
                      tmp.path / "stderr.txt") == 0);
    CHECK(read_text(tmp.path / "stderr.txt").empty());
    CHECK(names_in(tmp.path) == std::set<std::string>{"run.json", "stderr.txt"});
    nlohmann::json trace = nlohmann::json::parse(read_text(file));
    std::vector<TraceEvent> events = complete_events(trace);
    auto has = [&](const std::string& name) {
        return std::any_of(events.begin(), events.end(),
                           [&](const TraceEvent& e) { return e.name == name; });
    };
    CHECK(has("realize"));
    CHECK(has("compile"));
    CHECK(has("pass fusion"));
    CHECK(has("execute"));
    CHECK(has("record sin"));
    CHECK(has("matmul 3x4x5 f32"));
}

TEST_CASE("KILN_PROFILE into a missing directory warns at exit and does not fail the program",
          "[profiler]") {
    TempDir tmp;
    std::filesystem::path file = tmp.path / "missing" / "run.json";
    REQUIRE(run_child("KILN_PROFILE=" + shell_quote(file.string()), "[.kiln_profile_child]",
                      tmp.path / "stderr.txt") == 0);
    CHECK(read_text(tmp.path / "stderr.txt") ==
          "kiln: warning: KILN_PROFILE: profiler: cannot write the trace " + file.string() +
              ": No such file or directory\n");
    CHECK(names_in(tmp.path) == std::set<std::string>{"stderr.txt"});
}
