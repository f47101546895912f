#pragma once
/// The host CPU as an LLVM target: native target initialisation, a TargetMachine tuned for this
/// machine, the O2 pipeline and object emission. Only codegen/*.cpp include this header.
#include <memory>
#include <string>

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

namespace kiln::codegen {

/// Initialises LLVM's native target, asm printer and asm parser (once per process; thread-safe).
void init_native_target();

/// What the host CPU is, as LLVM names it.
struct HostCpu {
    std::string triple;    ///< e.g. "x86_64-pc-linux-gnu"
    std::string name;      ///< e.g. "sapphirerapids", "znver5"
    std::string features;  ///< every feature LLVM knows, "+avx512f,-amx-tile,..." (sorted)
    /// The enabled features only ("+avx2,+avx512f,..."), for humans.
    std::string enabled_features;
};

/// Detects the host CPU (calls init_native_target()).
HostCpu detect_host_cpu();

/// A TargetMachine for `cpu` (default codegen level, PIC, small code model, for JIT-linked objects). Throws
/// kiln::InternalError if LLVM has no target for the triple.
std::unique_ptr<llvm::TargetMachine> create_target_machine(const HostCpu& cpu);

/// Runs the new PassBuilder's O2 pipeline (O3 cost about twice the compile time for no measured gain) (loop and SLP vectorization on) over `module`, which
/// must already carry `tm`'s data layout and triple.
void optimize_module(llvm::Module& module, llvm::TargetMachine& tm);

/// Compiles `module` to a relocatable object file in memory. Throws kiln::InternalError when the
/// target cannot emit objects.
llvm::SmallVector<char, 0> emit_object(llvm::Module& module, llvm::TargetMachine& tm);
/// The module's machine assembly (AT&T syntax) for `tm`'s target.
std::string emit_assembly(llvm::Module& module, llvm::TargetMachine& tm);

}  // namespace kiln::codegen
