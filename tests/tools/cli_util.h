#pragma once
// Running the `kiln` executable from tests: its path, the example files, and a helper that
// captures stdout, stderr and the exit status of one invocation.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace kiln_test {

/// The built `kiln` binary: KILN_CLI_PATH when the build defines it, else <build>/tools/kiln next
/// to this test binary's <build>/tests directory.
inline std::string kiln_path() {
#ifdef KILN_CLI_PATH
    return KILN_CLI_PATH;
#else
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    return (self.parent_path().parent_path() / "tools" / "kiln").string();
#endif
}

/// tools/examples in the source tree.
inline std::filesystem::path examples_dir() {
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "tools" /
           "examples";
}
inline std::string example(const std::string& name) { return (examples_dir() / name).string(); }

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::binary);
    f << text;
}

/// A fresh empty directory under the system temp dir, removed when the object dies.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("kiln_tools_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

/// Single-quotes `s` for /bin/sh.
inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'')
            q += "'\\''";
        else
            q += c;
    }
    return q + "'";
}

struct RunResult {
    int status = -1;  ///< exit code, or -1 when the process did not exit normally (a crash)
    std::string out, err;
};

/// Runs `kiln ARGS...` (each argument quoted) with stdin from `stdin_file` when given and the
/// environment variables `env` ("NAME=VALUE") set for it.
inline RunResult run_kiln(const std::vector<std::string>& args,
                          const std::string& stdin_file = "",
                          const std::vector<std::string>& env = {}) {
    static int counter = 0;
    std::filesystem::path err_file =
        std::filesystem::temp_directory_path() /
        ("kiln_cli_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::string cmd;
    if (!env.empty()) {
        cmd = "env";
        for (const std::string& e : env) cmd += " " + shell_quote(e);
        cmd += " ";
    }
    cmd += shell_quote(kiln_path());
    for (const std::string& a : args) cmd += " " + shell_quote(a);
    if (!stdin_file.empty()) cmd += " < " + shell_quote(stdin_file);
    cmd += " 2> " + shell_quote(err_file.string());
    RunResult r;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = read_text(err_file);
    std::filesystem::remove(err_file);
    return r;
}

/// `text` without its comment lines (lines starting with '#').
inline std::string strip_comments(const std::string& text) {
    std::istringstream in(text);
    std::string line, out;
    while (std::getline(in, line))
        if (line.empty() || line[0] != '#') out += line + "\n";
    return out;
}

}  // namespace kiln_test
