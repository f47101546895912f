#include "runtime/cpu_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "runtime/thread_pool.h"

namespace kiln::runtime {

namespace {

constexpr size_t kAlignment = 64;
// Blocks of at least this size are aligned to a huge page, advised as huge-page candidates and
// faulted in by all threads at once. The first touch of fresh memory costs a page fault per
// page (the kernel zeroes it, and with MADV_HUGEPAGE may first compact memory to find a 2 MiB
// page); left alone, that lands single-threaded in the first kernel writing the buffer. First
// use of a fresh 64 MiB buffer measured here: 16 ms with 4 KiB pages, 3.7-10 ms advised,
// 4.1-4.9 ms advised and prefaulted (bench_backward_ops), 2.4-3.1 ms once cached.
constexpr size_t kHugePage = size_t{2} << 20;

/// Writes one byte per page of a fresh block on every thread of the pool, so its page faults
/// are taken in parallel now rather than by whichever kernel writes it first.
void prefault(void* p, size_t size) {
    const size_t page = 4096;
    auto* bytes = static_cast<volatile char*>(p);
    auto pages = static_cast<int64_t>(size / page);
    ThreadPool::global().parallel_for(pages, 256, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) bytes[static_cast<size_t>(i) * page] = 0;
    });
}

// Size classes: powers of two up to 4 KiB; above that each power-of-two interval is split into
// four steps (4K, 5K, 6K, 7K, 8K, 10K, ...), so a block is at most 25% larger than asked and a
// re-used size always lands in the same class.
size_t class_of(size_t bytes) {
    if (bytes <= kAlignment) return kAlignment;
    if (bytes <= 4096) return std::bit_ceil(bytes);
    size_t pow = std::bit_floor(bytes);  // pow <= bytes < 2*pow
    size_t step = pow / 4;
    return (bytes + step - 1) / step * step;
}

size_t default_cache_limit() {
    // Half of physical memory, at most 2 GiB: enough to hold a training step's buffers without
    // letting the cache crowd out the rest of the process.
    size_t limit = size_t{2} << 30;
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) {
        size_t half = static_cast<size_t>(pages) * static_cast<size_t>(page_size) / 2;
        limit = std::min(limit, half);
    }
    return limit;
}

void* system_allocate(size_t class_bytes) {
    size_t align = class_bytes >= kHugePage ? kHugePage : kAlignment;
    // Class sizes above 64 bytes are multiples of 64; huge blocks are rounded to whole huge
    // pages so aligned_alloc's size-multiple-of-alignment rule holds.
    size_t size = (class_bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, size);
    if (p == nullptr) throw std::bad_alloc();
    if (align == kHugePage) {
        madvise(p, size, MADV_HUGEPAGE);  // a hint; failure is harmless
        prefault(p, size);
    }
    return p;
}

// The allocator's state. It is created on first use and intentionally never destroyed, so that
// Buffers released by other static destructors at exit still find it.
struct State {
    mutable std::mutex mutex;
    std::unordered_map<size_t, std::vector<void*>> free_blocks;  // class size -> blocks
    size_t cache_limit = default_cache_limit();
    AllocatorStats stats;
};

State& state() {
    static State* s = new State();
    return *s;
}

}  // namespace

CpuAllocator& CpuAllocator::global() {
    static CpuAllocator allocator;
    return allocator;
}

void* CpuAllocator::allocate(size_t bytes) {
    size_t cls = class_of(bytes);
    State& s = state();
    {
        std::lock_guard lock(s.mutex);
        s.stats.allocations++;
        auto it = s.free_blocks.find(cls);
        if (it != s.free_blocks.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            s.stats.cache_hits++;
            s.stats.bytes_cached -= static_cast<int64_t>(cls);
            s.stats.bytes_in_use += static_cast<int64_t>(cls);
            return p;
        }
    }
    // Allocate outside the lock: the system allocator may be slow for large blocks. When the
    // system is out of memory, cached blocks of other sizes may be what is missing: drop them
    // and try once more before giving up.
    void* p = nullptr;
    try {
        p = system_allocate(cls);
    } catch (const std::bad_alloc&) {
        empty_cache();
        p = system_allocate(cls);
    }
    std::lock_guard lock(s.mutex);
    s.stats.bytes_in_use += static_cast<int64_t>(cls);
    return p;
}

void CpuAllocator::deallocate(void* ptr, size_t bytes) {
    if (ptr == nullptr) return;
    size_t cls = class_of(bytes);
    State& s = state();
    {
        std::lock_guard lock(s.mutex);
        s.stats.bytes_in_use -= static_cast<int64_t>(cls);
        if (static_cast<size_t>(s.stats.bytes_cached) + cls <= s.cache_limit) {
            s.free_blocks[cls].push_back(ptr);
            s.stats.bytes_cached += static_cast<int64_t>(cls);
            return;
        }
    }
    std::free(ptr);
}

void CpuAllocator::empty_cache() {
    State& s = state();
    std::unordered_map<size_t, std::vector<void*>> blocks;
    {
        std::lock_guard lock(s.mutex);
        blocks.swap(s.free_blocks);
        s.stats.bytes_cached = 0;
    }
    for (auto& [cls, list] : blocks)
        for (void* p : list) std::free(p);
}

AllocatorStats CpuAllocator::stats() const {
    State& s = state();
    std::lock_guard lock(s.mutex);
    return s.stats;
}

size_t CpuAllocator::size_class(size_t bytes) { return class_of(bytes); }

size_t CpuAllocator::cache_limit() const {
    State& s = state();
    std::lock_guard lock(s.mutex);
    return s.cache_limit;
}

void CpuAllocator::set_cache_limit(size_t bytes) {
    State& s = state();
    std::vector<void*> to_free;
    {
        std::lock_guard lock(s.mutex);
        s.cache_limit = bytes;
        // Trim the cache down to the new limit, largest classes first.
        std::vector<size_t> classes;
        for (auto& [cls, list] : s.free_blocks)
            if (!list.empty()) classes.push_back(cls);
        std::sort(classes.rbegin(), classes.rend());
        for (size_t cls : classes) {
            auto& list = s.free_blocks[cls];
            while (!list.empty() && static_cast<size_t>(s.stats.bytes_cached) > bytes) {
                to_free.push_back(list.back());
                list.pop_back();
                s.stats.bytes_cached -= static_cast<int64_t>(cls);
            }
        }
    }
    for (void* p : to_free) std::free(p);
}

}  // namespace kiln::runtime
