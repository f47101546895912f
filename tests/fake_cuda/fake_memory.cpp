// Fake device memory (host memory, 256-byte aligned, CUdeviceptr = the address), copies, memsets,
// streams and events. Every operation completes before the call returns, so streams only need to
// exist; what is checked is what the real driver would reject: device ranges outside one live
// allocation, unknown pointers and handles, and calls without a current context.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "fake_cuda.h"
#include "fake_cuda_hooks.h"

namespace kiln_fake {

struct Stream {
    unsigned flags = 0;
};

struct Event {
    unsigned flags = 0;
    bool recorded = false;
    std::chrono::steady_clock::time_point when;
};

namespace {

constexpr size_t kAlignment = 256;
/// New allocations are filled with this byte (floats read as NaN, integers as -1), so a kernel
/// that reads memory nobody wrote shows it instead of finding zeros. Only the first kPoisonBytes:
/// a huge allocation that is never written should not cost host memory.
constexpr int kPoison = 0xff;
constexpr size_t kPoisonBytes = size_t{64} << 20;

std::mutex g_mutex;
std::map<uint64_t, size_t> g_allocations;  // base address -> bytes asked for
std::set<Stream*> g_streams;
std::set<Event*> g_events;
size_t g_reserved = 0;  // bytes held, rounded up to the alignment

std::atomic<long long> g_allocs{0}, g_frees{0}, g_launches{0}, g_in_use{0};

/// The allocation containing `address`, or end().
std::map<uint64_t, size_t>::const_iterator find_allocation(uint64_t address) {
    auto it = g_allocations.upper_bound(address);
    if (it == g_allocations.begin()) return g_allocations.end();
    --it;
    return address - it->first < it->second ? it : g_allocations.end();
}

bool inside_locked(uint64_t address, size_t bytes) {
    auto it = find_allocation(address);
    return it != g_allocations.end() && bytes <= it->second - (address - it->first);
}

/// The checks shared by copies and memsets: context, stream, and the device range.
CUresult check_transfer(CUdeviceptr device, size_t bytes, Stream* stream) {
    if (CUresult r = check_context()) return r;
    if (CUresult r = check_stream(stream)) return r;
    if (bytes > 0 && !inside_allocation(device, bytes)) return kInvalidValue;
    return kSuccess;
}

/// A "host" pointer that is fake device memory: on a GPU the copy would read or write whatever
/// the device address means on the host, so it is refused (CUDA_ERROR_INVALID_VALUE) with a
/// message.
bool device_memory_as_host(const void* host, const char* call) {
    auto address = reinterpret_cast<uint64_t>(host);
    if (!inside_allocation(address, 1)) return false;
    report(std::string(call) + ": the host pointer " + describe_address(address) +
           " is device memory");
    return true;
}

bool valid_event(Event* e) {
    std::lock_guard<std::mutex> lock(g_mutex);
    return e && g_events.count(e);
}

}  // namespace

bool inside_allocation(uint64_t address, size_t bytes) {
    if (bytes == 0) return false;
    std::lock_guard<std::mutex> lock(g_mutex);
    return inside_locked(address, bytes);
}

std::string describe_address(uint64_t address) {
    char buf[128];
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = find_allocation(address);
    if (it == g_allocations.end())
        std::snprintf(buf, sizeof buf, "0x%llx (no live allocation)",
                      static_cast<unsigned long long>(address));
    else
        std::snprintf(buf, sizeof buf, "0x%llx (%llu bytes into a %zu-byte allocation)",
                      static_cast<unsigned long long>(address),
                      static_cast<unsigned long long>(address - it->first), it->second);
    return buf;
}

CUresult check_stream(Stream* stream) {
    if (!stream) return kSuccess;
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_streams.count(stream) ? kSuccess : kInvalidHandle;
}

void count_launch() { ++g_launches; }

}  // namespace kiln_fake

using namespace kiln_fake;
using CUstream = Stream*;
using CUevent = Event*;

KILN_FAKE_API CUresult cuMemAlloc_v2(CUdeviceptr* ptr, size_t bytes) {
    if (CUresult r = check_context()) return r;
    if (!ptr || bytes == 0) return kInvalidValue;
    size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded < bytes) return kOutOfMemory;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (rounded > total_memory() - g_reserved) return kOutOfMemory;
        g_reserved += rounded;
    }
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (!p) {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_reserved -= rounded;
        return kOutOfMemory;
    }
    std::memset(p, kPoison, std::min(rounded, kPoisonBytes));
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_allocations[reinterpret_cast<uint64_t>(p)] = bytes;
    }
    ++g_allocs;
    g_in_use += static_cast<long long>(bytes);
    *ptr = reinterpret_cast<uint64_t>(p);
    return kSuccess;
}

KILN_FAKE_API CUresult cuMemFree_v2(CUdeviceptr ptr) {
    if (CUresult r = check_context()) return r;
    size_t bytes = 0;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        auto it = g_allocations.find(ptr);
        if (it == g_allocations.end()) return kInvalidValue;
        bytes = it->second;
        g_allocations.erase(it);
        g_reserved -= (bytes + kAlignment - 1) / kAlignment * kAlignment;
    }
    std::free(reinterpret_cast<void*>(ptr));
    ++g_frees;
    g_in_use -= static_cast<long long>(bytes);
    return kSuccess;
}

