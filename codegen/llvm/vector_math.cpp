// Vectorizable transcendental functions emitted as straight-line LLVM IR.
//
// The loop vectorizer cannot widen calls to libm, so each function is written here as
// polynomials, bit manipulation and selects. There are no branches: every "case" is computed for
// every lane and the right one picked with a select, which is what SIMD code does anyway.
// Special values (NaN, infinities, zeros, denormals) follow C; accuracy is a few ulp (see
// tests/codegen_math). Polynomial coefficients are minimax fits computed for this file
// (Remez exchange in 50-digit arithmetic, then rounded to the target precision); f64 erf uses
// fdlibm's rational approximations (see vector_math_erf.cpp).
//
// This file: the MathBuilder helpers, exp, log, tanh, sigmoid and the public entry points.
// vector_math_trig.cpp has sin/cos, vector_math_erf.cpp erf, vector_math_pow.cpp pow.
#include "codegen/llvm/vector_math.h"

#include <limits>

#include <llvm/IR/Intrinsics.h>

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

llvm::Value* MathBuilder::poly(llvm::Value* t, std::initializer_list<double> coeffs) {
    std::vector<llvm::Value*> cs;
    for (double v : coeffs) cs.push_back(c(v));
    return poly(t, cs);
}

llvm::Value* MathBuilder::poly(llvm::Value* t, const std::vector<llvm::Value*>& coeffs) {
    KILN_CHECK(!coeffs.empty(), "empty polynomial");
    // llvm.fmuladd: fused on FMA hardware, plain multiply-add elsewhere (where llvm.fma would
    // become a libm call). Polynomial steps do not need the single rounding; the error-free
    // transformations elsewhere use fma() explicitly.
    auto muladd = [&](llvm::Value* x, llvm::Value* y, llvm::Value* z) {
        return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {ft}, {x, y, z});
    };
    // Estrin's scheme: pairs c[i] + c[i+1] t, then pairs of those with t^2, t^4, ... The
    // dependency chain is log2(n) multiply-adds instead of n (Horner), which matters once a
    // function chains several polynomials (pow, tanh) and out-of-order execution can no longer
    // overlap loop iterations. Callers keep the leading terms outside (x + x^3 P(x^2) and the
    // like), so the slightly different rounding of the tail is far below an ulp.
    std::vector<llvm::Value*> level = coeffs;
    llvm::Value* power = t;
    while (level.size() > 1) {
        std::vector<llvm::Value*> next;
        for (size_t i = 0; i + 1 < level.size(); i += 2)
            next.push_back(muladd(level[i + 1], power, level[i]));
        if (level.size() % 2) next.push_back(level.back());
        level = std::move(next);
        if (level.size() > 1) power = b.CreateFMul(power, power);
    }
    return level[0];
}

llvm::Value* MathBuilder::signbit(llvm::Value* x) { return b.CreateICmpSLT(as_int(x), ci(0)); }

llvm::Value* MathBuilder::pow2i(llvm::Value* k) {
    return as_float(b.CreateShl(b.CreateAdd(k, ci(bias)), ci(mant_bits)));
}

