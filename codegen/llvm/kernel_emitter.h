#pragma once
/// Loop kernel -> LLVM module. The module holds an internal `impl` function that takes each
/// kernel buffer as its own `noalias` pointer plus [begin, end), and the exported entry point
/// with the kernel ABI (runtime/kernel_fn.h) that unpacks `buffers` and calls `impl`.
#include <cstdint>
#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "ir/loop_kernel.h"

namespace kiln::codegen {

/// Target attributes put on the kernel's functions.
struct KernelTarget {
    std::string cpu;       ///< "target-cpu"
    std::string features;  ///< "target-features"
    /// "prefer-vector-width" in bits; 0 leaves LLVM's per-CPU default.
    int prefer_vector_width = 512;
};

/// Puts `target`'s cpu, features and vector width on `f` (kernels and the math library alike:
/// calls between them pass vectors in registers only when both sides agree).
void set_target_attributes(llvm::Function* f, const KernelTarget& target);

/// Builds the module of `kernel` with entry point `symbol`, for `tm`'s triple and data layout.
/// Throws kiln::InternalError for a malformed kernel (unbound variable, dtype mismatch, an op
/// that cannot appear in a loop kernel); a kernel with many transcendental expressions calls the
/// math library (math_calls.h) instead of inlining them; the module is verified
/// (llvm::verifyModule) and a verifier failure is an InternalError carrying the verifier's text.
std::unique_ptr<llvm::Module> emit_kernel_module(const ir::LoopKernel& kernel,
                                                 const std::string& symbol, llvm::LLVMContext& ctx,
                                                 const llvm::TargetMachine& tm,
                                                 const KernelTarget& target);

/// A hash of the IR that vector_math.h emits for every function and float type: part of the
/// cache key, so objects built with an older math library are not loaded from disk.
uint64_t vector_math_fingerprint();

}  // namespace kiln::codegen
