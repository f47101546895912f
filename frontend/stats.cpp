#include "kiln/stats.h"

#include "codegen/cpu_compiler.h"
#include "frontend/realize_stats.h"
#include "runtime/executor.h"

namespace kiln {
namespace {
/// Counters are monotonic in their layers; reset_stats() records a baseline to subtract.
Stats& baseline() {
    static Stats b;
    return b;
}

Stats raw() {
    Stats s;
    auto& rc = detail::realize_counters();
    s.realizations = rc.realizations;
    s.program_cache_hits = rc.program_cache_hits;
    s.program_cache_misses = rc.program_cache_misses;
    codegen::CompileStats c = codegen::CpuCompiler::global().stats();
    s.kernels_compiled = c.kernels_compiled;
    s.kernel_memory_hits = c.memory_hits;
    s.kernel_disk_hits = c.disk_hits;
    runtime::ExecutorStats e = runtime::executor_stats();
    s.kernels_launched = e.kernels_launched;
    s.extern_calls = e.extern_calls;
    return s;
}
}  // namespace

namespace detail {
RealizeCounters& realize_counters() {
    static RealizeCounters c;
    return c;
}
}  // namespace detail

Stats stats() {
    Stats s = raw();
    const Stats& b = baseline();
    s.realizations -= b.realizations;
    s.program_cache_hits -= b.program_cache_hits;
    s.program_cache_misses -= b.program_cache_misses;
    s.kernels_compiled -= b.kernels_compiled;
    s.kernel_memory_hits -= b.kernel_memory_hits;
    s.kernel_disk_hits -= b.kernel_disk_hits;
    s.kernels_launched -= b.kernels_launched;
    s.extern_calls -= b.extern_calls;
    return s;
}

void reset_stats() { baseline() = raw(); }

}  // namespace kiln
