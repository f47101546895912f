// Kiln's transcendental functions: vectorizable straight-line LLVM IR for the CPU backend, and
// the same operations as CUDA C for the CUDA backend (vector_math_algorithms.h).
//
// The loop vectorizer cannot widen calls to libm, so each function is written here as
// polynomials, bit manipulation and selects. There are no branches: every "case" is computed for
// every lane and the right one picked with a select, which is what SIMD code does anyway.
// Special values (NaN, infinities, zeros, denormals) follow C; accuracy is a few ulp (see
// tests/codegen_math). Polynomial coefficients are minimax fits computed for this file
// (Remez exchange in 50-digit arithmetic, then rounded to the target precision); f64 erf uses
// fdlibm's rational approximations (see vector_math_erf.cpp).
//
// This file: the LLVM MathBuilder, exp, log, tanh, sigmoid and the public entry points. Each
// algorithm is instantiated for both builders at the end of its file.
// vector_math_trig.cpp has sin/cos, vector_math_erf.cpp erf, vector_math_pow.cpp pow.
#include "codegen/llvm/vector_math.h"

#include <limits>

#include <llvm/IR/Intrinsics.h>

#include "codegen/cuda/cuda_math.h"
#include "codegen/llvm/vector_math_internal.h"
#include "kiln/error.h"

namespace kiln::codegen {
namespace vmath {

MathBuilder::MathBuilder(llvm::IRBuilder<>& builder, llvm::Type* t) : b(builder), ft(t) {
    llvm::Type* elem = t->getScalarType();
    KILN_CHECK(elem->isFloatTy() || elem->isDoubleTy(),
               "vector math needs float or double elements");
    f64 = elem->isDoubleTy();
    mant_bits = f64 ? 52 : 23;
    bias = f64 ? 1023 : 127;
    it = t->getWithNewType(llvm::Type::getIntNTy(t->getContext(), f64 ? 64 : 32));
}

llvm::Value* MathBuilder::c(double v) const { return llvm::ConstantFP::get(ft, v); }
llvm::Value* MathBuilder::ci(int64_t v) const {
    return llvm::ConstantInt::get(it, static_cast<uint64_t>(v), /*isSigned=*/true);
}
llvm::Value* MathBuilder::inf() const { return c(std::numeric_limits<double>::infinity()); }
llvm::Value* MathBuilder::nan() const { return c(std::numeric_limits<double>::quiet_NaN()); }

llvm::Value* MathBuilder::fma(llvm::Value* x, llvm::Value* y, llvm::Value* z) {
    return b.CreateIntrinsic(llvm::Intrinsic::fma, {ft}, {x, y, z});
}
llvm::Value* MathBuilder::muladd(llvm::Value* x, llvm::Value* y, llvm::Value* z) {
    return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {ft}, {x, y, z});
}
llvm::Value* MathBuilder::fabs(llvm::Value* x) {
    return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
}
llvm::Value* MathBuilder::floor(llvm::Value* x) {
    return b.CreateUnaryIntrinsic(llvm::Intrinsic::floor, x);
}
llvm::Value* MathBuilder::rint(llvm::Value* x) {
    return b.CreateUnaryIntrinsic(llvm::Intrinsic::rint, x);
}
llvm::Value* MathBuilder::copysign(llvm::Value* mag, llvm::Value* sign) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, mag, sign);
}

MathBuilder MathBuilder::wide() const {
    return MathBuilder(b, ft->getWithNewType(llvm::Type::getDoubleTy(ft->getContext())));
}
llvm::Value* MathBuilder::fpext(llvm::Value* x) { return b.CreateFPExt(x, wide().ft); }
llvm::Value* MathBuilder::fptrunc(llvm::Value* x) { return b.CreateFPTrunc(x, ft); }

