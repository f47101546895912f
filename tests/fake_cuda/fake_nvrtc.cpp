// A fake NVRTC (libkiln_fake_nvrtc.so): compiling always succeeds, and the "PTX" or "CUBIN" is the
// source itself behind a marker line, which the fake driver (libkiln_fake_cuda.so) compiles for
// the host when the module is loaded. Its version, 0.1, is deliberately no real NVRTC's, so caches
// keyed by the NVRTC version never mix fake and real output.
#include <cstring>
#include <string>
#include <vector>

#define KILN_FAKE_API extern "C" __attribute__((visibility("default")))

namespace {

using nvrtcResult = int;

enum : nvrtcResult {
    kSuccess = 0,
    kInvalidInput = 3,
    kInvalidProgram = 4,
};

constexpr const char kMarker[] = "KILN-FAKE-CUDA-SOURCE\n";

struct Program {
    std::string source, name;
    std::vector<std::string> options;
    bool compiled = false;
    /// The image (marker + source + NUL), once compiled.
    std::string image;
    /// Real NVRTC makes no CUBIN for a virtual architecture (compute_XX).
    bool cubin = true;
};

/// The architecture named by --gpu-architecture=ARCH, -arch=ARCH or -arch ARCH ("" if none).
std::string architecture(const std::vector<std::string>& options) {
    for (size_t i = 0; i < options.size(); ++i) {
        const std::string& o = options[i];
        for (const char* prefix :
             {"--gpu-architecture=", "-arch=", "--gpu-architecture", "-arch"}) {
            size_t n = std::strlen(prefix);
            if (o.compare(0, n, prefix) != 0) continue;
            if (o.size() > n && prefix[n - 1] == '=') return o.substr(n);
            if (o.size() == n && i + 1 < options.size()) return options[i + 1];
        }
    }
    return "";
}

Program* compiled(void* p) {
    auto* prog = static_cast<Program*>(p);
    return prog && prog->compiled ? prog : nullptr;
}

}  // namespace

using nvrtcProgram = Program*;

KILN_FAKE_API const char* nvrtcGetErrorString(nvrtcResult r) {
    switch (r) {
    case 0: return "NVRTC_SUCCESS";
    case 1: return "NVRTC_ERROR_OUT_OF_MEMORY";
    case 2: return "NVRTC_ERROR_PROGRAM_CREATION_FAILURE";
    case 3: return "NVRTC_ERROR_INVALID_INPUT";
    case 4: return "NVRTC_ERROR_INVALID_PROGRAM";
    case 5: return "NVRTC_ERROR_INVALID_OPTION";
    case 6: return "NVRTC_ERROR_COMPILATION";
    default: return "NVRTC_ERROR unknown";
    }
}

KILN_FAKE_API nvrtcResult nvrtcVersion(int* major, int* minor) {
    if (!major || !minor) return kInvalidInput;
    *major = 0;
    *minor = 1;
    return kSuccess;
}

KILN_FAKE_API nvrtcResult nvrtcCreateProgram(nvrtcProgram* prog, const char* src, const char* name,
                                             int num_headers, const char* const* headers,
                                             const char* const* include_names) {
    if (!prog || !src || num_headers < 0 || (num_headers > 0 && (!headers || !include_names)))
        return kInvalidInput;
    *prog = new Program{src, name ? name : "default_program", {}, false, {}, true};
    return kSuccess;
}

KILN_FAKE_API nvrtcResult nvrtcDestroyProgram(nvrtcProgram* prog) {
    if (!prog || !*prog) return kInvalidProgram;
    delete *prog;
    *prog = nullptr;
    return kSuccess;
}

KILN_FAKE_API nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int num_options,
                                              const char* const* options) {
    if (!prog) return kInvalidProgram;
    if (num_options < 0 || (num_options > 0 && !options)) return kInvalidInput;
    prog->options.assign(options, options + num_options);
    prog->image = kMarker + prog->source;
    prog->image.push_back('\0');
    prog->cubin = architecture(prog->options).rfind("compute_", 0) != 0;
    prog->compiled = true;
    return kSuccess;
}

/// The log is always empty: a NUL alone.
KILN_FAKE_API nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t* size) {
    if (!prog) return kInvalidProgram;
    if (!size) return kInvalidInput;
    *size = 1;
    return kSuccess;
}

KILN_FAKE_API nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char* log) {
    if (!prog) return kInvalidProgram;
    if (!log) return kInvalidInput;
    log[0] = '\0';
    return kSuccess;
}

/// Before nvrtcCompileProgram there is no output: NVRTC_ERROR_INVALID_PROGRAM.
KILN_FAKE_API nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t* size) {
    Program* p = compiled(prog);
    if (!p) return kInvalidProgram;
    if (!size) return kInvalidInput;
    *size = p->image.size();
    return kSuccess;
}

KILN_FAKE_API nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char* ptx) {
    Program* p = compiled(prog);
    if (!p) return kInvalidProgram;
    if (!ptx) return kInvalidInput;
    std::memcpy(ptx, p->image.data(), p->image.size());
    return kSuccess;
}

/// Size 0 for a virtual architecture, as real NVRTC reports.
KILN_FAKE_API nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t* size) {
    Program* p = compiled(prog);
    if (!p) return kInvalidProgram;
    if (!size) return kInvalidInput;
    *size = p->cubin ? p->image.size() : 0;
    return kSuccess;
}

KILN_FAKE_API nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char* cubin) {
    Program* p = compiled(prog);
    if (!p) return kInvalidProgram;
    if (!cubin) return kInvalidInput;
    if (p->cubin) std::memcpy(cubin, p->image.data(), p->image.size());
    return kSuccess;
}
