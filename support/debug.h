#pragma once
/// Kiln's environment variables, all in one place. Each is read once per process, at its first
/// use (changing it later has no effect), and a bad value never makes a program fail.
///
///   KILN_DEBUG=N      diagnostics on stderr, each level adding to the one below:
///                     1  the time of every pass of every compile ("[kiln] pass fusion 0.412 ms");
///                     2  also the pass's result after it (graph, fusion plan, loop kernels);
///                     3  also the generated code of every kernel the process compiles or loads
///                        from the disk cache: its loop-kernel text and its optimized LLVM IR;
///                     4  also every launch a program runs (kernel, matmul, conv, gather/scatter),
///                        one line each with its wall time ("[kiln] launch kernel k3 0.021 ms
///                        ...").
///                     Unset, empty, 0 or not a number: off.
///   KILN_DUMP=DIR     every graph a realize runs is written as DIR/graph_NNNN.kir (canonical
///                     form, for `kiln dump/fuse/codegen/run`); when that realize compiled its
///                     program, the program's kernels go to DIR/graph_NNNN.kernels.txt (each
///                     kernel's loop text and optimized LLVM IR, and the extern calls); a graph
///                     whose program came from the cache gets the same file (a hard link to the
///                     kernels file of the graph it was compiled for). See frontend/dump.h.
///   KILN_PROFILE=FILE a Chrome / Perfetto trace of the whole run (recording, passes, compiles,
///                     kernels, per thread) written to FILE when the process exits normally;
///                     kiln::profiler::start()/stop() do the same for a part of a program. See
///                     include/kiln/profiler.h and support/profiler.h.
///   KILN_CACHE_DIR    compiled kernels and the math library (default ~/.cache/kiln); read by
///                     runtime/disk_cache.cpp.
///   KILN_NUM_THREADS  size of the thread pool (default: the CPUs the process may use); read by
///                     runtime/thread_pool.cpp.
///
/// support/ is Kiln's lowest layer: it includes nothing else of Kiln but public headers
/// (kiln/error.h, kiln/profiler.h), so every layer may use it.
#include <filesystem>
#include <string_view>

namespace kiln::support {

/// KILN_DEBUG as a level 0..4 (larger values count as 4).
int debug_level() noexcept;

/// The KILN_DUMP directory, or nullptr when unset or empty.
const std::filesystem::path* dump_dir() noexcept;

/// The KILN_PROFILE file, or nullptr when unset or empty.
const std::filesystem::path* profile_path() noexcept;

/// Writes `text` to stderr as one block, so that the diagnostics of threads compiling or
/// running at the same time do not interleave. Never throws.
void debug_print(std::string_view text) noexcept;

}  // namespace kiln::support
