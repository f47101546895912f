#pragma once
/// Test and benchmark access to the vector math emitters (vector_math.h) without LLVM headers:
/// JIT-compiled loops `out[i] = f(x[i])` built around emit_math / emit_pow and optimized at O3
/// for the host CPU, as the kernel emitter's loops are.
#include <cstdint>
#include <string>
#include <vector>

#include "ir/op.h"

namespace kiln::codegen {

/// A compiled loop `out[i] = op(x[i])` (`out[i] = pow(x[i], y[i])` for ir::Op::Pow; y is unused
/// otherwise) over n elements of float or double. The code lives as long as the process.
struct MathKernel {
    using Fn = void (*)(const void* x, const void* y, void* out, int64_t n);
    Fn fn = nullptr;           ///< the entry point
    std::string optimized_ir;  ///< the module's LLVM IR after O3 (to check vectorization)
};

/// The loop for `op` (Exp, Log, Sin, Cos, Tanh, Sigmoid, Erf or Pow) over float (f64 false) or
/// double, compiled on first use and cached for the process. Thread-safe. The reference stays
/// valid for the life of the process.
const MathKernel& math_kernel(ir::Op op, bool f64);

/// op(x[i]) for every element, through math_kernel(op, false).
std::vector<float> eval_math_f32(ir::Op op, const std::vector<float>& x);
/// op(x[i]) for every element, through math_kernel(op, true).
std::vector<double> eval_math_f64(ir::Op op, const std::vector<double>& x);
/// pow(x[i], y[i]); x and y have equal sizes.
std::vector<float> eval_pow_f32(const std::vector<float>& x, const std::vector<float>& y);
/// pow(x[i], y[i]); x and y have equal sizes.
std::vector<double> eval_pow_f64(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace kiln::codegen
