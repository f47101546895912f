#pragma once
/// Counters kept by the realize driver (read through kiln::stats()).
#include <atomic>
#include <cstdint>

namespace kiln::detail {

struct RealizeCounters {
    std::atomic<int64_t> realizations{0};
    std::atomic<int64_t> program_cache_hits{0};
    std::atomic<int64_t> program_cache_misses{0};
};

RealizeCounters& realize_counters();

}  // namespace kiln::detail
