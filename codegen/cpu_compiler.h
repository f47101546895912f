#pragma once
/// The CPU backend: loop kernels -> LLVM IR -> O2 for the host CPU -> ORC JIT. No LLVM header
/// leaks out of codegen/.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "ir/loop_kernel.h"
#include "runtime/kernel_fn.h"

namespace kiln::codegen {

struct CompileStats {
    int64_t kernels_compiled = 0;  ///< compiled from scratch by LLVM
    int64_t memory_hits = 0;       ///< found in this compiler's in-memory cache
    int64_t disk_hits = 0;         ///< object code loaded from the disk cache
    double compile_ms = 0;         ///< total time spent in compile() misses
};

/// Compiles loop kernels for the host CPU. Thread-safe. Compiled code lives as long as the
/// compiler (the global one: the whole process).
class CpuCompiler {
public:
    /// A compiler caching objects on disk in `cache_dir` (empty path: no disk cache).
    explicit CpuCompiler(std::filesystem::path cache_dir);
    ~CpuCompiler();
    /// The process-wide compiler, caching in runtime::DiskCache::default_dir().
    static CpuCompiler& global();

    /// The kernel's entry point: memory cache, then disk cache, then LLVM.
    runtime::KernelFn compile(const ir::LoopKernel& kernel);
    /// The kernel's LLVM IR as text, before or after optimization (for `kiln codegen`).
    std::string llvm_ir(const ir::LoopKernel& kernel, bool optimized = true);
    /// The kernel's machine assembly for the host CPU, as the JIT compiles it (`kiln codegen
    /// --target asm`).
    std::string assembly(const ir::LoopKernel& kernel);
    /// Host CPU name and the codegen target features, e.g. "sapphirerapids +avx512f ...".
    std::string target_description() const;
    CompileStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::codegen
