#pragma once
/// Internals of the fake CUDA driver (libkiln_fake_cuda.so), shared by its files: the C ABI types
/// (declared here, never taken from cuda.h, so no toolkit is needed), result codes, the
/// initialization / current-context checks every entry point starts with, and the registry of
/// live objects (allocations, streams, events, modules) that makes the fake as strict as the
/// real driver about what it is handed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#define KILN_FAKE_CUDA_ABI_ONLY
#include "cuda_emulation.h"
#undef KILN_FAKE_CUDA_ABI_ONLY

/// Declares an exported entry point (the libraries build with hidden visibility).
#define KILN_FAKE_API extern "C" __attribute__((visibility("default")))

namespace kiln_fake {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;

struct Context;
struct Stream;
struct Event;
struct Module;
struct Function;

/// The driver's result codes the fake returns.
enum : CUresult {
    kSuccess = 0,
    kInvalidValue = 1,
    kOutOfMemory = 2,
    kNotInitialized = 3,
    kNoDevice = 100,
    kInvalidDevice = 101,
    kInvalidImage = 200,
    kInvalidContext = 201,
    kInvalidPtx = 218,
    kInvalidHandle = 400,
    kNotFound = 500,
    kNotReady = 600,
    kIllegalAddress = 700,
    kLaunchOutOfResources = 701,
    kLaunchFailed = 719,
};

/// Devices the fake reports: 1, or $KILN_FAKE_CUDA_DEVICES.
int device_count();
/// The memory every device reports: 16 GiB, or $KILN_FAKE_CUDA_MEMORY bytes (read by cuInit), so
/// tests can run out of it cheaply. Allocations beyond it fail with out-of-memory.
size_t total_memory();

/// kNotInitialized before a successful cuInit(0), else kSuccess.
CUresult check_init();
/// check_init(), then kInvalidContext unless this thread has a current, retained context.
CUresult check_context();
/// kSuccess for the null stream or a live one, else kInvalidHandle.
CUresult check_stream(Stream* stream);

/// True when [address, address + bytes) lies inside one live allocation (bytes >= 1).
bool inside_allocation(uint64_t address, size_t bytes);
/// "0x... (N bytes into a B-byte allocation)" or "0x... (no live allocation)", for messages.
std::string describe_address(uint64_t address);

/// One `extern "C" __global__` kernel of a module's source.
struct KernelInfo {
    std::string name;
    /// __launch_bounds__'s first argument as C text ("" when absent).
    std::string launch_bounds;
    /// Parameter types (without __restrict__), e.g. "const float*", "long long".
    std::vector<std::string> param_types;
    std::vector<std::string> param_names;
};

/// The kernels defined in CUDA C `source` (comments are skipped).
std::vector<KernelInfo> find_kernels(const std::string& source);

/// True when `source` (comments skipped) uses block barriers or warp operations, i.e. its
/// threads must run as fibers rather than one after another.
bool needs_fibers(const std::string& source);

/// The C++ the fake compiles for a module: the source, then per kernel `NAME__fake_launch(void**)`
/// (calls NAME with *(T*)params[i]) and `NAME__fake_bounds()` (the launch bounds, or 1024).
std::string module_text(const std::string& source, const std::vector<KernelInfo>& kernels);

/// Compiles `text` (with cuda_emulation.h force-included) into a shared library in the cache
/// directory, or finds it there; returns its path, or "" with the compiler's output in `log`.
std::string compile_module(const std::string& text, std::string& log);

/// A loaded kernel: the module's launcher and what cuLaunchKernel checks against.
struct Function {
    Module* module = nullptr;
    KernelInfo info;
    void (*launch)(void** params) = nullptr;
    int max_threads = 1024;
};

/// A loaded module: the dlopen'ed library, its emulator state and its kernels.
struct Module {
    void* library = nullptr;
    KilnFakeState* state = nullptr;
    bool fibers = false;
    std::vector<KernelInfo> kernels;
    std::vector<Function*> functions;  ///< owned; looked up by name
};

/// True for a function of a module that is still loaded.
bool live_function(Function* f);

/// Runs every block of a launch (the checks are done). Returns kSuccess, or kLaunchFailed after
/// printing why (a barrier no thread can pass, __trap()).
CUresult run_grid(Function& f, KilnFakeDim grid, KilnFakeDim block, void** params);

/// Counts a launch for kiln_fake_cuda_counters().
void count_launch();

/// Prints "kiln fake CUDA: MESSAGE" on stderr.
void report(const std::string& message);

}  // namespace kiln_fake
