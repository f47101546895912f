#pragma once
/// Counters that show what the engine did (for tests, benchmarks and curious users).
#include <cstdint>

namespace kiln {

struct Stats {
    int64_t realizations = 0;     ///< realize calls that ran a program
    int64_t program_cache_hits = 0;    ///< graphs whose compiled program was reused
    int64_t program_cache_misses = 0;  ///< graphs that ran the pass pipeline
    int64_t kernels_compiled = 0; ///< kernels compiled by LLVM (not from a cache)
    int64_t kernel_memory_hits = 0;  ///< kernels found compiled in memory
    int64_t kernel_disk_hits = 0; ///< kernels loaded from the disk cache
    int64_t kernels_launched = 0; ///< kernel launches
    int64_t extern_calls = 0;     ///< BLAS calls
};

/// Process-wide counters since start (or since reset_stats()).
Stats stats();
void reset_stats();

}  // namespace kiln
