#pragma once
/// Profiling: a trace of what Kiln does, for chrome://tracing or https://ui.perfetto.dev.
///
/// ```cpp
/// kiln::profiler::start();
/// for (int i = 0; i < 10; ++i) train_step();
/// kiln::profiler::stop("trace.json");   // open it in Perfetto
/// ```
///
/// Or, without changing the program: `KILN_PROFILE=trace.json ./train` profiles the whole run
/// and writes the file when the process exits normally (returning from main or calling exit()).
///
/// The trace is Chrome's JSON format, `{"traceEvents": [...]}`, of complete events (`"ph": "X"`,
/// `ts` and `dur` in microseconds since start(), `pid`, `tid`, `name`, `cat`, `args`), one row
/// per thread (pool workers are named "kiln worker N"). Events nest by time on a thread:
///
///   record OP        cat "record": each op recorded; args shape, dtype
///   realize          cat "realize"; args outputs, requested, nodes, inputs, cache (hit/miss)
///     canonicalize   cat "realize"
///     compile        cat "compile", on a program cache miss; args steps, kernels
///       pass NAME    cat "pass": simplify, split, colsums, fusion, lower, merge
///       codegen NAME cat "codegen": a kernel compiled by LLVM or loaded from the disk cache;
///                    args name, source. Kernels compile in parallel: these are on the pool
///                    workers' rows too ("codegen setup": the compiler's first use)
///     execute        cat "execute"; args steps
///       kernel NAME  cat "kernel"; args name, bytes (all its buffers), elements (written),
///                    outer (the extent split across threads)
///         chunk NAME cat "chunk": one thread's part of a kernel, on that thread's row; args
///                    begin, end
///       matmul 64x784x512 f32, conv ..., gather ..., scatter_add ...
///                    cat "extern"; args name, bytes
///
/// Cost: with the profiler off, each instrumented place tests one atomic flag; recording an op
/// is not measurably slower. With it on, recording an op costs ~0.3 µs more (one event).
/// Each thread keeps at most 2^20 events per session; later ones are counted, not kept
/// (`"otherData": {"dropped_events": N}`).
#include <filesystem>

namespace kiln::profiler {

/// Starts a session: events from now on are kept (from every thread), with timestamps relative
/// to this call. Throws kiln::Error if a session is already running (an earlier start(), or
/// KILN_PROFILE).
void start();

/// Ends the session and writes its trace to `path` (replacing an existing file). The file is
/// written under a temporary name and renamed into place, so it is either complete or absent.
/// The session ends even when writing fails; the failure is a kiln::Error naming the path and
/// the problem (e.g. "profiler: cannot write the trace /tmp/x/trace.json: No such file or
/// directory"). Throws kiln::Error when no session is running.
void stop(const std::filesystem::path& path);

/// True while a session runs.
bool running() noexcept;

}  // namespace kiln::profiler
