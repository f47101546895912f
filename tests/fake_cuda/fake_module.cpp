// Modules: the fake NVRTC's image (a marker line, then CUDA C) compiled on the host into a shared
// library with a launcher per kernel (fake_kernel_source.cpp, fake_compiler.cpp), loaded with
// dlopen. Functions belong to their module and die with it.
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <set>

#include "fake_cuda.h"

namespace kiln_fake {
namespace {

constexpr const char kMarker[] = "KILN-FAKE-CUDA-SOURCE\n";

std::mutex g_mutex;
std::set<Module*> g_modules;
std::set<Function*> g_functions;

bool live_module(Module* m) {
    std::lock_guard<std::mutex> lock(g_mutex);
    return m && g_modules.count(m);
}

}  // namespace

bool live_function(Function* f) {
    std::lock_guard<std::mutex> lock(g_mutex);
    return f && g_functions.count(f);
}

}  // namespace kiln_fake

using namespace kiln_fake;
using CUmodule = Module*;
using CUfunction = Function*;

KILN_FAKE_API CUresult cuModuleLoadData(CUmodule* module, const void* image) {
    if (CUresult r = check_context()) return r;
    if (!module || !image) return kInvalidValue;
    const char* bytes = static_cast<const char*>(image);
    if (std::strncmp(bytes, kMarker, sizeof kMarker - 1) != 0) {
        report("cuModuleLoadData: the image is not the fake NVRTC's output (it does not start "
               "with KILN-FAKE-CUDA-SOURCE); real PTX or CUBIN cannot run here");
        return kInvalidImage;
    }
    std::string source = bytes + sizeof kMarker - 1;
    std::vector<KernelInfo> kernels = find_kernels(source);
    std::string log;
    std::string text = module_text(source, kernels);
    std::string path = compile_module(text, log);
    if (path.empty()) {
        report("cuModuleLoadData: the module does not compile as host C++:\n" + log);
        return kInvalidPtx;
    }
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        // A cached library that does not load (truncated by a full disk, say) is built again.
        std::remove(path.c_str());
        path = compile_module(text, log);
        library = path.empty() ? nullptr : dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    }
    if (!library) {
        const char* why = dlerror();
        report("cuModuleLoadData: cannot load " + path + ": " + (why ? why : log));
        return kInvalidImage;
    }
    auto* state = static_cast<KilnFakeState*>(dlsym(library, "kiln_fake_state"));
    if (!state) {
        report("cuModuleLoadData: " + path + " lacks kiln_fake_state (not built by the fake)");
        dlclose(library);
        return kInvalidImage;
    }
    auto* m = new Module{library, state, needs_fibers(source), std::move(kernels), {}};
    std::lock_guard<std::mutex> lock(g_mutex);
    g_modules.insert(m);
    *module = m;
    return kSuccess;
}

KILN_FAKE_API CUresult cuModuleUnload(CUmodule module) {
    if (CUresult r = check_context()) return r;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (!module || !g_modules.erase(module)) return kInvalidHandle;
        for (Function* f : module->functions) {
            g_functions.erase(f);
            delete f;
        }
    }
    dlclose(module->library);
    delete module;
    return kSuccess;
}

KILN_FAKE_API CUresult cuModuleGetFunction(CUfunction* function, CUmodule module,
                                           const char* name) {
    if (CUresult r = check_context()) return r;
    if (!function || !name) return kInvalidValue;
    if (!live_module(module)) return kInvalidHandle;
    std::lock_guard<std::mutex> lock(g_mutex);
    for (Function* f : module->functions)
        if (f->info.name == name) {
            *function = f;
            return kSuccess;
        }
    const KernelInfo* info = nullptr;
    for (const KernelInfo& k : module->kernels)
        if (k.name == name) info = &k;
    if (!info) return kNotFound;
    std::string launch_name = std::string(name) + "__fake_launch";
    std::string bounds_name = std::string(name) + "__fake_bounds";
    auto launch = reinterpret_cast<void (*)(void**)>(dlsym(module->library, launch_name.c_str()));
    auto bounds = reinterpret_cast<int (*)()>(dlsym(module->library, bounds_name.c_str()));
    if (!launch || !bounds) return kNotFound;
    auto* f = new Function{module, *info, launch, bounds()};
    module->functions.push_back(f);
    g_functions.insert(f);
    *function = f;
    return kSuccess;
}
