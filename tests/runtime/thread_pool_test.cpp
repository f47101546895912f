#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sched.h>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/thread_pool.h"

using namespace kiln::runtime;

namespace {

// Runs parallel_for and checks that every index in [0, n) is covered exactly once, by chunks of
// at least min_chunk (except one, the last).
void check_cover(ThreadPool& pool, int64_t n, int64_t min_chunk) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(std::max<int64_t>(n, 0)));
    std::mutex mutex;
    std::vector<std::pair<int64_t, int64_t>> chunks;
    pool.parallel_for(n, min_chunk, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
        std::lock_guard lock(mutex);
        chunks.emplace_back(begin, end);
    });
    INFO("n " << n << " min_chunk " << min_chunk << " threads " << pool.num_threads());
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) wrong += hits[static_cast<size_t>(i)] != 1;
    REQUIRE(wrong == 0);
    int short_chunks = 0;
    for (auto [begin, end] : chunks) {
        REQUIRE(begin < end);
        if (end - begin < min_chunk) {
            ++short_chunks;
            CHECK(end == n);
        }
    }
    CHECK(short_chunks <= 1);
    if (n <= 0) CHECK(chunks.empty());
}

}  // namespace

TEST_CASE("parallel_for covers the range exactly once", "[runtime][thread_pool]") {
    ThreadPool four(4);  // more threads than this machine's cores: exercises contention
    ThreadPool one(1);
    for (ThreadPool* pool : {&ThreadPool::global(), &four, &one}) {
        for (int64_t n : {0, 1, 2, 3, 7, 16, 17, 100, 1000, 4097, 100000}) {
            for (int64_t min_chunk : {-1, 0, 1, 2, 3, 10, 64, 1000, 5000}) {
                check_cover(*pool, n, min_chunk);
            }
        }
    }
    // Far more chunks than the claim word holds: the chunk size grows to fit.
    check_cover(four, 3000000, 1);
}

TEST_CASE("parallel_for uses several threads for big ranges", "[runtime][thread_pool]") {
    ThreadPool pool(3);
    CHECK(pool.num_threads() == 3);
    std::mutex mutex;
    std::set<std::thread::id> ids;
    // Chunks sleep, so the caller cannot finish them all before the workers wake up.
    pool.parallel_for(12, 1, [&](int64_t, int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        std::lock_guard lock(mutex);
        ids.insert(std::this_thread::get_id());
    });
    CHECK(ids.size() >= 2);
    CHECK(ids.count(std::this_thread::get_id()) == 1);  // the caller takes part
}

TEST_CASE("small ranges run inline on the caller", "[runtime][thread_pool]") {
    ThreadPool pool(4);
    std::mutex mutex;
    std::vector<std::tuple<int64_t, int64_t, std::thread::id>> calls;
    pool.parallel_for(100, 100, [&](int64_t begin, int64_t end) {
        std::lock_guard lock(mutex);
        calls.emplace_back(begin, end, std::this_thread::get_id());
    });
    REQUIRE(calls.size() == 1);
    CHECK(std::get<0>(calls[0]) == 0);
    CHECK(std::get<1>(calls[0]) == 100);
    CHECK(std::get<2>(calls[0]) == std::this_thread::get_id());
}

TEST_CASE("an exception in a chunk reaches the caller and the pool stays usable",
          "[runtime][thread_pool]") {
    ThreadPool pool(4);
    for (int round = 0; round < 20; ++round) {
        std::atomic<int> calls{0};
        CHECK_THROWS_WITH(pool.parallel_for(1000, 10,
                                            [&](int64_t begin, int64_t) {
                                                calls++;
                                                if (begin >= 500) throw std::runtime_error("chunk failed");
                                            }),
                          "chunk failed");
        check_cover(pool, 1000, 10);
    }
    // Inline execution propagates too.
    CHECK_THROWS_WITH(pool.parallel_for(5, 10, [](int64_t, int64_t) { throw std::logic_error("x"); }),
                      "x");
}

TEST_CASE("nested parallel_for runs inline", "[runtime][thread_pool]") {
    ThreadPool pool(4);
    std::vector<std::atomic<int>> hits(64 * 64);
    std::atomic<int> nested_on_other_thread{0};
    std::atomic<int> nested_split{0};
    pool.parallel_for(64, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            auto outer_thread = std::this_thread::get_id();
            pool.parallel_for(64, 1, [&](int64_t b2, int64_t e2) {
                if (std::this_thread::get_id() != outer_thread) nested_on_other_thread++;
                if (b2 != 0 || e2 != 64) nested_split++;
                for (int64_t j = b2; j < e2; ++j) hits[static_cast<size_t>(i * 64 + j)]++;
            });
        }
    });
    CHECK(nested_on_other_thread == 0);
    CHECK(nested_split == 0);
    int wrong = 0;
    for (auto& h : hits) wrong += h != 1;
    CHECK(wrong == 0);
}

