// kiln::set_default_device / default_device (include/kiln/options.h).
#include <atomic>
#include <source_location>

#include "frontend/checks.h"
#include "kiln/options.h"

namespace kiln {
namespace {

// Type and index packed in one word, so reads (every factory call) are one relaxed load.
std::atomic<int64_t> g_default{0};

int64_t pack(Device d) { return static_cast<int64_t>(d.type) << 32 | static_cast<uint32_t>(d.index); }
Device unpack(int64_t v) {
    return Device(static_cast<DeviceType>(v >> 32), static_cast<int>(v & 0xffffffff));
}

}  // namespace

void set_default_device(Device device) {
    check_device("set_default_device", device, std::source_location::current());
    g_default.store(pack(device), std::memory_order_relaxed);
}

Device default_device() { return unpack(g_default.load(std::memory_order_relaxed)); }

}  // namespace kiln
