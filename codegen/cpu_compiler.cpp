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
#include "codegen/llvm/math_calls.h"
#include "kiln/error.h"
#include "runtime/disk_cache.h"
#include "support/debug.h"
#include "support/profiler.h"

namespace kiln::codegen {
namespace {

/// Bump whenever emission or the pipeline changes what a kernel's object contains: it is part
/// of every cache key, so stale objects on disk are never loaded.
constexpr int kCodegenVersion = 6;

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
    HostCpu cpu;
    uint64_t math_fingerprint = 0;
    std::optional<runtime::DiskCache> disk;  // thread-safe

    /// Compiles run concurrently, each with its own TargetMachine (they are not thread-safe):
    /// idle ones wait here for the next compile.
    std::mutex machines_mutex;
    std::vector<std::unique_ptr<llvm::TargetMachine>> idle_machines;

    /// Linking is serialized: the JIT is thread-safe, but a failed link must not be mixed up
    /// with another thread's, and jit_errors collects the session's reports for one link.
    std::mutex jit_mutex;
    std::string jit_errors;  // reported by the execution session while linking (outlives jit)
    std::unique_ptr<llvm::orc::LLJIT> jit;  // created on first use
    int fresh_dylibs = 0;

    /// One slot per kernel key (and per math library): the first thread to need it compiles,
    /// threads asking meanwhile wait for that result instead of compiling it again (a symbol
    /// may be defined only once in the JIT). A compile that throws leaves the slot to retry.
    struct Slot {
        std::once_flag once;
        runtime::KernelFn fn = nullptr;
    };
    std::mutex slots_mutex;
    std::unordered_map<std::string, std::shared_ptr<Slot>> slots;

    mutable std::mutex stats_mutex;
    CompileStats stats;

    explicit Impl(const std::filesystem::path& cache_dir) {
        cpu = detect_host_cpu();
        math_fingerprint = vector_math_fingerprint();
        if (!cache_dir.empty()) disk.emplace(cache_dir);
    }

    KernelTarget kernel_target() const { return {cpu.name, cpu.features, kPreferVectorWidth}; }

    /// What every cached object's key ends with: the machine and the code generator.
    std::string key_suffix() const {
        return fmt::format("cpu {}\nfeatures {}\nllvm {}\nkiln-cpu-codegen {} math {:016x}\n",
                           cpu.name, cpu.features, LLVM_VERSION_STRING, kCodegenVersion,
                           math_fingerprint);
    }
    std::string cache_key(const ir::LoopKernel& kernel) const {
        return ir::print_loop_kernel(kernel) + key_suffix();
    }
    std::string math_key(const MathFunction& f) const {
        return "math library " + math_symbol(f) + "\n" + key_suffix();
    }

    /// Stable across processes (the symbol is baked into cached objects).
    static std::string symbol_for(const std::string& key) {
        return fmt::format("kiln_k{:016x}", llvm::xxh3_64bits(llvm::StringRef(key)));
    }

    /// A TargetMachine for the calling thread's exclusive use until the lease ends.
    class MachineLease {
    public:
        explicit MachineLease(Impl& impl) : impl_(impl) {
            {
                std::lock_guard lock(impl_.machines_mutex);
                if (!impl_.idle_machines.empty()) {
                    tm_ = std::move(impl_.idle_machines.back());
                    impl_.idle_machines.pop_back();
                }
            }
            if (!tm_) tm_ = create_target_machine(impl_.cpu);
        }
        ~MachineLease() {
            std::lock_guard lock(impl_.machines_mutex);
            impl_.idle_machines.push_back(std::move(tm_));
        }
        MachineLease(const MachineLease&) = delete;
        MachineLease& operator=(const MachineLease&) = delete;
        llvm::TargetMachine& operator*() const { return *tm_; }

    private:
        Impl& impl_;
        std::unique_ptr<llvm::TargetMachine> tm_;
    };

    /// Emits, verifies and (when `optimize`) runs O2 over the kernel's module in `ctx`.
    std::unique_ptr<llvm::Module> build_module(const ir::LoopKernel& kernel,
                                               const std::string& symbol, llvm::LLVMContext& ctx,
                                               llvm::TargetMachine& tm, bool optimize,
                                               std::string& diag_errors) {
        ctx.setDiagnosticHandler(std::make_unique<QuietDiagnostics>(&diag_errors));
        std::unique_ptr<llvm::Module> module =
            emit_kernel_module(kernel, symbol, ctx, tm, kernel_target());
        if (optimize) optimize_module(*module, tm);
        if (!diag_errors.empty())
            throw InternalError("cpu codegen: LLVM failed on kernel '" + kernel.name +
                                "': " + diag_errors);
        return module;
    }

