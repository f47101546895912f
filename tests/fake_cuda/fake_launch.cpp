// cuLaunchKernel: everything the real driver (or the GPU, a moment later) would reject is checked
// before the kernel runs: the configuration against the kernel's launch bounds, dynamic shared
// memory and `extra` (Kiln uses neither), and every pointer argument against the live
// allocations. Launches run one at a time (modules keep their emulator state in globals).
#include <mutex>

#include "fake_cuda.h"

using namespace kiln_fake;
using CUfunction = Function*;
using CUstream = Stream*;

namespace {

std::mutex g_launch_mutex;

/// kIllegalAddress (with a message naming the parameter) when a pointer argument is neither null
/// nor inside a live allocation.
CUresult check_pointers(const Function& f, void** params) {
    const KernelInfo& k = f.info;
    for (size_t i = 0; i < k.param_types.size(); ++i) {
        if (k.param_types[i].find('*') == std::string::npos) continue;
        uint64_t p = *static_cast<const uint64_t*>(params[i]);
        if (p == 0 || inside_allocation(p, 1)) continue;
        report("cuLaunchKernel(" + k.name + "): parameter " + std::to_string(i) + " (" +
               k.param_types[i] + " " + k.param_names[i] + ") = " + describe_address(p) +
               " is not device memory");
        return kIllegalAddress;
    }
    return kSuccess;
}

}  // namespace

KILN_FAKE_API CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                      unsigned bx, unsigned by, unsigned bz, unsigned shared_bytes,
                                      CUstream stream, void** params, void** extra) {
    if (CUresult r = check_context()) return r;
    if (!live_function(f)) return kInvalidHandle;
    if (CUresult r = check_stream(stream)) return r;
    if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535 || gx > 2147483647u)
        return kInvalidValue;
    unsigned long long threads = 1ull * bx * by * bz;
    if (threads == 0 || threads > 1024 || by > 1024 || bz > 64 ||
        threads > static_cast<unsigned long long>(f->max_threads)) {
        report("cuLaunchKernel(" + f->info.name + "): block (" + std::to_string(bx) + ", " +
               std::to_string(by) + ", " + std::to_string(bz) + ") for a kernel of at most " +
               std::to_string(f->max_threads) + " threads");
        return kLaunchOutOfResources;
    }
    if (shared_bytes != 0 || extra != nullptr) return kInvalidValue;
    if (!params && !f->info.param_types.empty()) return kInvalidValue;
    if (CUresult r = check_pointers(*f, params)) return r;
    std::lock_guard<std::mutex> lock(g_launch_mutex);
    count_launch();
    return run_grid(*f, KilnFakeDim{gx, gy, gz}, KilnFakeDim{bx, by, bz}, params);
}
