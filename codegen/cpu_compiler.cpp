#include "codegen/cpu_compiler.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>

#include "codegen/llvm/host_target.h"
#include "codegen/llvm/kernel_emitter.h"
#include "kiln/error.h"
#include "runtime/disk_cache.h"

namespace kiln::codegen {
namespace {

/// Bump whenever emission or the pipeline changes what a kernel's object contains: it is part
/// of every cache key, so stale objects on disk are never loaded.
constexpr int kCodegenVersion = 2;

/// Vector width the loop vectorizer aims for (bits).
constexpr int kPreferVectorWidth = 512;

std::string llvm_error_text(llvm::Error err) { return llvm::toString(std::move(err)); }

/// Keeps LLVM's warnings and remarks (e.g. "loop not vectorized") off the user's stderr and
/// collects errors, which are turned into exceptions by the caller.
class QuietDiagnostics : public llvm::DiagnosticHandler {
public:
    explicit QuietDiagnostics(std::string* errors) : errors_(errors) {}
    bool handleDiagnostics(const llvm::DiagnosticInfo& info) override {
        if (info.getSeverity() == llvm::DS_Error) {
            llvm::raw_string_ostream os(*errors_);
            llvm::DiagnosticPrinterRawOStream printer(os);
            info.print(printer);
            os << "\n";
        }
        return true;
    }

private:
    std::string* errors_;
};

}  // namespace

struct CpuCompiler::Impl {
    std::mutex mutex;
    HostCpu cpu;
    std::unique_ptr<llvm::TargetMachine> tm;
    std::string jit_errors;  // reported by the execution session while linking (outlives jit)
    std::unique_ptr<llvm::orc::LLJIT> jit;  // created on first use
    std::optional<runtime::DiskCache> disk;
    std::unordered_map<std::string, runtime::KernelFn> memory;
    CompileStats stats;
    int fresh_dylibs = 0;

    uint64_t math_fingerprint = 0;

    explicit Impl(const std::filesystem::path& cache_dir) {
        cpu = detect_host_cpu();
        tm = create_target_machine(cpu);
        math_fingerprint = vector_math_fingerprint();
        if (!cache_dir.empty()) disk.emplace(cache_dir);
    }

    KernelTarget kernel_target() const { return {cpu.name, cpu.features, kPreferVectorWidth}; }

    std::string cache_key(const ir::LoopKernel& kernel) const {
        return fmt::format("{}cpu {}\nfeatures {}\nllvm {}\nkiln-cpu-codegen {} math {:016x}\n",
                           ir::print_loop_kernel(kernel), cpu.name, cpu.features,
                           LLVM_VERSION_STRING, kCodegenVersion, math_fingerprint);
    }

    /// Stable across processes (the symbol is baked into cached objects).
    static std::string symbol_for(const std::string& key) {
        return fmt::format("kiln_k{:016x}", llvm::xxh3_64bits(llvm::StringRef(key)));
    }

    /// Emits, verifies and (when `optimize`) runs O2 over the kernel's module in `ctx`.
    std::unique_ptr<llvm::Module> build_module(const ir::LoopKernel& kernel,
                                               const std::string& symbol, llvm::LLVMContext& ctx,
                                               bool optimize, std::string& diag_errors) {
        ctx.setDiagnosticHandler(std::make_unique<QuietDiagnostics>(&diag_errors));
        std::unique_ptr<llvm::Module> module =
            emit_kernel_module(kernel, symbol, ctx, *tm, kernel_target());
        if (optimize) optimize_module(*module, *tm);
        if (!diag_errors.empty())
            throw InternalError("cpu codegen: LLVM failed on kernel '" + kernel.name +
                                "': " + diag_errors);
        return module;
    }

    std::string compile_object(const ir::LoopKernel& kernel, const std::string& symbol) {
        llvm::LLVMContext ctx;
        std::string diag_errors;
        std::unique_ptr<llvm::Module> module = build_module(kernel, symbol, ctx, true, diag_errors);
        llvm::SmallVector<char, 0> object = emit_object(*module, *tm);
        if (!diag_errors.empty())
            throw InternalError("cpu codegen: LLVM failed on kernel '" + kernel.name +
                                "': " + diag_errors);
        return std::string(object.data(), object.size());
    }

