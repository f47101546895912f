// KILN_DUMP (frontend/dump.h): dumped graphs re-parse to the same nodes, never overwrite a file,
// never leave temporaries, never throw; and `kiln` accepts what a program dumps.
#include <cstdlib>
#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include "frontend/dump.h"
#include "frontend/realize.h"
#include "ir/parser.h"
#include "kiln/kiln.h"
#include "tools/cli_util.h"

using namespace kiln;
using namespace kiln_test;

namespace {

ir::NodeRef placeholder(int64_t id, ir::Shape shape) {
    return ir::Node::make(ir::Op::Input, kFloat32, std::move(shape), {},
                          ir::InputAttr{id, nullptr});
}

/// exp(x) + y over [2,3], and x itself: two roots, one of them an input.
std::vector<ir::NodeRef> small_graph() {
    ir::NodeRef x = placeholder(0, {2, 3});
    ir::NodeRef y = placeholder(1, {2, 3});
    ir::NodeRef e = ir::Node::make(ir::Op::Exp, kFloat32, {2, 3}, {x});
    return {ir::Node::make(ir::Op::Add, kFloat32, {2, 3}, {e, y}), x};
}

std::set<std::string> names_in(const std::filesystem::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        names.insert(entry.path().filename().string());
    return names;
}

}  // namespace

TEST_CASE("dump_graph writes numbered files that parse back to the same graph", "[dump]") {
    TempDir tmp;
    std::filesystem::path dir = tmp.path / "nested" / "dumps";  // created on demand
    std::vector<ir::NodeRef> roots = small_graph();
    std::optional<std::filesystem::path> first = detail::dump_graph(dir, roots);
    std::optional<std::filesystem::path> second = detail::dump_graph(dir, roots);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(*first != *second);
    CHECK(first->parent_path() == dir);
    CHECK(std::regex_match(first->filename().string(), std::regex(R"(graph_\d{4,}\.kir)")));
    // Hash-consing: parsing gives back the very same nodes.
    CHECK(ir::parse_graph(read_text(*first), first->string()) == roots);
    CHECK(ir::parse_graph(read_text(*second), second->string()) == roots);
    // Only the two dumps: no temporary left behind.
    CHECK(names_in(dir) ==
          std::set<std::string>{first->filename().string(), second->filename().string()});
}

TEST_CASE("dump_graph never overwrites an existing file", "[dump]") {
    TempDir tmp;
    // Earlier dumps (another run) occupy the first hundred numbers.
    for (int i = 0; i < 100; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "graph_%04d.kir", i);
        write_text(tmp.path / name, "earlier " + std::to_string(i));
    }
    std::optional<std::filesystem::path> p = detail::dump_graph(tmp.path, small_graph());
    REQUIRE(p);
    CHECK(ir::parse_graph(read_text(*p)) == small_graph());
    for (int i = 0; i < 100; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "graph_%04d.kir", i);
        CHECK(read_text(tmp.path / name) == "earlier " + std::to_string(i));
    }
    CHECK(names_in(tmp.path).size() == 101);
}

TEST_CASE("dump_graph reports IO errors without throwing", "[dump]") {
    TempDir tmp;
    write_text(tmp.path / "file", "not a directory");
    std::optional<std::filesystem::path> p;
    CHECK_NOTHROW(p = detail::dump_graph(tmp.path / "file" / "sub", small_graph()));
    CHECK(!p);
}

// KILN_DUMP is read once per process, at the first call, and this binary may realize tensors
// (which calls the hook) before any given test: the check runs in a fresh process, this binary
// re-run with the hidden test below.
TEST_CASE("KILN_DUMP child process", "[.kiln_dump_child]") {
    detail::dump_graph_if_requested(small_graph());
    ::unsetenv("KILN_DUMP");
    detail::dump_graph_if_requested(small_graph());  // still the directory read at first
}

TEST_CASE("dump_graph_if_requested follows KILN_DUMP", "[dump]") {
    TempDir tmp;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    std::string cmd = "KILN_DUMP=" + shell_quote(tmp.path.string()) + " " +
                      shell_quote(self.string()) + " '[kiln_dump_child]' > /dev/null";
    int st = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
    std::set<std::string> names = names_in(tmp.path);
    REQUIRE(names.size() == 2);
    for (const std::string& name : names)
        CHECK(ir::parse_graph(read_text(tmp.path / name)) == small_graph());
}

TEST_CASE("kiln fuse and run accept a graph dumped from a program", "[dump][cli]") {
    // The canonical graph of a real frontend program, as the realize driver sees it.
    Tensor x = randn({32, 64});
    Tensor w = randn({64});
    x.realize();
    w.realize();
    Tensor y = softmax(x * w + 1.0, 1) * sigmoid(x);
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    std::vector<ir::NodeRef> canonical = detail::canonical_graph({y.impl()->node()}, inputs);
    REQUIRE(inputs.size() == 2);
    TempDir tmp;
    std::optional<std::filesystem::path> p = detail::dump_graph(tmp.path, canonical);
    REQUIRE(p);
    RunResult dump = run_kiln({"dump", p->string()});
    CHECK(dump.status == 0);
    CHECK(dump.out == strip_comments(read_text(*p)));
    RunResult fuse = run_kiln({"fuse", p->string()});
    CHECK(fuse.status == 0);
    CHECK(fuse.out.ends_with("1 kernel, 0 extern calls\n"));
    RunResult run = run_kiln({"run", "--check", p->string()});
    CHECK(run.status == 0);
    CHECK(run.out.find("ok: 1 output matches the reference\n") != std::string::npos);
}

TEST_CASE("kiln run accepts a dumped program that mixes dtypes and overflows f32", "[dump][cli]") {
    // An f32 computation whose result is used in f64 (the tolerance is f32's), and an f32
    // product that overflows to inf (the reference rounds f32 nodes, so it does too).
    Tensor x = randn({16, 8});
    x.realize();
    Tensor scaled = (kiln::exp(x) * 4e9 / 3.0).to(kFloat64) + 0.5;
    Tensor overflow = x * 1e30f * 1e30f * 1e-30f;
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    std::vector<ir::NodeRef> canonical =
        detail::canonical_graph({scaled.impl()->node(), overflow.impl()->node()}, inputs);
    TempDir tmp;
    std::optional<std::filesystem::path> p = detail::dump_graph(tmp.path, canonical);
    REQUIRE(p);
    RunResult run = run_kiln({"run", "--check", p->string()});
    CHECK(run.status == 0);
    CHECK(run.out.find("inf") != std::string::npos);
    CHECK(run.out.find("ok: 2 outputs match the reference\n") != std::string::npos);
}