// exp: x = n*ln2 + r with |r| <= ln2/2 (Cody-Waite with fma: the first step is exact because
// n*ln2_hi and x share a grid of 2^-24 / 2^-53 near the result), e^r by a minimax polynomial,
// then scaled by 2^n in two halves so that results in the denormal range are rounded once and
// 2^n itself never leaves the normal exponent range.
template <class B>
Value<B> exp_impl(B& m, Value<B> x, std::optional<Value<B>> x_lo) {
    using V = Value<B>;
    const bool d = m.f64;
    // Beyond these every result is inf or 0; clamping keeps n small. Ordered compares keep NaN.
    V hi = m.c(d ? 710.0 : 89.0);
    V lo = m.c(d ? -746.0 : -104.0);
    V xc = m.sel(m.gt(x, hi), hi, x);
    xc = m.sel(m.lt(xc, lo), lo, xc);
    // NaN lanes compute with 0 so fptosi below never sees NaN (that would be poison).
    V xs = m.sel(m.isnan(xc), m.c(0.0), xc);
    V n = m.rint(m.mul(xs, m.c(0x1.71547652b82fep+0)));
    V r;
    if (d) {
        r = m.fma(n, m.c(-0x1.62e42fefa39efp-1), xs);
        V r_lo = m.mul(n, m.c(-0x1.abc9e3b39803fp-56));
        if (x_lo) {
            // A clamped input has no meaningful low part (and may be NaN there).
            V keep = m.eq(xc, x);
            r_lo = m.add(r_lo, m.sel(keep, *x_lo, m.c(0.0)));
        }
        // e^(r + r_lo) = e^r (1 + r_lo) with q = e^r - 1 = r + r^2 P(r) (degree 12).
        V r2 = m.mul(r, r);
        V p = poly(m, r,
                   {0.5, 0.1666666666666667, 0.041666666666666685, 0.008333333333326025,
                    0.0013888888888874175, 0.0001984126987520638, 2.480158734787424e-05,
                    2.755725491208913e-06, 2.7557252393783823e-07, 2.5105419698910552e-08,
                    2.0921765044732474e-09});
        V q = m.fma(r2, p, r);
        // 1 + q + r_lo + r_lo*q: only the last additions round.
        V corr = m.fma(r_lo, q, r_lo);
        r = m.add(m.c(1.0), m.add(q, corr));
    } else {
        r = m.fma(n, m.c(-0x1.62e43p-1), xs);
        r = m.fma(n, m.c(0x1.05c61p-29), r);
        V r2 = m.mul(r, r);
        V p = poly(m, r,
                   {0.5, 0.16666576266288757, 0.04166637361049652, 0.00836329534649849,
                    0.0013941323850303888});
        r = m.add(m.c(1.0), m.fma(r2, p, r));
    }
    V k = m.to_int(n);
    V k1 = m.iashr(k, m.ci(1));
    V k2 = m.isub(k, k1);
    V res = m.mul(m.mul(r, pow2i(m, k1)), pow2i(m, k2));
    return m.sel(m.isnan(x), x, res);
}

// log: x = 2^k * mm with mm in [sqrt(1/2), sqrt(2)), f = mm - 1 (exact), s = f/(2+f),
// log(1+f) = f - s*(f - R(s^2)) with R(z) = 2 atanh(s)/s - 2 fitted as z*Q(z) (fdlibm's scheme:
// the division's rounding error is multiplied by s*f, so the result stays under one ulp).
template <class B>
Value<B> log_core(B& m, Value<B> x) {
    using V = Value<B>;
    const bool d = m.f64;
    // Denormals: scale into the normal range and correct the exponent.
    V is_den = m.lt(x, m.c(d ? 0x1p-1022 : 0x1p-126));
    V xs = m.sel(is_den, m.mul(x, m.c(d ? 0x1p54 : 0x1p24)), x);
    V kadj = m.sel(is_den, m.c(d ? -54.0 : -24.0), m.c(0.0));
    const int64_t sqrt_half = d ? 0x3fe6a09e667f3bcdLL : 0x3f3504f3LL;
    V ix = m.isub(m.as_int(xs), m.ci(sqrt_half));
    V k = m.iashr(ix, m.ci(m.mant_bits));
    int64_t mant_mask = (int64_t(1) << m.mant_bits) - 1;
    V mm = m.as_float(m.iadd(m.iand(ix, m.ci(mant_mask)), m.ci(sqrt_half)));
    V f = m.sub(mm, m.c(1.0));
    V s = m.div(f, m.add(m.c(2.0), f));
    V z = m.mul(s, s);
    V q =
        d ? poly(m, z,
                 {0.666666666666667, 0.3999999999989718, 0.2857142862697043, 0.2222221097989766,
                  0.18182899971387864, 0.1533137306814398, 0.14620633755587842})
          : poly(m, z,
                 {0.6666666865348816, 0.4000012278556824, 0.2855065166950226, 0.23334720730781555});
    V R = m.mul(z, q);
    V hfsq = m.mul(m.mul(m.c(0.5), f), f);
    V dk = m.add(m.to_float(k), kadj);
    // ln2 split so that dk*ln2_hi is exact (|dk| < 2^11).
    V ln2_hi = m.c(d ? 0x1.62e42fefa3800p-1 : 0x1.62e4p-1);
    V ln2_lo = m.c(d ? 0x1.ef35793c7673p-45 : 0x1.7f7d1cp-20);
    // dk*ln2_hi - ((hfsq - (s*(hfsq+R) + dk*ln2_lo)) - f)
    V t = m.fma(s, m.add(hfsq, R), m.mul(dk, ln2_lo));
    return m.sub(m.mul(dk, ln2_hi), m.sub(m.sub(hfsq, t), f));
}

