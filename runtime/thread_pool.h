#pragma once
/// The runtime's worker threads. Size: $KILN_NUM_THREADS, default the hardware threads.
#include <cstdint>
#include <functional>

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
    /// (num_threads < 1 counts as 1). Workers start now and are joined by the destructor.
    explicit ThreadPool(int num_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// The size the global pool takes from `env_value` (the text of $KILN_NUM_THREADS, or null):
    /// a positive integer (at most 1024), else the hardware threads.
    static int threads_from_env(const char* env_value);

private:
    struct Impl;
    Impl* impl_;
};

}  // namespace kiln::runtime
