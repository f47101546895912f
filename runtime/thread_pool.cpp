#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <strings.h>
#include <sys/sysinfo.h>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support/profiler.h"

// How a parallel_for runs, and why it is cheap:
// - Workers are persistent. After a job they spin for a short while (kernel launches come back
//   to back) and then sleep on a futex (std::atomic::wait), so an idle process uses no CPU.
// - A job is published by writing its parameters and then one 64-bit "claim" word:
//   [tag:32 | chunk count:16 | next chunk:16]. Every thread (the caller too) claims chunks with a
//   CAS on that word, so a chunk costs one CAS and no allocation; fn is passed by pointer.
// - The caller waits only for the chunks to be done, not for the workers to wake up: a worker
//   that wakes late sees a finished (or newer) tag and claims nothing. Because a claim succeeds
//   only while the tag matches, and the caller cannot return before every claimed chunk is done,
//   the parameters a worker reads after a successful claim always belong to that job.
// - A pool whose workers are gone (after fork) still works: the caller claims every chunk.

namespace kiln::runtime {

namespace {

// Threads inside a parallel_for (workers always, the caller while it takes part) run nested
// calls inline instead of waiting on a pool that is busy with their own job.
thread_local bool t_inside_pool = false;

constexpr uint32_t kMaxChunks = 0xFFFF;  // fits the 16-bit fields of the claim word
constexpr int kChunksPerThread = 4;      // a little slack for uneven chunks or a busy core
constexpr auto kSpinTime = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

// Spins until `a` differs from `old` for up to kSpinTime, then sleeps until it changes.
template <typename T>
T wait_for_change(const std::atomic<T>& a, T old) {
    auto start = std::chrono::steady_clock::now();
    for (int spins = 1;; ++spins) {
        T v = a.load(std::memory_order_acquire);
        if (v != old) return v;
        cpu_relax();
        if (spins % 64 == 0 && std::chrono::steady_clock::now() - start > kSpinTime) {
            a.wait(old, std::memory_order_acquire);
            start = std::chrono::steady_clock::now();
        }
    }
}

/// Whether a host OpenMP runtime was asked to bind threads to CPUs.
bool openmp_binds_threads() {
    const char* bind = std::getenv("OMP_PROC_BIND");
    if (bind && *bind && strcasecmp(bind, "false") != 0) return true;
    for (const char* name : {"OMP_PLACES", "GOMP_CPU_AFFINITY", "KMP_AFFINITY"}) {
        const char* v = std::getenv(name);
        if (v && *v) return true;
    }
    return false;
}

struct InsideGuard {
    bool saved = t_inside_pool;
    InsideGuard() { t_inside_pool = true; }
    ~InsideGuard() { t_inside_pool = saved; }
};

}  // namespace

ThreadPool::CpuScope::CpuScope() {
    CPU_ZERO(&saved_);
    if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) {
        // Unknown: assume every online CPU (nothing is changed, so nothing is restored).
        for (int c = 0; c < get_nprocs() && c < CPU_SETSIZE; ++c) CPU_SET(c, &saved_);
    }
    now_ = saved_;
    if (!openmp_binds_threads()) return;
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < get_nprocs_conf() && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    // The kernel keeps only the CPUs the process's cpuset allows.
    if (sched_setaffinity(0, sizeof all, &all) == 0) {
        changed_ = true;
        if (sched_getaffinity(0, sizeof now_, &now_) != 0) now_ = all;
    }
}

ThreadPool::CpuScope::~CpuScope() {
    if (changed_) sched_setaffinity(0, sizeof saved_, &saved_);
}

int ThreadPool::CpuScope::cpus() const { return CPU_COUNT(&now_); }

std::string ThreadPool::CpuScope::cpu_list() const {
    std::string out;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &now_)) continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &now_)) ++last;
        if (!out.empty()) out += ",";
        out += last > c ? std::to_string(c) + "-" + std::to_string(last) : std::to_string(c);
        c = last;
    }
    return out;
}

struct ThreadPool::Impl {
    using Fn = std::function<void(int64_t, int64_t)>;

    int num_threads = 1;
    int num_cpus = 1;
    std::string affinity_warning;
    std::vector<std::thread> workers;
    std::mutex submit_mutex;  // one job at a time; a second caller runs its loop inline
    uint32_t last_tag = 0;    // guarded by submit_mutex

    // Job parameters: written by the caller before it publishes `claim`, read by a thread only
    // after it claimed a chunk of that job.
    const Fn* fn = nullptr;
    int64_t n = 0;
    int64_t chunk = 0;
    std::exception_ptr error;  // written by the first failing chunk, before it counts as done

    alignas(64) std::atomic<uint64_t> claim{0};
    alignas(64) std::atomic<uint32_t> generation{0};  // the tag of the latest job; workers wait
    alignas(64) std::atomic<uint32_t> chunks_done{0};
    std::atomic<bool> failed{false};
    std::atomic<bool> stop{false};

