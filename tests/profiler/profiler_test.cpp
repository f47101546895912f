// kiln::profiler: the trace of a training step (event names, fields, arguments, nesting), IO
// errors that name the file, sessions one after another, and nothing recorded while off.
#include <algorithm>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "profiler/profiler_util.h"
#include "support/profiler.h"
#include <kiln/kiln.h>

using namespace kiln;
using namespace kiln_test;
using nlohmann::json;

namespace {

/// Two SGD steps of a Linear layer under cross-entropy: the first compiles the step's program,
/// the second reuses it. Shapes are this test's own, so its kernels are compiled here (not found
/// in memory from another test of this binary).
void two_training_steps() {
    manual_seed(7);
    nn::Linear lin(37, 11);
    optim::SGD opt(lin->parameters(), optim::SGDOptions(0.1));
    for (int step = 0; step < 2; ++step) {
        Tensor x = randn({19, 37});
        std::vector<int64_t> labels(19);
        for (int i = 0; i < 19; ++i) labels[i] = (i * 7 + step) % 11;
        Tensor y = tensor(labels, {19});
        opt.zero_grad();
        Tensor loss = nn::functional::cross_entropy(lin->forward(x), y);
        loss.backward();
        opt.step();
        (void)loss.item<float>();
    }
}

json read_json(const std::filesystem::path& p) { return json::parse(read_text(p)); }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("a training step's trace has every phase, with arguments, nested per thread",
          "[profiler]") {
    TempDir tmp;
    std::filesystem::path file = tmp.path / "trace.json";
    REQUIRE_FALSE(profiler::running());
    profiler::start();
    CHECK(profiler::running());
    two_training_steps();
    profiler::stop(file);
    CHECK_FALSE(profiler::running());
    // Only the trace: the temporary it was written under is gone.
    CHECK(names_in(tmp.path) == std::set<std::string>{"trace.json"});

    json trace = read_json(file);
    REQUIRE(trace.contains("traceEvents"));
    REQUIRE(trace["traceEvents"].is_array());
    for (const json& e : trace["traceEvents"]) {
        // Every event, metadata included, has these.
        CHECK(e.contains("ph"));
        CHECK(e.contains("pid"));
        CHECK(e.contains("tid"));
        CHECK(e.contains("name"));
        if (e["ph"] == "X") {
            CHECK(e.contains("ts"));
            CHECK(e.contains("dur"));
            CHECK(e.contains("cat"));
            CHECK(e["dur"].get<double>() >= 0);
            CHECK(e["ts"].get<double>() >= 0);
        }
    }
    std::vector<TraceEvent> events = complete_events(trace);
    REQUIRE(!events.empty());

    std::map<std::string, int> count;  // by name, and by prefix for names with a subject
    for (const TraceEvent& e : events) {
        ++count[e.name];
        for (const char* p : {"record ", "codegen ", "kernel ", "chunk ", "matmul "})
            if (starts_with(e.name, p)) ++count[std::string(p) + "*"];
    }
    CHECK(count["realize"] >= 2);
    CHECK(count["canonicalize"] >= 2);
    CHECK(count["compile"] >= 1);
    CHECK(count["execute"] >= 2);
    for (const char* pass :
         {"pass simplify", "pass split", "pass colsums", "pass fusion", "pass lower", "pass merge"})
        CHECK(count[pass] == count["compile"]);
    CHECK(count["record *"] > 10);
    CHECK(count["codegen *"] >= 1);
    CHECK(count["kernel *"] >= 2);
    CHECK(count["chunk *"] >= count["kernel *"]);
    CHECK(count["matmul *"] >= 2);  // the forward's x @ w^T and the backward's products

    // Realizes: the first compiles, a later one reuses the program.
    std::set<std::string> cache;
    for (const TraceEvent& e : events)
        if (e.name == "realize") {
            CHECK(e.args.at("outputs").get<int64_t>() >= 1);
            CHECK(e.args.at("nodes").get<int64_t>() >= 1);
            cache.insert(e.args.at("cache").get<std::string>());
        }
    CHECK(cache == std::set<std::string>{"hit", "miss"});

    // Kernels carry their name and bytes; recorded ops their shape.
    for (const TraceEvent& e : events) {
        if (starts_with(e.name, "kernel ")) {
            CHECK(e.cat == "kernel");
            CHECK(e.name == "kernel " + e.args.at("name").get<std::string>());
            CHECK(e.args.at("bytes").get<int64_t>() > 0);
            CHECK(e.args.at("elements").get<int64_t>() > 0);
            CHECK(e.args.at("outer").get<int64_t>() >= 1);
        } else if (starts_with(e.name, "matmul ")) {
            CHECK(e.cat == "extern");
            CHECK(e.args.at("bytes").get<int64_t>() > 0);
        } else if (starts_with(e.name, "codegen ")) {
            CHECK(e.name == "codegen " + e.args.at("name").get<std::string>());
            std::string source = e.args.at("source").get<std::string>();
            CHECK((source == "llvm" || source == "disk cache"));
        } else if (starts_with(e.name, "record ")) {
            CHECK(e.cat == "record");
            CHECK(e.args.contains("shape"));
            CHECK(e.args.contains("dtype"));
        }
    }

    // Nesting on one thread: passes in a compile, compiles and executes in a realize, kernels
    // and extern calls in an execute, the caller's chunks in their kernel.
    auto inside_some = [&](const TraceEvent& inner, const std::string& outer_name) {
        return std::any_of(events.begin(), events.end(), [&](const TraceEvent& o) {
            return o.name == outer_name && within(inner, o);
        });
    };
    int chunks_inside_kernel = 0;
    for (const TraceEvent& e : events) {
        INFO(e.name << " at " << e.ts << " on thread " << e.tid);
        if (e.cat == "pass") CHECK(inside_some(e, "compile"));
        if (e.name == "compile" || e.name == "execute" || e.name == "canonicalize")
            CHECK(inside_some(e, "realize"));
        if (e.cat == "kernel" || e.cat == "extern") CHECK(inside_some(e, "execute"));
        if (e.cat == "chunk" && inside_some(e, "kernel" + e.name.substr(5))) ++chunks_inside_kernel;
    }
    // Small kernels run in one chunk on the calling thread, inside their kernel span; the
    // workers' chunks are on their own rows.
    CHECK(chunks_inside_kernel >= 1);
    // At least one codegen span lies inside a compile on the compiling thread (the others may
    // run on pool workers).
    CHECK(std::any_of(events.begin(), events.end(), [&](const TraceEvent& e) {
        return e.cat == "codegen" && inside_some(e, "compile");
    }));

    // Threads are named.
    std::set<int64_t> named;
    for (const json& e : trace["traceEvents"])
        if (e["ph"] == "M" && e["name"] == "thread_name") named.insert(e["tid"].get<int64_t>());
    for (const TraceEvent& e : events) CHECK(named.count(e.tid) == 1);
    CHECK(trace.at("otherData").at("dropped_events") == 0);
}

TEST_CASE("stop() into a missing directory is an error naming the file; nothing is written",
          "[profiler]") {
    TempDir tmp;
    std::filesystem::path file = tmp.path / "no_such_dir" / "trace.json";
    profiler::start();
    Tensor t = (arange(5).to(kFloat32) * 3).sum();
    (void)t.item<float>();
    std::string message;
    try {
        profiler::stop(file);
    } catch (const Error& e) {
        message = e.what();
    }
    CHECK(message ==
          "profiler: cannot write the trace " + file.string() + ": No such file or directory");
    CHECK_FALSE(profiler::running());  // the session ended anyway
    CHECK(names_in(tmp.path).empty());
    // And the next session works.
    profiler::start();
    profiler::stop(tmp.path / "ok.json");
    CHECK(names_in(tmp.path) == std::set<std::string>{"ok.json"});
}

TEST_CASE("sessions one after another keep only their own events", "[profiler]") {
    TempDir tmp;
    profiler::start();
    Tensor a = kiln::exp(arange(23).to(kFloat32)).sum();
    (void)a.item<float>();
    // A second start while running, and a stop while stopped, are errors.
    try {
        profiler::start();
        FAIL("start() while running did not throw");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("profiler::start: the profiler is already running") == 0);
    }
    profiler::stop(tmp.path / "first.json");
    try {
        profiler::stop(tmp.path / "never.json");
        FAIL("stop() while stopped did not throw");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "profiler::stop: the profiler is not running (call kiln::profiler::start first)");
    }

    profiler::start();
    Tensor b = kiln::sin(arange(29).to(kFloat32)).sum();
    (void)b.item<float>();
    profiler::stop(tmp.path / "second.json");
    CHECK(names_in(tmp.path) == std::set<std::string>{"first.json", "second.json"});

    auto has_record = [](const std::vector<TraceEvent>& events, const char* name) {
        return std::any_of(events.begin(), events.end(),
                           [&](const TraceEvent& e) { return e.name == name; });
    };
    std::vector<TraceEvent> first = complete_events(read_json(tmp.path / "first.json"));
    std::vector<TraceEvent> second = complete_events(read_json(tmp.path / "second.json"));
    CHECK(has_record(first, "record exp"));
    CHECK_FALSE(has_record(first, "record sin"));
    CHECK(has_record(second, "record sin"));
    CHECK_FALSE(has_record(second, "record exp"));
    // Each session's clock starts at its start().
    double earliest = 1e300;
    for (const TraceEvent& e : second) earliest = std::min(earliest, e.ts);
    CHECK(earliest < 1e6);  // within a second of start()
}