template <class B>
Value<B> log_impl(B& m, Value<B> x) {
    using V = Value<B>;
    V res = log_core(m, x);
    res = m.sel(m.eq(x, m.c(0.0)), m.neg(m.inf()), res);
    res = m.sel(m.lt(x, m.c(0.0)), m.nan(), res);
    res = m.sel(m.eq(x, m.inf()), x, res);
    return m.sel(m.isnan(x), x, res);
}

namespace {

// tanh: an odd minimax polynomial below 0.55; above, 1 - 2/(e^(2|x|) + 1), which has no
// cancellation there (the subtracted term is at most 1/2). e^(2|x|) = inf gives exactly 1.
template <class B>
Value<B> tanh_impl(B& m, Value<B> x) {
    using V = Value<B>;
    V ax = m.fabs(x);
    V z = m.mul(x, x);
    V p = m.f64 ? poly(m, z,
                       {-0.3333333333333333, 0.13333333333332742, -0.05396825396746474,
                        0.021869488494964635, -0.00886323442565339, 0.0035921107217943213,
                        -0.0014556644048452614, 0.0005889480119235137, -0.00023466831686262614,
                        8.516532720744826e-05, -2.0637246406723624e-05})
                : poly(m, z,
                       {-0.3333333134651184, 0.13333120942115784, -0.05391069874167442,
                        0.02131609246134758, -0.0066212876699864864});
    V small = m.fma(m.mul(ax, z), p, ax);
    V e = exp_impl(m, m.add(ax, ax));
    V large = m.sub(m.c(1.0), m.div(m.c(2.0), m.add(e, m.c(1.0))));
    // copysign restores the sign (and -0) from x; NaN stays NaN.
    return m.copysign(m.sel(m.lt(ax, m.c(0.55)), small, large), x);
}

// sigmoid: with E = e^-|x| <= 1, 1/(1+E) for x >= 0 and E/(1+E) for x < 0: no cancellation and
// no overflow, and sigmoid(-100) comes out as the denormal e^-100 instead of 0 or NaN.
template <class B>
Value<B> sigmoid_impl(B& m, Value<B> x) {
    using V = Value<B>;
    V e = exp_impl(m, m.neg(m.fabs(x)));
    V num = m.sel(m.ge(x, m.c(0.0)), m.c(1.0), e);  // NaN takes e (NaN)
    return m.div(num, m.add(m.c(1.0), e));
}

}  // namespace

template <class B>
Value<B> math_impl(B& m, ir::Op op, Value<B> x) {
    switch (op) {
    case ir::Op::Exp: return exp_impl(m, x);
    case ir::Op::Log: return log_impl(m, x);
    case ir::Op::Sin: return sincos_impl(m, x, false);
    case ir::Op::Cos: return sincos_impl(m, x, true);
    case ir::Op::Tanh: return tanh_impl(m, x);
    case ir::Op::Sigmoid: return sigmoid_impl(m, x);
    case ir::Op::Erf: return erf_impl(m, x);
    default: KILN_CHECK(false, "vector math: not a math op");
    }
    return {};
}

template llvm::Value* exp_impl(MathBuilder&, llvm::Value*, std::optional<llvm::Value*>);
template std::string exp_impl(cuda::MathWriter&, std::string, std::optional<std::string>);
template llvm::Value* log_core(MathBuilder&, llvm::Value*);
template std::string log_core(cuda::MathWriter&, std::string);
template llvm::Value* math_impl(MathBuilder&, ir::Op, llvm::Value*);
template std::string math_impl(cuda::MathWriter&, ir::Op, std::string);

namespace {

// The caller's IRBuilder may carry fast-math flags; these algorithms depend on exact IEEE
// behaviour (NaN/inf selects, error-free transformations), so they are emitted without them.
struct StrictFp {
    explicit StrictFp(llvm::IRBuilder<>& b) : guard(b) {
        b.setFastMathFlags(llvm::FastMathFlags());
    }
    llvm::IRBuilderBase::FastMathFlagGuard guard;
};

}  // namespace
}  // namespace vmath

llvm::Value* emit_math(llvm::IRBuilder<>& b, ir::Op op, llvm::Value* x) {
    vmath::StrictFp strict(b);
    vmath::MathBuilder m(b, x->getType());
    return vmath::math_impl(m, op, x);
}

llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y) {
    KILN_CHECK(x->getType() == y->getType(), "emit_pow: operands of different types");
    vmath::StrictFp strict(b);
    vmath::MathBuilder m(b, x->getType());
    return vmath::pow_impl(m, x, y);
}

}  // namespace kiln::codegen