TEST_CASE("concurrent callers on one pool all complete", "[runtime][thread_pool]") {
    ThreadPool pool(3);
    std::vector<std::thread> callers;
    std::atomic<int64_t> total{0};
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&] {
            for (int r = 0; r < 200; ++r) {
                std::atomic<int64_t> sum{0};
                pool.parallel_for(1000, 7, [&](int64_t b, int64_t e) { sum += e - b; });
                total += sum;
            }
        });
    }
    for (auto& t : callers) t.join();
    CHECK(total == int64_t{4} * 200 * 1000);
}

TEST_CASE("many tiny jobs in a row are cheap", "[runtime][thread_pool]") {
    ThreadPool& pool = ThreadPool::global();
    std::atomic<int64_t> sum{0};
    const int jobs = 20000;
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < jobs; ++r)
        pool.parallel_for(64, 1, [&](int64_t b, int64_t e) { sum.fetch_add(e - b, std::memory_order_relaxed); });
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    CHECK(sum == int64_t{64} * jobs);
    WARN("parallel_for dispatch: " << us / jobs << " us per job on " << pool.num_threads() << " threads");
    CHECK(us / jobs < 200);  // generous: a loaded CI machine; typically a few microseconds
}

TEST_CASE("KILN_NUM_THREADS parsing", "[runtime][thread_pool]") {
    int hw = ThreadPool::default_threads();
    CHECK(ThreadPool::threads_from_env(nullptr) == hw);
    CHECK(ThreadPool::threads_from_env("") == hw);
    CHECK(ThreadPool::threads_from_env("3") == 3);
    CHECK(ThreadPool::threads_from_env("1") == 1);
    CHECK(ThreadPool::threads_from_env("0") == hw);
    CHECK(ThreadPool::threads_from_env("-2") == hw);
    CHECK(ThreadPool::threads_from_env("4x") == hw);
    CHECK(ThreadPool::threads_from_env("lots") == hw);
    CHECK(ThreadPool::threads_from_env("100000") == hw);
    CHECK(ThreadPool(0).num_threads() == 1);
}

namespace {
/// Restores the calling thread's affinity and an environment variable when it goes out of scope.
struct AffinityRestore {
    cpu_set_t saved;
    std::string omp;
    bool had_omp;
    AffinityRestore() {
        sched_getaffinity(0, sizeof saved, &saved);
        const char* v = std::getenv("OMP_PROC_BIND");
        had_omp = v != nullptr;
        omp = v ? v : "";
    }
    ~AffinityRestore() {
        sched_setaffinity(0, sizeof saved, &saved);
        if (had_omp)
            setenv("OMP_PROC_BIND", omp.c_str(), 1);
        else
            unsetenv("OMP_PROC_BIND");
    }
};

/// CPUs the calling thread may use.
int my_cpus() {
    cpu_set_t s;
    sched_getaffinity(0, sizeof s, &s);
    return CPU_COUNT(&s);
}
}  // namespace

TEST_CASE("a pool started by a pinned thread: confined and saying so, or given the process's CPUs",
          "[runtime][thread_pool][affinity]") {
    AffinityRestore restore;
    int all = CPU_COUNT(&restore.saved);
    if (all < 2) {
        WARN("skipped: needs at least 2 CPUs, this thread may use " << all);
        return;
    }
    int first = 0;
    while (!CPU_ISSET(first, &restore.saved)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);

    // Pinned by the program itself (taskset, pthread_setaffinity_np): respected, and a pool
    // larger than that says why it will be slow.
    unsetenv("OMP_PROC_BIND");
    CHECK(ThreadPool::default_threads() == 1);
    {
        ThreadPool pool(2);
        CHECK(pool.num_cpus() == 1);
        CHECK(pool.affinity_warning() ==
              "kiln: warning: the thread pool's 2 threads can only run on 1 CPU (CPU " +
                  std::to_string(first) +
                  ": the affinity of the thread that started it), so kernels use fewer cores "
                  "than planned; set KILN_NUM_THREADS=1 or start Kiln before pinning threads");
    }
    // Pinned by OpenMP's binding (OMP_PROC_BIND=spread, as the host program did): the
    // workers get every CPU of the process, the pinned thread stays pinned.
    setenv("OMP_PROC_BIND", "spread", 1);
    CHECK(ThreadPool::default_threads() == all);
    ThreadPool pool(2);
    CHECK(pool.num_cpus() == all);
    CHECK(pool.affinity_warning().empty());
    CHECK(my_cpus() == 1);
    // A worker really runs with the wide mask: chunks long enough that the worker takes some.
    std::mutex m;
    std::vector<int> worker_cpus;
    std::thread::id caller = std::this_thread::get_id();
    pool.parallel_for(16, 1, [&](int64_t, int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (std::this_thread::get_id() == caller) return;
        std::lock_guard lock(m);
        worker_cpus.push_back(my_cpus());
    });
    REQUIRE(!worker_cpus.empty());
    for (int c : worker_cpus) CHECK(c == all);
}