    /// O2 and object code for a module built by `emit` in a fresh context.
    template <class Emit>
    std::string compile_object(const std::string& what, Emit&& emit) {
        MachineLease tm(*this);
        llvm::LLVMContext ctx;
        std::string diag_errors;
        ctx.setDiagnosticHandler(std::make_unique<QuietDiagnostics>(&diag_errors));
        std::unique_ptr<llvm::Module> module = emit(ctx, *tm);
        optimize_module(*module, *tm);
        llvm::SmallVector<char, 0> object;
        if (diag_errors.empty()) object = emit_object(*module, *tm);
        if (!diag_errors.empty())
            throw InternalError("cpu codegen: LLVM failed on " + what + ": " + diag_errors);
        return std::string(object.data(), object.size());
    }

    llvm::orc::LLJIT& get_jit() {  // with jit_mutex held
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

    /// Links `object` into `dylib` and returns its entry point, or an error text (with
    /// jit_mutex held).
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

    /// A new, empty JITDylib that also sees the math library (with jit_mutex held): used after
    /// a cached object failed to link, since the failed symbol may stay defined (in an error
    /// state) in the dylib it was added to.
    llvm::orc::JITDylib& fresh_dylib() {
        auto jd = get_jit().createJITDylib(fmt::format("kiln_retry{}", fresh_dylibs++));
        if (!jd) throw InternalError("cpu codegen: " + llvm_error_text(jd.takeError()));
        jd->addToLinkOrder(get_jit().getMainJITDylib());
        return *jd;
    }

    std::shared_ptr<Slot> slot_for(const std::string& key) {
        std::lock_guard lock(slots_mutex);
        std::shared_ptr<Slot>& slot = slots[key];
        if (!slot) slot = std::make_shared<Slot>();
        return slot;
    }

    /// The object for `key`: from the disk cache, else compiled by `build` and stored there.
    template <class Build>
    std::string object_for(const std::string& key, bool& from_disk, Build&& build) {
        from_disk = false;
        if (disk) {
            if (std::optional<std::string> cached = disk->load(key)) {
                from_disk = true;
                return *cached;
            }
        }
        std::string object = build();
        if (disk) disk->store(key, object);
        return object;
    }

    /// Makes the math library of `f` part of the JIT's main dylib (once per process).
    void ensure_math(const MathFunction& f) {
        std::string key = math_key(f);
        std::shared_ptr<Slot> slot = slot_for(key);
        std::call_once(slot->once, [&] {
            bool from_disk = false;
            std::string object = object_for(key, from_disk, [&] {
                return compile_object(math_symbol(f),
                                      [&](llvm::LLVMContext& ctx, llvm::TargetMachine& tm) {
                                          return emit_math_module(f, ctx, tm, kernel_target());
                                      });
            });
            // The scalar function is looked up so that a broken object fails here, not later
            // in a kernel's link.
            std::lock_guard lock(jit_mutex);
            std::string error;
            if (!link(get_jit().getMainJITDylib(), object, math_symbol(f), error))
                throw InternalError("cpu codegen: cannot link " + math_symbol(f) + ": " + error);
        });
    }

    /// The kernel's LLVM IR as text, before or after optimization.
    std::string llvm_ir_text(const ir::LoopKernel& kernel, bool optimized) {
        MachineLease tm(*this);
        llvm::LLVMContext ctx;
        std::string diag_errors;
        std::string symbol = symbol_for(cache_key(kernel));
        std::unique_ptr<llvm::Module> module =
            build_module(kernel, symbol, ctx, *tm, optimized, diag_errors);
        std::string text;
        llvm::raw_string_ostream os(text);
        module->print(os, nullptr);
        return os.str();
    }

    /// KILN_DEBUG >= 3: the kernel's loop text and optimized LLVM IR on stderr, as one block.
    void print_generated_code(const ir::LoopKernel& kernel, bool from_disk) noexcept {
        try {
            std::string text = fmt::format(
                "[kiln] kernel {} ({}): loop kernel\n{}[kiln] kernel {}: optimized LLVM IR\n{}",
                kernel.name, from_disk ? "loaded from the disk cache" : "compiled",
                ir::print_loop_kernel(kernel), kernel.name, llvm_ir_text(kernel, true));
            support::debug_print(text);
        } catch (const std::exception& e) {
            support::debug_print(
                fmt::format("[kiln] kernel {}: no LLVM IR: {}\n", kernel.name, e.what()));
        } catch (...) {
        }
    }

    runtime::KernelFn compile_new(const ir::LoopKernel& kernel, const std::string& key) {
        support::profiler::Span span("codegen", "codegen");
        if (span) {
            span.set_name("codegen " + kernel.name);
            span.arg("name", kernel.name);
        }
        auto start = std::chrono::steady_clock::now();
        for (const MathFunction& f : math_calls_of(kernel)) ensure_math(f);
        std::string symbol = symbol_for(key);
        auto emit = [&](llvm::LLVMContext& ctx, llvm::TargetMachine& tm) {
            return emit_kernel_module(kernel, symbol, ctx, tm, kernel_target());
        };
        auto compile = [&] { return compile_object("kernel '" + kernel.name + "'", emit); };
        bool from_disk = false;
        std::string object = object_for(key, from_disk, compile);
        std::optional<runtime::KernelFn> fn;
        {
            std::lock_guard lock(jit_mutex);
            std::string error;
            llvm::orc::JITDylib* dylib = &get_jit().getMainJITDylib();
            fn = link(*dylib, object, symbol, error);
            if (!fn && from_disk) {
                // Checksummed but unlinkable (e.g. written by a different build): recompile.
                dylib = &fresh_dylib();
                from_disk = false;
                object = compile();
                fn = link(*dylib, object, symbol, error);
                if (fn && disk) disk->store(key, object);
            }
            if (!fn)
                throw InternalError("cpu codegen: cannot link kernel '" + kernel.name +
                                    "': " + error);
        }
        {
            std::lock_guard lock(stats_mutex);
            ++(from_disk ? stats.disk_hits : stats.kernels_compiled);
            stats.compile_ms +=
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
        }
        if (span) span.arg("source", from_disk ? "disk cache" : "llvm");
        span.finish();
        if (support::debug_level() >= 3) print_generated_code(kernel, from_disk);
        return *fn;
    }

    runtime::KernelFn compile(const ir::LoopKernel& kernel) {
        std::string key = cache_key(kernel);
        std::shared_ptr<Slot> slot = slot_for(key);
        bool compiled_here = false;
        std::call_once(slot->once, [&] {
            slot->fn = compile_new(kernel, key);
            compiled_here = true;
        });
        if (!compiled_here) {
            std::lock_guard lock(stats_mutex);
            ++stats.memory_hits;
        }
        return slot->fn;
    }
};

CpuCompiler::CpuCompiler(std::filesystem::path cache_dir)
    : impl_(std::make_unique<Impl>(cache_dir)) {}

CpuCompiler::~CpuCompiler() = default;

CpuCompiler& CpuCompiler::global() {
    // Never destroyed: kernels handed out must stay valid until the process ends, including
    // during other static destructors.
    static CpuCompiler* compiler = [] {
        support::profiler::Span span("codegen", "codegen setup");  // host CPU, LLVM targets
        return new CpuCompiler(runtime::DiskCache::default_dir());
    }();
    return *compiler;
}

runtime::KernelFn CpuCompiler::compile(const ir::LoopKernel& kernel) {
    return impl_->compile(kernel);
}

std::string CpuCompiler::llvm_ir(const ir::LoopKernel& kernel, bool optimized) {
    return impl_->llvm_ir_text(kernel, optimized);
}

std::string CpuCompiler::assembly(const ir::LoopKernel& kernel) {
    Impl::MachineLease tm(*impl_);
    llvm::LLVMContext ctx;
    std::string diag_errors;
    std::string symbol = Impl::symbol_for(impl_->cache_key(kernel));
    std::unique_ptr<llvm::Module> module =
        impl_->build_module(kernel, symbol, ctx, *tm, true, diag_errors);
    return emit_assembly(*module, *tm);
}

std::string CpuCompiler::target_description() const {
    return impl_->cpu.name + " " + impl_->cpu.enabled_features;
}

CompileStats CpuCompiler::stats() const {
    std::lock_guard<std::mutex> lock(impl_->stats_mutex);
    return impl_->stats;
}

}  // namespace kiln::codegen
