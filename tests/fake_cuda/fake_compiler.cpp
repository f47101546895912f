// Building a module's text into a shared library with the host C++ compiler, cached on disk by a
// hash of everything that goes into it (compiler, flags, the emulation header, the text). Several
// processes may build the same module at once: each writes under a private temporary name and
// renames the result into place, which is atomic, so readers see a whole library or none.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "fake_cuda.h"

extern char** environ;

namespace kiln_fake {
namespace {

const char* const kFlags[] = {"-std=c++17", "-O1", "-fPIC", "-shared", "-w"};
/// After the source: the emulation header declares libm's functions.
const char* const kLibraries[] = {"-lm"};

/// The compiler: $KILN_FAKE_CUDA_CXX, else the one Kiln was built with.
std::string compiler() {
    const char* env = std::getenv("KILN_FAKE_CUDA_CXX");
    return env && *env ? env : KILN_FAKE_CUDA_CXX;
}

/// $KILN_FAKE_CUDA_CACHE, else /tmp/kiln-fake-cuda-<uid>; created if missing.
std::string cache_dir() {
    const char* env = std::getenv("KILN_FAKE_CUDA_CACHE");
    std::string dir = env && *env ? env : "/tmp/kiln-fake-cuda-" + std::to_string(getuid());
    // mkdir -p, one level at a time.
    for (size_t i = 1; i <= dir.size(); ++i)
        if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0755);
    return dir;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// The emulation header's text (read once; it is part of the cache key).
const std::string& header_text() {
    static const std::string text = read_file(KILN_FAKE_CUDA_HEADER);
    return text;
}

/// FNV-1a, 64 bits, as 16 hex digits.
std::string hash_hex(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

bool exists(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

/// Runs argv with stdout and stderr into `log_path`; true when it exits with status 0.
bool run(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        std::ofstream(log_path) << "cannot run " << args[0] << ": " << std::strerror(err) << "\n";
        return false;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::string compile_module(const std::string& text, std::string& log) {
    std::string cxx = compiler();
    std::string key = cxx;
    for (const char* f : kFlags) key += std::string("\n") + f;
    for (const char* l : kLibraries) key += std::string("\n") + l;
    key += "\n" + header_text() + "\n" + text;
    std::string dir = cache_dir(), base = dir + "/" + hash_hex(key);
    std::string library = base + ".so";
    if (exists(library)) return library;

    static std::atomic<unsigned> counter{0};
    std::string tmp = base + ".tmp" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    {
        std::ofstream out(tmp + ".cpp", std::ios::binary);
        out << text;
        if (!out) {
            log = "cannot write " + tmp + ".cpp";
            return "";
        }
    }
    std::vector<std::string> args{cxx};
    args.insert(args.end(), std::begin(kFlags), std::end(kFlags));
    args.insert(args.end(), {"-include", KILN_FAKE_CUDA_HEADER, "-o", tmp + ".so", tmp + ".cpp"});
    args.insert(args.end(), std::begin(kLibraries), std::end(kLibraries));
    bool ok = run(args, tmp + ".log");
    log = read_file(tmp + ".log");
    std::remove((tmp + ".log").c_str());
    if (!ok) {
        // The source stays for reading (the log names the temporary file).
        std::rename((tmp + ".cpp").c_str(), (base + ".failed.cpp").c_str());
        std::remove((tmp + ".so").c_str());
        if (log.empty()) log = cxx + " failed without output";
        log += "(the source is kept as " + base + ".failed.cpp)\n";
        return "";
    }
    // The source stays next to the library, for reading what was compiled.
    std::rename((tmp + ".cpp").c_str(), (base + ".cpp").c_str());
    if (std::rename((tmp + ".so").c_str(), library.c_str()) != 0) {
        log = "cannot rename " + tmp + ".so to " + library + ": " + std::strerror(errno);
        std::remove((tmp + ".so").c_str());
        return "";
    }
    return library;
}

}  // namespace kiln_fake