    llvm::orc::LLJIT& get_jit() {
        if (jit) return *jit;
        auto created = llvm::orc::LLJITBuilder()
                           .setJITTargetMachineBuilder(
                               llvm::orc::JITTargetMachineBuilder(llvm::Triple(cpu.triple)))
                           .create();
        if (!created)
            throw InternalError("cpu codegen: cannot create the LLVM JIT: " +
                                llvm_error_text(created.takeError()));
        jit = std::move(*created);
        // Link failures come back as llvm::Error from lookup; keep the session's own report
        // (printed to stderr by default) for the exception text instead.
        jit->getExecutionSession().setErrorReporter(
            [this](llvm::Error err) { jit_errors += llvm_error_text(std::move(err)) + "\n"; });
        return *jit;
    }

    /// Links `object` into `dylib` and returns its entry point, or an error text.
    std::optional<runtime::KernelFn> link(llvm::orc::JITDylib& dylib, const std::string& object,
                                          const std::string& symbol, std::string& error) {
        llvm::orc::LLJIT& j = get_jit();
        jit_errors.clear();
        auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, symbol);
        if (llvm::Error err = j.addObjectFile(dylib, std::move(buffer))) {
            error = llvm_error_text(std::move(err));
            return std::nullopt;
        }
        auto addr = j.lookup(dylib, symbol);
        if (!addr) {
            error = llvm_error_text(addr.takeError()) + "\n" + jit_errors;
            return std::nullopt;
        }
        return addr->toPtr<runtime::KernelFn>();
    }

    /// A new, empty JITDylib: used after a cached object failed to link, since the failed
    /// symbol may stay defined (in an error state) in the dylib it was added to.
    llvm::orc::JITDylib& fresh_dylib() {
        auto jd = get_jit().createJITDylib(fmt::format("kiln_retry{}", fresh_dylibs++));
        if (!jd) throw InternalError("cpu codegen: " + llvm_error_text(jd.takeError()));
        return *jd;
    }

    runtime::KernelFn compile(const ir::LoopKernel& kernel) {
        std::lock_guard<std::mutex> lock(mutex);
        std::string key = cache_key(kernel);
        if (auto it = memory.find(key); it != memory.end()) {
            ++stats.memory_hits;
            return it->second;
        }
        auto start = std::chrono::steady_clock::now();
        auto finish = [&](runtime::KernelFn fn) {
            memory.emplace(key, fn);
            stats.compile_ms +=
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
            return fn;
        };
        std::string symbol = symbol_for(key);
        llvm::orc::JITDylib* dylib = &get_jit().getMainJITDylib();
        if (disk) {
            if (std::optional<std::string> cached = disk->load(key)) {
                std::string error;
                if (auto fn = link(*dylib, *cached, symbol, error)) {
                    ++stats.disk_hits;
                    return finish(*fn);
                }
                // Checksummed but unlinkable (e.g. written by a different build): recompile.
                dylib = &fresh_dylib();
            }
        }
        std::string object = compile_object(kernel, symbol);
        ++stats.kernels_compiled;
        std::string error;
        std::optional<runtime::KernelFn> fn = link(*dylib, object, symbol, error);
        if (!fn)
            throw InternalError("cpu codegen: cannot link kernel '" + kernel.name + "': " + error);
        if (disk) disk->store(key, object);
        return finish(*fn);
    }
};

CpuCompiler::CpuCompiler(std::filesystem::path cache_dir)
    : impl_(std::make_unique<Impl>(cache_dir)) {}

CpuCompiler::~CpuCompiler() = default;

CpuCompiler& CpuCompiler::global() {
    // Never destroyed: kernels handed out must stay valid until the process ends, including
    // during other static destructors.
    static CpuCompiler* compiler = new CpuCompiler(runtime::DiskCache::default_dir());
    return *compiler;
}

runtime::KernelFn CpuCompiler::compile(const ir::LoopKernel& kernel) {
    return impl_->compile(kernel);
}

std::string CpuCompiler::llvm_ir(const ir::LoopKernel& kernel, bool optimized) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    llvm::LLVMContext ctx;
    std::string diag_errors;
    std::string symbol = Impl::symbol_for(impl_->cache_key(kernel));
    std::unique_ptr<llvm::Module> module =
        impl_->build_module(kernel, symbol, ctx, optimized, diag_errors);
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os, nullptr);
    return os.str();
}

std::string CpuCompiler::target_description() const {
    return impl_->cpu.name + " " + impl_->cpu.enabled_features;
}

CompileStats CpuCompiler::stats() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->stats;
}

}  // namespace kiln::codegen