    // Claims and runs chunks of job `tag` until none is left.
    void run_chunks(uint32_t tag) {
        uint64_t cur = claim.load(std::memory_order_acquire);
        for (;;) {
            if (static_cast<uint32_t>(cur >> 32) != tag) return;
            uint32_t count = static_cast<uint32_t>(cur >> 16) & 0xFFFF;
            uint32_t index = static_cast<uint32_t>(cur) & 0xFFFF;
            if (index >= count) return;
            if (!claim.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
                continue;
            if (!failed.load(std::memory_order_relaxed)) {
                int64_t begin = static_cast<int64_t>(index) * chunk;
                int64_t end = std::min(n, begin + chunk);
                try {
                    (*fn)(begin, end);
                } catch (...) {
                    if (!failed.exchange(true, std::memory_order_acq_rel))
                        error = std::current_exception();
                }
            }
            if (chunks_done.fetch_add(1, std::memory_order_acq_rel) + 1 == count)
                chunks_done.notify_all();
            cur = claim.load(std::memory_order_acquire);
        }
    }

    void worker_loop(int index) {
        t_inside_pool = true;
        support::profiler::set_thread_name("kiln worker " + std::to_string(index));
        // Start from the initial generation, not the current one: a worker that starts late
        // must still notice the jobs (and the stop request) published before it ran.
        uint32_t seen = 0;
        for (;;) {
            seen = wait_for_change(generation, seen);
            if (stop.load(std::memory_order_acquire)) return;
            run_chunks(seen);
        }
    }
};

ThreadPool::ThreadPool(int num_threads) : impl_(new Impl) {
    impl_->num_threads = num_threads < 1 ? 1 : num_threads;
    impl_->workers.reserve(impl_->num_threads - 1);
    CpuScope cpus;  // the workers inherit these CPUs
    impl_->num_cpus = cpus.cpus();
    for (int i = 1; i < impl_->num_threads; ++i)
        impl_->workers.emplace_back([impl = impl_, i] { impl->worker_loop(i); });
    if (impl_->num_cpus < impl_->num_threads) {
        // Measured: with every worker pinned to the creating thread's one CPU (OpenMP's
        // binding), fused kernels ran at half speed on 2 cores.
        impl_->affinity_warning = fmt::format(
            "kiln: warning: the thread pool's {} threads can only run on {} CPU{} (CPU {}: the "
            "affinity of the thread that started it), so kernels use fewer cores than planned; "
            "set KILN_NUM_THREADS={} or start Kiln before pinning threads",
            impl_->num_threads, impl_->num_cpus, impl_->num_cpus == 1 ? "" : "s", cpus.cpu_list(),
            impl_->num_cpus);
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true)) std::fprintf(stderr, "%s\n", impl_->affinity_warning.c_str());
    }
}

ThreadPool::~ThreadPool() {
    impl_->stop.store(true, std::memory_order_release);
    impl_->generation.fetch_add(1, std::memory_order_acq_rel);
    impl_->generation.notify_all();
    for (auto& t : impl_->workers) t.join();
    delete impl_;
}

int ThreadPool::default_threads() { return std::max(1, CpuScope().cpus()); }

int ThreadPool::threads_from_env(const char* env_value) {
    int fallback = default_threads();
    if (env_value == nullptr || *env_value == '\0') return fallback;
    char* end = nullptr;
    long v = std::strtol(env_value, &end, 10);
    if (*end != '\0' || v < 1 || v > 1024) return fallback;
    return static_cast<int>(v);
}

ThreadPool& ThreadPool::global() {
    // Leaked on purpose: static destructors elsewhere may still run kernels at exit.
    static ThreadPool* pool = new ThreadPool(threads_from_env(std::getenv("KILN_NUM_THREADS")));
    return *pool;
}

int ThreadPool::num_threads() const { return impl_->num_threads; }
int ThreadPool::num_cpus() const { return impl_->num_cpus; }
const std::string& ThreadPool::affinity_warning() const { return impl_->affinity_warning; }

void ThreadPool::parallel_for(int64_t n, int64_t min_chunk,
                              const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (min_chunk < 1) min_chunk = 1;
    Impl& p = *impl_;
    if (n <= min_chunk || p.num_threads == 1 || t_inside_pool) {
        fn(0, n);
        return;
    }
    // Aim for a few chunks per thread, never shorter than min_chunk.
    int64_t target = static_cast<int64_t>(p.num_threads) * kChunksPerThread;
    int64_t chunk = std::max(min_chunk, (n + target - 1) / target);
    int64_t count = (n + chunk - 1) / chunk;
    if (count > kMaxChunks) {
        chunk = (n + kMaxChunks - 1) / kMaxChunks;
        count = (n + chunk - 1) / chunk;
    }
    if (count == 1) {
        fn(0, n);
        return;
    }
    std::unique_lock lock(p.submit_mutex, std::try_to_lock);
    if (!lock.owns_lock()) {  // another thread's job is running: do ours on this thread
        fn(0, n);
        return;
    }
    InsideGuard inside;
    uint32_t tag = ++p.last_tag;
    if (tag == 0) tag = ++p.last_tag;  // 0 is the initial claim word's tag; skip it on wrap
    p.fn = &fn;
    p.n = n;
    p.chunk = chunk;
    p.error = nullptr;
    p.failed.store(false, std::memory_order_relaxed);
    p.chunks_done.store(0, std::memory_order_relaxed);
    p.claim.store((static_cast<uint64_t>(tag) << 32) | (static_cast<uint64_t>(count) << 16),
                  std::memory_order_release);
    p.generation.store(tag, std::memory_order_release);
    p.generation.notify_all();

    p.run_chunks(tag);
    uint32_t done = p.chunks_done.load(std::memory_order_acquire);
    while (done != static_cast<uint32_t>(count)) done = wait_for_change(p.chunks_done, done);

    if (p.failed.load(std::memory_order_acquire)) {
        std::exception_ptr error = std::move(p.error);
        p.error = nullptr;
        std::rethrow_exception(error);
    }
}

}  // namespace kiln::runtime