// exp: x = n*ln2 + r with |r| <= ln2/2 (Cody-Waite with fma: the first step is exact because
// n*ln2_hi and x share a grid of 2^-24 / 2^-53 near the result), e^r by a minimax polynomial,
// then scaled by 2^n in two halves so that results in the denormal range are rounded once and
// 2^n itself never leaves the normal exponent range.
llvm::Value* exp_impl(MathBuilder& m, llvm::Value* x, llvm::Value* x_lo) {
    const bool d = m.f64;
    // Beyond these every result is inf or 0; clamping keeps n small. Ordered compares keep NaN.
    llvm::Value* hi = m.c(d ? 710.0 : 89.0);
    llvm::Value* lo = m.c(d ? -746.0 : -104.0);
    llvm::Value* xc = m.sel(m.gt(x, hi), hi, x);
    xc = m.sel(m.lt(xc, lo), lo, xc);
    // NaN lanes compute with 0 so fptosi below never sees NaN (that would be poison).
    llvm::Value* xs = m.sel(m.isnan(xc), m.c(0.0), xc);
    llvm::Value* n = m.rint(m.mul(xs, m.c(0x1.71547652b82fep+0)));
    llvm::Value* r;
    if (d) {
        r = m.fma(n, m.c(-0x1.62e42fefa39efp-1), xs);
        llvm::Value* r_lo = m.mul(n, m.c(-0x1.abc9e3b39803fp-56));
        if (x_lo) {
            // A clamped input has no meaningful low part (and may be NaN there).
            llvm::Value* keep = m.eq(xc, x);
            r_lo = m.add(r_lo, m.sel(keep, x_lo, m.c(0.0)));
        }
        // e^(r + r_lo) = e^r (1 + r_lo) with q = e^r - 1 = r + r^2 P(r) (degree 12).
        llvm::Value* r2 = m.mul(r, r);
        llvm::Value* p =
            m.poly(r, {0.5, 0.1666666666666667, 0.041666666666666685, 0.008333333333326025,
                       0.0013888888888874175, 0.0001984126987520638, 2.480158734787424e-05,
                       2.755725491208913e-06, 2.7557252393783823e-07, 2.5105419698910552e-08,
                       2.0921765044732474e-09});
        llvm::Value* q = m.fma(r2, p, r);
        // 1 + q + r_lo + r_lo*q: only the last additions round.
        llvm::Value* corr = m.fma(r_lo, q, r_lo);
        r = m.add(m.c(1.0), m.add(q, corr));
    } else {
        r = m.fma(n, m.c(-0x1.62e43p-1), xs);
        r = m.fma(n, m.c(0x1.05c61p-29), r);
        llvm::Value* r2 = m.mul(r, r);
        llvm::Value* p = m.poly(r, {0.5, 0.16666576266288757, 0.04166637361049652,
                                    0.00836329534649849, 0.0013941323850303888});
        r = m.add(m.c(1.0), m.fma(r2, p, r));
    }
    llvm::Value* k = m.b.CreateFPToSI(n, m.it);
    llvm::Value* k1 = m.b.CreateAShr(k, m.ci(1));
    llvm::Value* k2 = m.b.CreateSub(k, k1);
    llvm::Value* res = m.mul(m.mul(r, m.pow2i(k1)), m.pow2i(k2));
    return m.sel(m.isnan(x), x, res);
}

// log: x = 2^k * mm with mm in [sqrt(1/2), sqrt(2)), f = mm - 1 (exact), s = f/(2+f),
// log(1+f) = f - s*(f - R(s^2)) with R(z) = 2 atanh(s)/s - 2 fitted as z*Q(z) (fdlibm's scheme:
// the division's rounding error is multiplied by s*f, so the result stays under one ulp).
llvm::Value* log_core(MathBuilder& m, llvm::Value* x) {
    const bool d = m.f64;
    // Denormals: scale into the normal range and correct the exponent.
    llvm::Value* is_den = m.lt(x, m.c(d ? 0x1p-1022 : 0x1p-126));
    llvm::Value* xs = m.sel(is_den, m.mul(x, m.c(d ? 0x1p54 : 0x1p24)), x);
    llvm::Value* kadj = m.sel(is_den, m.c(d ? -54.0 : -24.0), m.c(0.0));
    const int64_t sqrt_half = d ? 0x3fe6a09e667f3bcdLL : 0x3f3504f3LL;
    llvm::Value* ix = m.b.CreateSub(m.as_int(xs), m.ci(sqrt_half));
    llvm::Value* k = m.b.CreateAShr(ix, m.ci(m.mant_bits));
    int64_t mant_mask = (int64_t(1) << m.mant_bits) - 1;
    llvm::Value* mm =
        m.as_float(m.b.CreateAdd(m.b.CreateAnd(ix, m.ci(mant_mask)), m.ci(sqrt_half)));
    llvm::Value* f = m.sub(mm, m.c(1.0));
    llvm::Value* s = m.div(f, m.add(m.c(2.0), f));
    llvm::Value* z = m.mul(s, s);
    llvm::Value* q = d ? m.poly(z, {0.666666666666667, 0.3999999999989718, 0.2857142862697043,
                                    0.2222221097989766, 0.18182899971387864, 0.1533137306814398,
                                    0.14620633755587842})
                       : m.poly(z, {0.6666666865348816, 0.4000012278556824, 0.2855065166950226,
                                    0.23334720730781555});
    llvm::Value* R = m.mul(z, q);
    llvm::Value* hfsq = m.mul(m.mul(m.c(0.5), f), f);
    llvm::Value* dk = m.add(m.b.CreateSIToFP(k, m.ft), kadj);
    // ln2 split so that dk*ln2_hi is exact (|dk| < 2^11).
    llvm::Value* ln2_hi = m.c(d ? 0x1.62e42fefa3800p-1 : 0x1.62e4p-1);
    llvm::Value* ln2_lo = m.c(d ? 0x1.ef35793c7673p-45 : 0x1.7f7d1cp-20);
    // dk*ln2_hi - ((hfsq - (s*(hfsq+R) + dk*ln2_lo)) - f)
    llvm::Value* t = m.fma(s, m.add(hfsq, R), m.mul(dk, ln2_lo));
    return m.sub(m.mul(dk, ln2_hi), m.sub(m.sub(hfsq, t), f));
}