TEST_CASE("with the profiler off nothing is recorded", "[profiler]") {
    REQUIRE_FALSE(profiler::running());
    size_t before = support::profiler::buffered_events();
    CHECK(before == 0);  // every session so far was collected by its stop()
    Tensor t = kiln::tanh(randn({31, 3}) * 2 + 1).sum();
    (void)t.item<float>();
    CHECK(support::profiler::buffered_events() == 0);

    // A session that starts afterwards sees none of it.
    TempDir tmp;
    profiler::start();
    profiler::stop(tmp.path / "empty.json");
    json trace = read_json(tmp.path / "empty.json");
    CHECK(complete_events(trace).empty());
}

TEST_CASE("events from several threads land on their own rows", "[profiler]") {
    TempDir tmp;
    profiler::start();
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
        threads.emplace_back([i] {
            Tensor t = (arange(41 + i).to(kFloat32) * 2).sum();
            (void)t.item<float>();
        });
    for (auto& th : threads) th.join();
    profiler::stop(tmp.path / "threads.json");
    std::vector<TraceEvent> events = complete_events(read_json(tmp.path / "threads.json"));
    std::set<int64_t> realize_threads;
    for (const TraceEvent& e : events)
        if (e.name == "realize") realize_threads.insert(e.tid);
    CHECK(realize_threads.size() == 3);
}
