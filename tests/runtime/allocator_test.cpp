#include "runtime/cuda/driver.h"
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "kiln/error.h"
#include "runtime/buffer.h"
#include "runtime/cpu_allocator.h"

using namespace kiln;
using namespace kiln::runtime;

namespace {
bool aligned64(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }
}  // namespace

TEST_CASE("size classes round up by at most 25% and are stable", "[runtime][allocator]") {
    CHECK(CpuAllocator::size_class(0) == 64);
    CHECK(CpuAllocator::size_class(1) == 64);
    CHECK(CpuAllocator::size_class(64) == 64);
    CHECK(CpuAllocator::size_class(65) == 128);
    CHECK(CpuAllocator::size_class(3000) == 4096);
    CHECK(CpuAllocator::size_class(4097) == 5120);
    CHECK(CpuAllocator::size_class(5120) == 5120);
    CHECK(CpuAllocator::size_class(7169) == 8192);
    CHECK(CpuAllocator::size_class(8193) == 10240);
    for (size_t bytes = 1; bytes < (size_t{1} << 26); bytes = bytes * 3 / 2 + 7) {
        size_t cls = CpuAllocator::size_class(bytes);
        INFO("bytes " << bytes << " class " << cls);
        CHECK(cls >= bytes);
        CHECK(cls % 64 == 0);
        CHECK(CpuAllocator::size_class(cls) == cls);
        if (bytes > 4096) CHECK(cls <= bytes + bytes / 4);
    }
}

TEST_CASE("allocations are 64-byte aligned, including size 0 and huge blocks",
          "[runtime][allocator]") {
    CpuAllocator& alloc = CpuAllocator::global();
    for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{100}, size_t{4097},
                         size_t{1} << 20, (size_t{3} << 20) + 5}) {
        void* p = alloc.allocate(bytes);
        INFO("bytes " << bytes);
        REQUIRE(p != nullptr);
        CHECK(aligned64(p));
        std::memset(p, 0xab, bytes);  // the whole request is writable (ASan would catch overruns)
        alloc.deallocate(p, bytes);
    }
}

TEST_CASE("a freed block is handed out again for a size in the same class",
          "[runtime][allocator]") {
    CpuAllocator& alloc = CpuAllocator::global();
    const size_t bytes = 123457;  // an odd size that no other test uses
    void* p = alloc.allocate(bytes);
    AllocatorStats before = alloc.stats();
    alloc.deallocate(p, bytes);
    AllocatorStats freed = alloc.stats();
    size_t cls = CpuAllocator::size_class(bytes);
    CHECK(freed.bytes_in_use == before.bytes_in_use - static_cast<int64_t>(cls));
    CHECK(freed.bytes_cached == before.bytes_cached + static_cast<int64_t>(cls));

    void* q = alloc.allocate(bytes - 10);  // same class
    AllocatorStats after = alloc.stats();
    CHECK(q == p);
    CHECK(after.allocations == freed.allocations + 1);
    CHECK(after.cache_hits == freed.cache_hits + 1);
    CHECK(after.bytes_cached == before.bytes_cached);
    CHECK(after.bytes_in_use == before.bytes_in_use);
    alloc.deallocate(q, bytes - 10);
}

TEST_CASE("empty_cache and the cache limit release memory", "[runtime][allocator]") {
    CpuAllocator& alloc = CpuAllocator::global();
    size_t old_limit = alloc.cache_limit();
    CHECK(old_limit > 0);
    CHECK(old_limit <= (size_t{2} << 30));
    void* p = alloc.allocate(1 << 16);
    alloc.deallocate(p, 1 << 16);
    CHECK(alloc.stats().bytes_cached >= (1 << 16));
    alloc.empty_cache();
    CHECK(alloc.stats().bytes_cached == 0);

    // Beyond the limit, a returned block goes back to the system instead of the cache.
    alloc.set_cache_limit(100000);
    void* a = alloc.allocate(65536);
    void* b = alloc.allocate(65536);
    alloc.deallocate(a, 65536);
    CHECK(alloc.stats().bytes_cached == 65536);
    alloc.deallocate(b, 65536);
    CHECK(alloc.stats().bytes_cached == 65536);
    // Lowering the limit trims what is cached.
    alloc.set_cache_limit(1000);
    CHECK(alloc.stats().bytes_cached == 0);
    alloc.set_cache_limit(old_limit);
}

TEST_CASE("the allocator is thread-safe", "[runtime][allocator]") {
    CpuAllocator& alloc = CpuAllocator::global();
    int64_t in_use = alloc.stats().bytes_in_use;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&alloc, t] {
            std::vector<std::pair<void*, size_t>> live;
            for (int i = 0; i < 2000; ++i) {
                size_t bytes = static_cast<size_t>((i * 7919 + t * 131) % 20000);
                void* p = alloc.allocate(bytes);
                std::memset(p, t, bytes);
                live.emplace_back(p, bytes);
                if (live.size() > 8) {
                    alloc.deallocate(live.front().first, live.front().second);
                    live.erase(live.begin());
                }
            }
            for (auto [p, bytes] : live) alloc.deallocate(p, bytes);
        });
    }
    for (auto& t : threads) t.join();
    CHECK(alloc.stats().bytes_in_use == in_use);
}

TEST_CASE("buffers have unique ids and return memory on destruction", "[runtime][buffer]") {
    CpuAllocator& alloc = CpuAllocator::global();
    int64_t in_use = alloc.stats().bytes_in_use;
    auto a = Buffer::allocate(kFloat32, 1000);
    auto b = Buffer::allocate(kFloat64, 0);
    CHECK(a->numel() == 1000);
    CHECK(a->bytes() == 4000);
    CHECK(a->dtype() == kFloat32);
    CHECK(a->device() == Device());
    CHECK(aligned64(a->data()));
    CHECK(b->numel() == 0);
    CHECK(b->data() != nullptr);
    CHECK(a->id() > 0);
    CHECK(b->id() > a->id());
    CHECK(alloc.stats().bytes_in_use > in_use);
    a.reset();
    b.reset();
    CHECK(alloc.stats().bytes_in_use == in_use);
}

TEST_CASE("buffers on devices this build cannot use are refused", "[runtime][buffer]") {
    try {
        Buffer::allocate(kFloat32, 4, Device(kCUDA, 0));
        FAIL("expected kiln::Error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "cuda:0 is not available: " + runtime::cuda_unavailable_reason(0));
    }
    CHECK_THROWS_WITH(Buffer::allocate(kInt32, -3),
                      "Buffer::allocate: numel must be >= 0, got -3 (i32)");
    CHECK_THROWS_AS(Buffer::allocate(kInt64, int64_t{1} << 62), ValueError);
}

TEST_CASE("device names", "[runtime][device]") {
    CHECK(Device().str() == "cpu");
    CHECK(Device(kCUDA, 0).str() == "cuda:0");
    CHECK(Device(kCUDA, 3).str() == "cuda:3");
}
