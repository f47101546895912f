#pragma once
/// Vectorizable math for generated kernels: transcendental functions emitted as straight-line
/// LLVM IR (polynomials and selects, no calls), so the loop vectorizer can widen them. Each works
/// on a float/double scalar or a vector of them and returns a value of the same type.
#include <llvm/IR/IRBuilder.h>

#include "ir/op.h"

namespace kiln::codegen {

/// Emits op(x) for op in {Exp, Log, Sin, Cos, Tanh, Sigmoid, Erf}. Semantics follow the C
/// library (NaN in -> NaN out; exp(-inf) = 0; log(0) = -inf; log(x<0) = NaN).
llvm::Value* emit_math(llvm::IRBuilder<>& b, ir::Op op, llvm::Value* x);
/// Emits pow(x, y) with C's special cases (pow(x, 0) = 1, negative x with integral y, ...).
llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y);

}  // namespace kiln::codegen
