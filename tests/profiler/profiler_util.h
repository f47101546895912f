#pragma once
// Helpers of the profiler and debug-switch tests: a temporary directory, reading files, running
// this test binary again as a child with some environment, and trace events parsed from JSON.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace kiln_test {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static int counter = 0;
        path =
            std::filesystem::temp_directory_path() /
            ("kiln_profiler_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::set<std::string> names_in(const std::filesystem::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        names.insert(entry.path().filename().string());
    return names;
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// Runs this test binary's hidden test case `tag` with `env` ("NAME=value ...", quoted by the
/// caller) in front, stderr to `stderr_file`; returns the exit status (-1: did not exit).
inline int run_child(const std::string& env, const std::string& tag,
                     const std::filesystem::path& stderr_file) {
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    std::string cmd = env + " " + shell_quote(self.string()) + " " + shell_quote(tag) +
                      " > /dev/null 2> " + shell_quote(stderr_file.string());
    int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/// A complete ("X") event of a trace.
struct TraceEvent {
    std::string name, cat;
    double ts = 0, dur = 0;
    int64_t pid = 0, tid = 0;
    nlohmann::json args;
    double end() const { return ts + dur; }
};

/// The complete events of a trace file; checks the fields every event must have.
inline std::vector<TraceEvent> complete_events(const nlohmann::json& trace) {
    std::vector<TraceEvent> out;
    for (const nlohmann::json& e : trace.at("traceEvents")) {
        if (e.at("ph") != "X") continue;
        TraceEvent t;
        t.name = e.at("name").get<std::string>();
        t.cat = e.at("cat").get<std::string>();
        t.ts = e.at("ts").get<double>();
        t.dur = e.at("dur").get<double>();
        t.pid = e.at("pid").get<int64_t>();
        t.tid = e.at("tid").get<int64_t>();
        t.args = e.at("args");
        out.push_back(std::move(t));
    }
    return out;
}

/// `inner` lies within `outer` on the same thread (timestamps are rounded to nanoseconds).
inline bool within(const TraceEvent& inner, const TraceEvent& outer) {
    constexpr double eps = 0.002;
    return inner.tid == outer.tid && inner.ts >= outer.ts - eps && inner.end() <= outer.end() + eps;
}

}  // namespace kiln_test
