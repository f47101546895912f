#pragma once
/// Caching allocator for host memory: freed blocks are kept by size class and handed out again,
/// so a training loop does not pay first-touch page faults (~3 GB/s here) every step.
#include <cstddef>
#include <cstdint>

namespace kiln::runtime {

/// Counters of the CPU allocator. Byte counts are in size-class bytes (what is reserved).
struct AllocatorStats {
    int64_t bytes_in_use = 0;   ///< handed out and not yet returned
    int64_t bytes_cached = 0;   ///< returned and kept for reuse
    int64_t allocations = 0;    ///< calls to allocate()
    int64_t cache_hits = 0;     ///< allocate() calls served from the cache
};

/// Stateless handle: all state is process-wide (behind one mutex) and lives until exit, so
/// memory freed by static destructors is still returned safely.
class CpuAllocator {
public:
    /// The process-wide allocator (thread-safe).
    static CpuAllocator& global();
    /// 64-byte aligned memory of at least `bytes` (bytes may be 0: returns a valid pointer).
    /// Blocks of 2 MiB and more are 2 MiB aligned and advised for transparent huge pages (first
    /// touch is then about twice as fast here). Throws std::bad_alloc when the system has none
    /// left, after releasing the cache and trying again.
    void* allocate(size_t bytes);
    /// Returns memory from allocate(); `bytes` must be the size asked for.
    void deallocate(void* ptr, size_t bytes);
    /// Releases all cached blocks to the system.
    void empty_cache();
    AllocatorStats stats() const;

    /// The block size actually reserved for a request of `bytes`: 64-byte multiples, powers of
    /// two up to 4 KiB, then four steps per power of two (at most 25% over the request).
    static size_t size_class(size_t bytes);
    /// Most bytes kept in the cache; a block returned beyond it goes back to the system.
    /// Default: half of physical memory, at most 2 GiB.
    size_t cache_limit() const;
    /// Changes the cache limit, releasing cached blocks (largest first) above it.
    void set_cache_limit(size_t bytes);
};

}  // namespace kiln::runtime
