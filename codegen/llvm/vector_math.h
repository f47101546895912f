#pragma once
/// Vectorizable math for generated kernels: transcendental functions emitted as straight-line
/// LLVM IR (polynomials and selects, no calls), so the loop vectorizer can widen them. Each works
/// on a float/double scalar or a vector of them and returns a value of the same type.
///
/// Accuracy (tests/codegen_math): within ~2.5 ulp for float and double (pow: ~1 ulp); sin/cos
/// keep it for |x| <= 1e4 (float) / 1e5 (double) and stay finite in [-1, 1] beyond. The IR is
/// emitted without fast-math flags (the builder's flags are restored afterwards); callers must
/// not set no-NaNs/no-infs flags or attributes on these functions, or the special cases fold
/// away. Uses llvm.fma for error-free steps: fast on FMA hardware (every x86-64 since 2013).
/// The CUDA backend runs the same algorithms (vector_math_algorithms.h, codegen/cuda/cuda_math.h)
/// and gets the same bits, given FMA hardware here (llvm.fmuladd must fuse, as it does there).
#include <llvm/IR/IRBuilder.h>

#include "ir/op.h"

namespace kiln::codegen {

/// Emits op(x) for op in {Exp, Log, Sin, Cos, Tanh, Sigmoid, Erf}. Semantics follow the C
/// library (NaN in -> NaN out; exp(-inf) = 0; log(0) = -inf; log(x<0) = NaN).
llvm::Value* emit_math(llvm::IRBuilder<>& b, ir::Op op, llvm::Value* x);
/// Emits pow(x, y) with C's special cases (pow(x, 0) = 1, negative x with integral y, ...).
llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y);

}  // namespace kiln::codegen
