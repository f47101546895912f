#pragma once
/// Kiln's transcendental functions, written once for two emitters (internal to codegen/): the
/// LLVM IR builder of the CPU backend (vmath::MathBuilder, vector_math_internal.h) and the CUDA C
/// writer of the CUDA backend (cuda::MathWriter, codegen/cuda/cuda_math.h). Both emit the same
/// IEEE operations in the same order, so a kernel computes bit-identical results on either.
///
/// The algorithms are templates over the builder `B`, defined in vector_math*.cpp and
/// instantiated there for both builders. A builder emits code for one floating type (float or
/// double; the LLVM one also for vectors of them) and has:
/// - `Value`: what its operations return and take (llvm::Value*; a CUDA C expression);
/// - `f64`, `mant_bits` (23/52), `bias` (127/1023);
/// - constants: `c(double)` (rounded to the type), `ci(int64_t)` (the same-width integer),
///   `inf()`, `nan()`;
/// - floating operations, each one IEEE operation rounded once: `add sub mul div neg fma`,
///   `muladd` (x*y + z with one rounding: llvm.fmuladd, which fuses on the FMA hardware Kiln's
///   CPU backend targets; fma on CUDA),
///   `fabs floor rint copysign`;
/// - ordered comparisons (false for NaN) `lt le gt ge eq ne`, `isnan`, giving masks; mask
///   operations `and_ or_ not_`; `sel(mask, x, y)` on floating values;
/// - bit casts `as_int as_float`; integer `iadd isub ishl iashr iand ixor` (wrapping) and
///   comparisons `ieq ine ilt` (ieq also compares masks); conversions `to_int` (toward zero;
///   callers keep the value in range) and `to_float`;
/// - `wide()`: the builder for double of the same shape, with `fpext`/`fptrunc` into and out
///   of it.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "ir/op.h"
#include "kiln/error.h"

namespace kiln::codegen::vmath {

/// What builder B's operations return.
template <class B>
using Value = typename B::Value;

/// coeffs[0] + t*coeffs[1] + ... by Estrin's scheme: pairs c[i] + c[i+1] t, then pairs of those
/// with t^2, t^4, ... The dependency chain is log2(n) multiply-adds instead of n (Horner), which
/// matters once a function chains several polynomials (pow, tanh) and out-of-order execution can
/// no longer overlap loop iterations. Callers keep the leading terms outside (x + x^3 P(x^2) and
/// the like), so the slightly different rounding of the tail is far below an ulp.
template <class B>
Value<B> poly(B& m, Value<B> t, const std::vector<Value<B>>& coeffs) {
    KILN_CHECK(!coeffs.empty(), "empty polynomial");
    std::vector<Value<B>> level = coeffs;
    Value<B> power = t;
    while (level.size() > 1) {
        std::vector<Value<B>> next;
        for (size_t i = 0; i + 1 < level.size(); i += 2)
            next.push_back(m.muladd(level[i + 1], power, level[i]));
        if (level.size() % 2) next.push_back(level.back());
        level = std::move(next);
        if (level.size() > 1) power = m.mul(power, power);
    }
    return level[0];
}

/// The same with constant coefficients.
template <class B>
Value<B> poly(B& m, Value<B> t, std::initializer_list<double> coeffs) {
    std::vector<Value<B>> cs;
    for (double v : coeffs) cs.push_back(m.c(v));
    return poly(m, t, cs);
}

/// True where the sign bit of x is set (also for -0 and negative NaN).
template <class B>
Value<B> signbit(B& m, Value<B> x) {
    return m.ilt(m.as_int(x), m.ci(0));
}

/// 2^k for integer k in the normal exponent range (no checks).
template <class B>
Value<B> pow2i(B& m, Value<B> k) {
    return m.as_float(m.ishl(m.iadd(k, m.ci(m.bias)), m.ci(m.mant_bits)));
}

/// exp(x) without its own NaN handling beyond propagation; `x_lo`, when given, is a small
/// correction added to x (double-double input, used by pow). Overflow gives inf, underflow
/// gradual denormals then 0. NaN in gives NaN.
template <class B>
Value<B> exp_impl(B& m, Value<B> x, std::optional<Value<B>> x_lo = std::nullopt);
/// log(x) for finite x > 0 (denormals included); other inputs give unspecified finite or NaN
/// values (no poison), to be replaced by the caller's special cases.
template <class B>
Value<B> log_core(B& m, Value<B> x);
/// log(x) with C's special cases.
template <class B>
Value<B> log_impl(B& m, Value<B> x);
/// sin(x) (is_cos false) or cos(x).
template <class B>
Value<B> sincos_impl(B& m, Value<B> x, bool is_cos);
/// erf(x).
template <class B>
Value<B> erf_impl(B& m, Value<B> x);
/// pow(x, y) with C99's special cases.
template <class B>
Value<B> pow_impl(B& m, Value<B> x, Value<B> y);
/// op(x) for op in {Exp, Log, Sin, Cos, Tanh, Sigmoid, Erf} (vector_math.h has the semantics).
template <class B>
Value<B> math_impl(B& m, ir::Op op, Value<B> x);

}  // namespace kiln::codegen::vmath