llvm::Value* log_impl(MathBuilder& m, llvm::Value* x) {
    llvm::Value* res = log_core(m, x);
    res = m.sel(m.eq(x, m.c(0.0)), m.neg(m.inf()), res);
    res = m.sel(m.lt(x, m.c(0.0)), m.nan(), res);
    res = m.sel(m.eq(x, m.inf()), x, res);
    return m.sel(m.isnan(x), x, res);
}

namespace {

// tanh: an odd minimax polynomial below 0.55; above, 1 - 2/(e^(2|x|) + 1), which has no
// cancellation there (the subtracted term is at most 1/2). e^(2|x|) = inf gives exactly 1.
llvm::Value* tanh_impl(MathBuilder& m, llvm::Value* x) {
    llvm::Value* ax = m.fabs(x);
    llvm::Value* z = m.mul(x, x);
    llvm::Value* p =
        m.f64 ? m.poly(z, {-0.3333333333333333, 0.13333333333332742, -0.05396825396746474,
                           0.021869488494964635, -0.00886323442565339, 0.0035921107217943213,
                           -0.0014556644048452614, 0.0005889480119235137, -0.00023466831686262614,
                           8.516532720744826e-05, -2.0637246406723624e-05})
              : m.poly(z, {-0.3333333134651184, 0.13333120942115784, -0.05391069874167442,
                           0.02131609246134758, -0.0066212876699864864});
    llvm::Value* small = m.fma(m.mul(ax, z), p, ax);
    llvm::Value* e = exp_impl(m, m.add(ax, ax));
    llvm::Value* large = m.sub(m.c(1.0), m.div(m.c(2.0), m.add(e, m.c(1.0))));
    // copysign restores the sign (and -0) from x; NaN stays NaN.
    return m.copysign(m.sel(m.lt(ax, m.c(0.55)), small, large), x);
}

// sigmoid: with E = e^-|x| <= 1, 1/(1+E) for x >= 0 and E/(1+E) for x < 0: no cancellation and
// no overflow, and sigmoid(-100) comes out as the denormal e^-100 instead of 0 or NaN.
llvm::Value* sigmoid_impl(MathBuilder& m, llvm::Value* x) {
    llvm::Value* e = exp_impl(m, m.neg(m.fabs(x)));
    llvm::Value* num = m.sel(m.ge(x, m.c(0.0)), m.c(1.0), e);  // NaN takes e (NaN)
    return m.div(num, m.add(m.c(1.0), e));
}

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
    switch (op) {
    case ir::Op::Exp: return vmath::exp_impl(m, x);
    case ir::Op::Log: return vmath::log_impl(m, x);
    case ir::Op::Sin: return vmath::sincos_impl(m, x, false);
    case ir::Op::Cos: return vmath::sincos_impl(m, x, true);
    case ir::Op::Tanh: return vmath::tanh_impl(m, x);
    case ir::Op::Sigmoid: return vmath::sigmoid_impl(m, x);
    case ir::Op::Erf: return vmath::erf_impl(m, x);
    default: KILN_CHECK(false, "emit_math: not a math op");
    }
    return nullptr;
}

llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y) {
    KILN_CHECK(x->getType() == y->getType(), "emit_pow: operands of different types");
    vmath::StrictFp strict(b);
    vmath::MathBuilder m(b, x->getType());
    return vmath::pow_impl(m, x, y);
}

}  // namespace kiln::codegen
