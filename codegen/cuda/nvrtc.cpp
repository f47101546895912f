// NVRTC through dlopen. The few entry points Kiln calls are declared here with NVRTC's C ABI
// (nvrtcResult is a C enum, an int; nvrtcProgram an opaque pointer), so the build needs no CUDA
// header and the library is only required when a CUDA kernel is compiled.
#include "codegen/cuda/nvrtc.h"

#include <dlfcn.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "kiln/error.h"
#include "support/shared_library.h"

namespace kiln::codegen {
namespace {

using nvrtcResult = int;  // NVRTC_SUCCESS = 0
struct NvrtcProgramImpl;
using nvrtcProgram = NvrtcProgramImpl*;

constexpr const char* kCandidates[] = {
    "libnvrtc.so.13",
    "libnvrtc.so.12",
    "libnvrtc.so",
    "/usr/local/cuda/lib64/libnvrtc.so.13",
    "/usr/local/cuda/lib64/libnvrtc.so",
};

struct Api {
    void* lib = nullptr;
    std::string path;   ///< the library that was loaded
    std::string error;  ///< why none could be loaded
    const char* (*GetErrorString)(nvrtcResult) = nullptr;
    nvrtcResult (*Version)(int*, int*) = nullptr;
    nvrtcResult (*CreateProgram)(nvrtcProgram*, const char*, const char*, int, const char* const*,
                                 const char* const*) = nullptr;
    nvrtcResult (*DestroyProgram)(nvrtcProgram*) = nullptr;
    nvrtcResult (*CompileProgram)(nvrtcProgram, int, const char* const*) = nullptr;
    nvrtcResult (*GetProgramLogSize)(nvrtcProgram, size_t*) = nullptr;
    nvrtcResult (*GetProgramLog)(nvrtcProgram, char*) = nullptr;
    nvrtcResult (*GetPTXSize)(nvrtcProgram, size_t*) = nullptr;
    nvrtcResult (*GetPTX)(nvrtcProgram, char*) = nullptr;
    nvrtcResult (*GetCUBINSize)(nvrtcProgram, size_t*) = nullptr;
    nvrtcResult (*GetCUBIN)(nvrtcProgram, char*) = nullptr;
};

/// Resolves every entry point of `lib` into `a`; "" or which are missing.
std::string bind(Api& a, void* lib) {
    support::Symbols sym(lib);
    sym.bind(a.GetErrorString, "nvrtcGetErrorString");
    sym.bind(a.Version, "nvrtcVersion");
    sym.bind(a.CreateProgram, "nvrtcCreateProgram");
    sym.bind(a.DestroyProgram, "nvrtcDestroyProgram");
    sym.bind(a.CompileProgram, "nvrtcCompileProgram");
    sym.bind(a.GetProgramLogSize, "nvrtcGetProgramLogSize");
    sym.bind(a.GetProgramLog, "nvrtcGetProgramLog");
    sym.bind(a.GetPTXSize, "nvrtcGetPTXSize");
    sym.bind(a.GetPTX, "nvrtcGetPTX");
    sym.bind(a.GetCUBINSize, "nvrtcGetCUBINSize");
    sym.bind(a.GetCUBIN, "nvrtcGetCUBIN");
    return sym.missing().empty() ? "" : "no symbol " + sym.missing();
}

Api load() {
    Api a;
    support::SharedLibrary lib = support::load_shared_library(
        "KILN_NVRTC_LIBRARY", {std::begin(kCandidates), std::end(kCandidates)},
        [&](void* handle) { return bind(a, handle); });
    if (lib.handle) {
        a.lib = lib.handle;
        a.path = lib.path;
        return a;
    }
    a = Api{};
    a.error = "NVRTC (the CUDA runtime compiler, libnvrtc) is not available; tried:" + lib.tried +
              "\nInstall the CUDA toolkit (12 or 13) or put libnvrtc.so on the library path.";
    return a;
}

const Api& api() {
    static const Api a = load();  // thread-safe, once
    return a;
}

const Api& require() {
    const Api& a = api();
    if (!a.lib) throw Error(a.error);
    return a;
}

std::string numbered(const std::string& source) {
    std::istringstream in(source);
    std::string line, out;
    for (int n = 1; std::getline(in, line); ++n) out += fmt::format("{:5} | {}\n", n, line);
    return out;
}

/// A compiled program, destroyed on scope exit.
struct Program {
    const Api& a;
    nvrtcProgram prog = nullptr;
    ~Program() {
        if (prog) a.DestroyProgram(&prog);
    }
    void check(nvrtcResult r, const char* what, const std::string& name) const {
        if (r != 0)
            throw InternalError(fmt::format("cuda codegen: {} failed for '{}': {}", what, name,
                                            a.GetErrorString(r)));
    }
};

/// Compiles `source`; the program is left in `p` for the caller to fetch PTX or CUBIN from.
void compile(Program& p, const std::string& source, const std::string& name,
             const std::string& arch, const std::vector<std::string>& options) {
    const Api& a = p.a;
    std::string file = name + ".cu";
    p.check(a.CreateProgram(&p.prog, source.c_str(), file.c_str(), 0, nullptr, nullptr),
            "nvrtcCreateProgram", name);
    std::vector<std::string> opts{"--gpu-architecture=" + arch, "--std=c++17"};
    // Kiln's kernels include nothing; a hand-written source asking for cuda_fp16.h and the
    // like gets the toolkit's headers.
    if (source.find("#include") != std::string::npos) {
        std::string dir = nvrtc_include_dir();
        if (!dir.empty()) opts.push_back("--include-path=" + dir);
    }
    opts.insert(opts.end(), options.begin(), options.end());
    std::vector<const char*> argv;
    for (const std::string& o : opts) argv.push_back(o.c_str());
    nvrtcResult r = a.CompileProgram(p.prog, static_cast<int>(argv.size()), argv.data());
    if (r == 0) return;
    size_t log_size = 0;
    std::string log;
    if (a.GetProgramLogSize(p.prog, &log_size) == 0 && log_size > 1) {
        log.resize(log_size);
        if (a.GetProgramLog(p.prog, log.data()) != 0) log.clear();
        while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    }
    std::string flags;
    for (const std::string& o : opts) flags += " " + o;
    throw InternalError(fmt::format(
        "cuda codegen: NVRTC {} could not compile '{}' ({}; flags:{}):\n{}\n--- source ---\n{}",
        nvrtc_version(), name, a.GetErrorString(r), flags, log.empty() ? "(no log)" : log,
        numbered(source)));
}

}  // namespace

bool nvrtc_available() { return api().lib != nullptr; }

std::string nvrtc_unavailable_reason() { return api().error; }

std::string nvrtc_version() {
    const Api& a = require();
    int major = 0, minor = 0;
    if (a.Version(&major, &minor) != 0) return "unknown";
    return fmt::format("{}.{}", major, minor);
}

std::string nvrtc_include_dir() {
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates;
    const Api& a = api();
    Dl_info info{};
    if (a.lib && dladdr(reinterpret_cast<void*>(a.Version), &info) && info.dli_fname) {
        // .../lib64/libnvrtc.so.13 or .../targets/x86_64-linux/lib/libnvrtc.so.13
        fs::path dir = fs::path(info.dli_fname).parent_path();
        candidates.push_back(dir.parent_path() / "include");
        candidates.push_back(dir.parent_path().parent_path().parent_path() / "include");
    }
    candidates.emplace_back("/usr/local/cuda/include");
    std::error_code ec;
    for (const fs::path& dir : candidates)
        if (fs::exists(dir / "cuda_fp16.h", ec)) return fs::weakly_canonical(dir, ec).string();
    return "";
}

std::string compile_ptx(const std::string& source, const std::string& name, const std::string& arch,
                        const std::vector<std::string>& options) {
    Program p{require()};
    compile(p, source, name, arch, options);
    size_t size = 0;
    p.check(p.a.GetPTXSize(p.prog, &size), "nvrtcGetPTXSize", name);
    std::string ptx(size, '\0');
    p.check(p.a.GetPTX(p.prog, ptx.data()), "nvrtcGetPTX", name);
    while (!ptx.empty() && ptx.back() == '\0') ptx.pop_back();  // the size counts the NUL
    return ptx;
}

std::vector<char> compile_cubin(const std::string& source, const std::string& name,
                                const std::string& arch, const std::vector<std::string>& options) {
    if (arch.rfind("sm_", 0) != 0)
        throw ValueError("compile_cubin: '" + arch + "' is not a real architecture (sm_XX)");
    Program p{require()};
    compile(p, source, name, arch, options);
    size_t size = 0;
    p.check(p.a.GetCUBINSize(p.prog, &size), "nvrtcGetCUBINSize", name);
    // NVRTC reports success with size 0 when it made no CUBIN (a virtual architecture).
    if (size == 0) throw InternalError("cuda codegen: NVRTC produced no CUBIN for '" + name + "'");
    std::vector<char> cubin(size);
    p.check(p.a.GetCUBIN(p.prog, cubin.data()), "nvrtcGetCUBIN", name);
    return cubin;
}

}  // namespace kiln::codegen
