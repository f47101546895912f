#pragma once
/// Out-of-line math for big kernels. vector_math.h emits each transcendental function as ~50
/// straight-line instructions, which is fastest at run time but costs LLVM 3-7 ms per call site
/// to optimize and compile; a kernel with hundreds of them takes seconds. Such kernels call the
/// same functions instead: a scalar `kiln_math_<op>_<dtype>` and vector variants
/// `..._v<N>` mapped through the "vector-function-abi-variant" attribute, so the loop vectorizer
/// still widens the loop and calls the N-lane variant. The functions are compiled once per
/// process (per op and dtype) into a math library object by CpuCompiler; their bodies are the
/// vector_math.h code, so results are bit-identical to the inline form.
#include <string>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "codegen/llvm/kernel_emitter.h"
#include "ir/loop_kernel.h"

namespace kiln::codegen {

/// Kernels with more distinct transcendental expressions than this call the math library.
inline constexpr int kMaxInlineMath = 6;

/// One math library: the functions of one op for one float dtype.
struct MathFunction {
    ir::Op op;    ///< Exp, Log, Sin, Cos, Tanh, Sigmoid, Erf or Pow
    DType dtype;  ///< Float32 or Float64
    bool operator==(const MathFunction&) const = default;
};

/// The math functions `kernel` calls (empty when it inlines its math: it has at most
/// kMaxInlineMath transcendental expressions). Sorted by op then dtype.
std::vector<MathFunction> math_calls_of(const ir::LoopKernel& kernel);

/// "kiln_math_sin_f32" (lanes 0) or "kiln_math_sin_f32_v8".
std::string math_symbol(const MathFunction& f, int lanes = 0);

/// A module defining the scalar function and every vector variant of `f` for `target`.
std::unique_ptr<llvm::Module> emit_math_module(const MathFunction& f, llvm::LLVMContext& ctx,
                                               const llvm::TargetMachine& tm,
                                               const KernelTarget& target);

/// Emits a call of the math library's `op` on `args` (1, or 2 for pow) in `b`'s module,
/// declaring the function and its vector variants there.
llvm::Value* emit_math_call(llvm::IRBuilder<>& b, ir::Op op, const std::vector<llvm::Value*>& args,
                            const KernelTarget& target);

}  // namespace kiln::codegen
