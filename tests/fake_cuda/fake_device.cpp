// The fake driver's initialization, devices, primary contexts and error texts. Contexts are
// current per thread, as in CUDA; memory, stream, module and launch calls check for one.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "fake_cuda.h"

namespace kiln_fake {
namespace {

/// The most devices $KILN_FAKE_CUDA_DEVICES may ask for.
constexpr int kMaxDevices = 16;

/// A device's primary context: retained and released, current on any number of threads.
struct PrimaryContext {
    int device = 0;
    int retained = 0;
};

std::atomic<bool> g_initialized{false};
std::atomic<int> g_devices{1};
std::atomic<size_t> g_memory{size_t{16} << 30};
std::mutex g_context_mutex;
PrimaryContext g_contexts[kMaxDevices];
thread_local PrimaryContext* t_current = nullptr;

PrimaryContext* as_context(void* handle) {
    for (PrimaryContext& c : g_contexts)
        if (handle == &c) return &c;
    return nullptr;
}

struct ErrorText {
    CUresult code;
    const char* name;
    const char* text;
};

constexpr ErrorText kErrors[] = {
    {kSuccess, "CUDA_SUCCESS", "no error"},
    {kInvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {kNotInitialized, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {kNoDevice, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {kInvalidDevice, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {kInvalidImage, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {kInvalidContext, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {kInvalidPtx, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {kInvalidHandle, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {kNotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {kNotReady, "CUDA_ERROR_NOT_READY", "device not ready"},
    {kIllegalAddress, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {kLaunchOutOfResources, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
     "too many resources requested for launch"},
    {kLaunchFailed, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
};

const ErrorText* find_error(CUresult code) {
    for (const ErrorText& e : kErrors)
        if (e.code == code) return &e;
    return nullptr;
}

/// $KILN_FAKE_CUDA_DEVICES (0..16), else 1.
int devices_from_environment() {
    const char* s = std::getenv("KILN_FAKE_CUDA_DEVICES");
    if (!s || !*s) return 1;
    char* end = nullptr;
    long n = std::strtol(s, &end, 10);
    if (*end != '\0' || n < 0 || n > kMaxDevices) {
        report(std::string("ignoring KILN_FAKE_CUDA_DEVICES=") + s + " (want 0.." +
               std::to_string(kMaxDevices) + ")");
        return 1;
    }
    return static_cast<int>(n);
}

/// $KILN_FAKE_CUDA_MEMORY (bytes, at least 1 MiB), else 16 GiB.
size_t memory_from_environment() {
    const size_t fallback = size_t{16} << 30;
    const char* s = std::getenv("KILN_FAKE_CUDA_MEMORY");
    if (!s || !*s) return fallback;
    char* end = nullptr;
    unsigned long long n = std::strtoull(s, &end, 10);
    if (*end != '\0' || n < (1u << 20)) {
        report(std::string("ignoring KILN_FAKE_CUDA_MEMORY=") + s + " (want bytes, >= 1 MiB)");
        return fallback;
    }
    return static_cast<size_t>(n);
}

bool valid_device(CUdevice d) { return d >= 0 && d < device_count(); }

}  // namespace

int device_count() { return g_devices.load(); }

size_t total_memory() { return g_memory.load(); }

CUresult check_init() { return g_initialized.load() ? kSuccess : kNotInitialized; }

CUresult check_context() {
    if (CUresult r = check_init()) return r;
    std::lock_guard<std::mutex> lock(g_context_mutex);
    return t_current && t_current->retained > 0 ? kSuccess : kInvalidContext;
}

void report(const std::string& message) {
    std::fprintf(stderr, "kiln fake CUDA: %s\n", message.c_str());
    std::fflush(stderr);
}

}  // namespace kiln_fake

using namespace kiln_fake;

// The driver's handle types as this file sees them (opaque pointers in the C ABI).
using CUcontext = void*;

KILN_FAKE_API CUresult cuInit(unsigned flags) {
    if (flags != 0) return kInvalidValue;
    int n = devices_from_environment();
    g_devices = n;
    if (n == 0) return kNoDevice;
    if (!g_initialized) g_memory = memory_from_environment();  // fixed once memory is in use
    g_initialized = true;
    return kSuccess;
}

/// Allowed before cuInit, as in the real driver (Kiln reads it first).
KILN_FAKE_API CUresult cuDriverGetVersion(int* version) {
    if (!version) return kInvalidValue;
    *version = 13000;
    return kSuccess;
}

KILN_FAKE_API CUresult cuDeviceGetCount(int* count) {
    if (CUresult r = check_init()) return r;
    if (!count) return kInvalidValue;
    *count = device_count();
    return kSuccess;
}

KILN_FAKE_API CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    if (CUresult r = check_init()) return r;
    if (!device) return kInvalidValue;
    if (!valid_device(ordinal)) return kInvalidDevice;
    *device = ordinal;
    return kSuccess;
}

KILN_FAKE_API CUresult cuDeviceGetName(char* name, int len, CUdevice device) {
    if (CUresult r = check_init()) return r;
    if (!name || len <= 0) return kInvalidValue;
    if (!valid_device(device)) return kInvalidDevice;
    std::snprintf(name, static_cast<size_t>(len), "%s", "Kiln fake CUDA device (CPU emulation)");
    return kSuccess;
}

KILN_FAKE_API CUresult cuDeviceGetAttribute(int* value, int attribute, CUdevice device) {
    if (CUresult r = check_init()) return r;
    if (!value || attribute < 1 || attribute > 200) return kInvalidValue;
    if (!valid_device(device)) return kInvalidDevice;
    switch (attribute) {
    case 1: *value = 1024; break;  // MAX_THREADS_PER_BLOCK
    case 2:
    case 3: *value = 1024; break;        // MAX_BLOCK_DIM_X, _Y
    case 4: *value = 64; break;          // MAX_BLOCK_DIM_Z
    case 5: *value = 2147483647; break;  // MAX_GRID_DIM_X
    case 6:
    case 7: *value = 65535; break;      // MAX_GRID_DIM_Y, _Z
    case 8: *value = 48 * 1024; break;  // MAX_SHARED_MEMORY_PER_BLOCK
    case 10: *value = 32; break;        // WARP_SIZE
    case 16: *value = 4; break;         // MULTIPROCESSOR_COUNT
    case 75: *value = 9; break;         // COMPUTE_CAPABILITY_MAJOR
    case 76: *value = 0; break;         // COMPUTE_CAPABILITY_MINOR
    default: *value = 0; break;
    }
    return kSuccess;
}

KILN_FAKE_API CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice device) {
    if (CUresult r = check_init()) return r;
    if (!bytes) return kInvalidValue;
    if (!valid_device(device)) return kInvalidDevice;
    *bytes = total_memory();
    return kSuccess;
}

KILN_FAKE_API CUresult cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice device) {
    if (CUresult r = check_init()) return r;
    if (!context) return kInvalidValue;
    if (!valid_device(device)) return kInvalidDevice;
    std::lock_guard<std::mutex> lock(g_context_mutex);
    PrimaryContext& c = g_contexts[device];
    c.device = device;
    ++c.retained;
    *context = &c;
    return kSuccess;
}

/// Releasing more often than retained is an error. A context released to zero stays current
/// where it was, but calls that need a context then fail, as after the real driver resets it.
KILN_FAKE_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) {
    if (CUresult r = check_init()) return r;
    if (!valid_device(device)) return kInvalidDevice;
    std::lock_guard<std::mutex> lock(g_context_mutex);
    PrimaryContext& c = g_contexts[device];
    if (c.retained == 0) return kInvalidContext;
    --c.retained;
    return kSuccess;
}

KILN_FAKE_API CUresult cuCtxSetCurrent(CUcontext context) {
    if (CUresult r = check_init()) return r;
    if (!context) {
        t_current = nullptr;
        return kSuccess;
    }
    PrimaryContext* c = as_context(context);
    if (!c || !valid_device(c->device)) return kInvalidContext;
    t_current = c;
    return kSuccess;
}

KILN_FAKE_API CUresult cuCtxGetCurrent(CUcontext* context) {
    if (CUresult r = check_init()) return r;
    if (!context) return kInvalidValue;
    *context = t_current;
    return kSuccess;
}

/// Works before cuInit, as in the real driver; unknown codes are CUDA_ERROR_INVALID_VALUE.
KILN_FAKE_API CUresult cuGetErrorName(CUresult error, const char** name) {
    if (!name) return kInvalidValue;
    const ErrorText* e = find_error(error);
    *name = e ? e->name : nullptr;
    return e ? kSuccess : kInvalidValue;
}

KILN_FAKE_API CUresult cuGetErrorString(CUresult error, const char** text) {
    if (!text) return kInvalidValue;
    const ErrorText* e = find_error(error);
    *text = e ? e->text : nullptr;
    return e ? kSuccess : kInvalidValue;
}
