#pragma once
/// Internal helpers shared by the vector math emitters (vector_math*.cpp). Not part of Kiln's
/// interface: only codegen/llvm includes it.
///
/// Every helper emits straight-line IR (arithmetic, bit casts, integer ops, selects and
/// intrinsics that the loop vectorizer widens: fma, fabs, floor, rint, copysign), so a loop
/// calling them stays one basic block and vectorizes.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <llvm/IR/IRBuilder.h>

namespace kiln::codegen::vmath {

/// Emits code for one floating type: float or double, scalar or fixed vector. Constants are
/// splats of that type, so the same emitter code serves all four shapes.
class MathBuilder {
public:
    /// Emits through `b` for values of type `t` (float/double or a vector of them).
    MathBuilder(llvm::IRBuilder<>& b, llvm::Type* t);

    llvm::IRBuilder<>& b;
    llvm::Type* ft;  ///< the floating type (scalar or vector)
    llvm::Type* it;  ///< the integer type of the same width and shape
    bool f64;        ///< element is double
    int mant_bits;   ///< 23 or 52
    int bias;        ///< 127 or 1023

    llvm::Value* c(double v) const;    ///< floating constant (splat)
    llvm::Value* ci(int64_t v) const;  ///< integer constant (splat)
    llvm::Value* inf() const;
    llvm::Value* nan() const;

    llvm::Value* add(llvm::Value* x, llvm::Value* y) { return b.CreateFAdd(x, y); }
    llvm::Value* sub(llvm::Value* x, llvm::Value* y) { return b.CreateFSub(x, y); }
    llvm::Value* mul(llvm::Value* x, llvm::Value* y) { return b.CreateFMul(x, y); }
    llvm::Value* div(llvm::Value* x, llvm::Value* y) { return b.CreateFDiv(x, y); }
    llvm::Value* neg(llvm::Value* x) { return b.CreateFNeg(x); }
    /// x*y + z with one rounding (llvm.fma).
    llvm::Value* fma(llvm::Value* x, llvm::Value* y, llvm::Value* z);
    llvm::Value* fabs(llvm::Value* x);
    llvm::Value* floor(llvm::Value* x);
    llvm::Value* rint(llvm::Value* x);
    llvm::Value* copysign(llvm::Value* mag, llvm::Value* sign);
    /// coeffs[0] + t*coeffs[1] + ... (Estrin's scheme with llvm.fmuladd).
    llvm::Value* poly(llvm::Value* t, std::initializer_list<double> coeffs);
    /// The same with per-lane coefficients (already emitted values).
    llvm::Value* poly(llvm::Value* t, const std::vector<llvm::Value*>& coeffs);

    // Ordered comparisons are false for NaN; that is relied on to keep NaN flowing through
    // the select-based clamps below.
    llvm::Value* lt(llvm::Value* x, llvm::Value* y) { return b.CreateFCmpOLT(x, y); }
    llvm::Value* le(llvm::Value* x, llvm::Value* y) { return b.CreateFCmpOLE(x, y); }
    llvm::Value* gt(llvm::Value* x, llvm::Value* y) { return b.CreateFCmpOGT(x, y); }
    llvm::Value* ge(llvm::Value* x, llvm::Value* y) { return b.CreateFCmpOGE(x, y); }
    llvm::Value* eq(llvm::Value* x, llvm::Value* y) { return b.CreateFCmpOEQ(x, y); }
    llvm::Value* ne(llvm::Value* x, llvm::Value* y) { return b.CreateFCmpONE(x, y); }
    llvm::Value* isnan(llvm::Value* x) { return b.CreateFCmpUNO(x, x); }
    llvm::Value* sel(llvm::Value* cond, llvm::Value* x, llvm::Value* y) {
        return b.CreateSelect(cond, x, y);
    }
    llvm::Value* and_(llvm::Value* x, llvm::Value* y) { return b.CreateAnd(x, y); }
    llvm::Value* or_(llvm::Value* x, llvm::Value* y) { return b.CreateOr(x, y); }
    llvm::Value* not_(llvm::Value* x) { return b.CreateNot(x); }

    llvm::Value* as_int(llvm::Value* x) { return b.CreateBitCast(x, it); }
    llvm::Value* as_float(llvm::Value* i) { return b.CreateBitCast(i, ft); }
    /// True where the sign bit of x is set (also for -0 and negative NaN).
    llvm::Value* signbit(llvm::Value* x);
    /// 2^k for integer k in the normal exponent range (no checks).
    llvm::Value* pow2i(llvm::Value* k);
};

/// exp(x) without its own NaN handling beyond propagation; `x_lo`, when given, is a small
/// correction added to x (double-double input, used by pow). Overflow gives inf, underflow
/// gradual denormals then 0. NaN in gives NaN.
llvm::Value* exp_impl(MathBuilder& m, llvm::Value* x, llvm::Value* x_lo = nullptr);
/// log(x) for finite x > 0 (denormals included); other inputs give unspecified finite or NaN
/// values (no poison), to be replaced by the caller's special cases.
llvm::Value* log_core(MathBuilder& m, llvm::Value* x);
/// log(x) with C's special cases.
llvm::Value* log_impl(MathBuilder& m, llvm::Value* x);
/// sin(x) (is_cos false) or cos(x).
llvm::Value* sincos_impl(MathBuilder& m, llvm::Value* x, bool is_cos);
/// erf(x).
llvm::Value* erf_impl(MathBuilder& m, llvm::Value* x);
/// pow(x, y) with C99's special cases.
llvm::Value* pow_impl(MathBuilder& m, llvm::Value* x, llvm::Value* y);

}  // namespace kiln::codegen::vmath