KILN_FAKE_API CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
    if (CUresult r = check_context()) return r;
    if (!free_bytes || !total_bytes) return kInvalidValue;
    std::lock_guard<std::mutex> lock(g_mutex);
    *free_bytes = total_memory() - g_reserved;
    *total_bytes = total_memory();
    return kSuccess;
}

KILN_FAKE_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes,
                                            CUstream stream) {
    if (CUresult r = check_transfer(dst, bytes, stream)) return r;
    if (bytes == 0) return kSuccess;
    if (!src || device_memory_as_host(src, "cuMemcpyHtoDAsync")) return kInvalidValue;
    std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
    return kSuccess;
}

KILN_FAKE_API CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes,
                                            CUstream stream) {
    if (CUresult r = check_transfer(src, bytes, stream)) return r;
    if (bytes == 0) return kSuccess;
    if (!dst || device_memory_as_host(dst, "cuMemcpyDtoHAsync")) return kInvalidValue;
    std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
    return kSuccess;
}

KILN_FAKE_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                                            CUstream stream) {
    if (CUresult r = check_transfer(dst, bytes, stream)) return r;
    if (bytes > 0 && !inside_allocation(src, bytes)) return kInvalidValue;
    if (bytes > 0)
        std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
    return kSuccess;
}

KILN_FAKE_API CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count,
                                       CUstream stream) {
    if (CUresult r = check_transfer(dst, count, stream)) return r;
    if (count > 0) std::memset(reinterpret_cast<void*>(dst), value, count);
    return kSuccess;
}

/// Flags: CU_STREAM_DEFAULT (0) or CU_STREAM_NON_BLOCKING (1).
KILN_FAKE_API CUresult cuStreamCreate(CUstream* stream, unsigned flags) {
    if (CUresult r = check_context()) return r;
    if (!stream || (flags & ~1u)) return kInvalidValue;
    auto* s = new Stream{flags};
    std::lock_guard<std::mutex> lock(g_mutex);
    g_streams.insert(s);
    *stream = s;
    return kSuccess;
}

KILN_FAKE_API CUresult cuStreamDestroy_v2(CUstream stream) {
    if (CUresult r = check_context()) return r;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!stream || !g_streams.erase(stream)) return kInvalidHandle;
    delete stream;
    return kSuccess;
}

/// Work completes when it is issued, so there is never anything to wait for.
KILN_FAKE_API CUresult cuStreamSynchronize(CUstream stream) {
    if (CUresult r = check_context()) return r;
    return check_stream(stream);
}

/// Flags: CU_EVENT_BLOCKING_SYNC (1), CU_EVENT_DISABLE_TIMING (2), CU_EVENT_INTERPROCESS (4).
KILN_FAKE_API CUresult cuEventCreate(CUevent* event, unsigned flags) {
    if (CUresult r = check_context()) return r;
    if (!event || (flags & ~7u)) return kInvalidValue;
    auto* e = new Event;
    e->flags = flags;
    std::lock_guard<std::mutex> lock(g_mutex);
    g_events.insert(e);
    *event = e;
    return kSuccess;
}

KILN_FAKE_API CUresult cuEventRecord(CUevent event, CUstream stream) {
    if (CUresult r = check_context()) return r;
    if (!valid_event(event)) return kInvalidHandle;
    if (CUresult r = check_stream(stream)) return r;
    event->recorded = true;
    event->when = std::chrono::steady_clock::now();
    return kSuccess;
}

KILN_FAKE_API CUresult cuEventSynchronize(CUevent event) {
    if (CUresult r = check_context()) return r;
    return valid_event(event) ? kSuccess : kInvalidHandle;
}

/// Host-clock milliseconds between two recorded events that keep timing.
KILN_FAKE_API CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
    if (CUresult r = check_context()) return r;
    if (!ms) return kInvalidValue;
    if (!valid_event(start) || !valid_event(end)) return kInvalidHandle;
    if (!start->recorded || !end->recorded || ((start->flags | end->flags) & 2u))
        return kInvalidHandle;
    *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
    return kSuccess;
}

KILN_FAKE_API CUresult cuEventDestroy_v2(CUevent event) {
    if (CUresult r = check_context()) return r;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!event || !g_events.erase(event)) return kInvalidHandle;
    delete event;
    return kSuccess;
}

KILN_FAKE_API void kiln_fake_cuda_counters(long long* allocs, long long* frees, long long* launches,
                                           long long* bytes_in_use) {
    if (allocs) *allocs = g_allocs.load();
    if (frees) *frees = g_frees.load();
    if (launches) *launches = g_launches.load();
    if (bytes_in_use) *bytes_in_use = g_in_use.load();
}

KILN_FAKE_API int kiln_fake_cuda_device_range(const void* address, unsigned long long bytes) {
    return inside_allocation(reinterpret_cast<uint64_t>(address), bytes) ? 1 : 0;
}

KILN_FAKE_API int kiln_fake_cuda_stream_live(void* stream) {
    return check_stream(static_cast<Stream*>(stream)) == kSuccess ? 1 : 0;
}
