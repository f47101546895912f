#pragma once
/// The runtime's worker threads. Size: $KILN_NUM_THREADS, default the CPUs Kiln may use.
#include <cstdint>
#include <functional>
#include <sched.h>
#include <string>

namespace kiln::runtime {

class ThreadPool {
public:
    /// The process-wide pool (created on first use, never destroyed so that work submitted from
    /// static destructors still runs). Its size is $KILN_NUM_THREADS when that is a positive
    /// integer, else std::thread::hardware_concurrency().
    static ThreadPool& global();
    /// Threads that run work, the calling thread included.
    int num_threads() const;
    /// Calls fn(begin, end) on disjoint chunks covering [0, n), at least `min_chunk` long
    /// (except the last), in parallel; returns when all are done. The calling thread takes part.
    /// An exception thrown by fn is rethrown here (the first one; chunks not yet started are
    /// skipped). Runs fn(0, n) inline on the caller when n <= min_chunk, when called from inside
    /// fn (nested), or while another thread's parallel_for occupies this pool.
    void parallel_for(int64_t n, int64_t min_chunk,
                      const std::function<void(int64_t begin, int64_t end)>& fn);

    /// A pool of `num_threads` threads in all: the caller plus num_threads - 1 workers
    /// (num_threads < 1 counts as 1). Workers start now, on the CPUs of a CpuScope (see there),
    /// and are joined by the destructor. When they get fewer CPUs than the pool has threads,
    /// the pool says so once per process on stderr (affinity_warning()).
    explicit ThreadPool(int num_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// CPUs the workers may run on.
    int num_cpus() const;
    /// Why the pool will be slower than its size suggests (workers confined to fewer CPUs than
    /// there are threads), or "" when it is not.
    const std::string& affinity_warning() const;

    /// The size the global pool takes from `env_value` (the text of $KILN_NUM_THREADS, or null):
    /// a positive integer (at most 1024), else default_threads().
    static int threads_from_env(const char* env_value);
    /// The CPUs a CpuScope gives Kiln's threads: the default pool size.
    static int default_threads();

    /// While alive, the calling thread may run on the CPUs Kiln's threads should use, so that
    /// threads it starts (the pool's workers, a BLAS library's) inherit them; its own affinity
    /// is restored afterwards. These are the calling thread's CPUs (what `taskset` or a cgroup
    /// allow), except when a host OpenMP runtime was asked to bind threads (OMP_PROC_BIND,
    /// OMP_PLACES, GOMP_CPU_AFFINITY, KMP_AFFINITY): it pins the program's first thread to one
    /// CPU, which is its binding and not the process's CPU budget, so then every CPU the process
    /// may use is taken.
    class CpuScope {
    public:
        CpuScope();
        ~CpuScope();
        CpuScope(const CpuScope&) = delete;
        CpuScope& operator=(const CpuScope&) = delete;
        /// CPUs the calling thread may use now.
        int cpus() const;
        /// "0-3,8" for those CPUs.
        std::string cpu_list() const;

    private:
        cpu_set_t saved_;
        cpu_set_t now_;
        bool changed_ = false;
    };

private:
    struct Impl;
    Impl* impl_;
};

}  // namespace kiln::runtime
