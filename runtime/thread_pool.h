#pragma once
/// The runtime's worker threads. Size: $KILN_NUM_THREADS, default the hardware threads.
#include <cstdint>
#include <functional>

namespace kiln::runtime {

class ThreadPool {
public:
    /// The process-wide pool (created on first use).
    static ThreadPool& global();
    /// Threads that run work, the calling thread included.
    int num_threads() const;
    /// Calls fn(begin, end) on disjoint chunks covering [0, n), at least `min_chunk` long
    /// (except the last), in parallel; returns when all are done. The calling thread takes part.
    /// An exception thrown by fn is rethrown here (the first one). Nested calls run inline.
    void parallel_for(int64_t n, int64_t min_chunk,
                      const std::function<void(int64_t begin, int64_t end)>& fn);
};

}  // namespace kiln::runtime
