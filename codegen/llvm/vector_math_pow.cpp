// pow as straight-line IR (see vector_math.cpp for the ground rules).
//
// |pow(x, y)| = exp(y * log|x|), computed with more precision than the result type: an error e
// in y*log|x| becomes a relative error e in the result, and y*log|x| reaches ~745 (double) or
// ~104 (float) before the result leaves the finite range.
// - float: log and exp in double (errors ~2^-52 relative), then rounded once to float.
// - double: log|x| as a double-double (error ~2^-64 relative), the product y*log|x| as a
//   double-double (fma two-product), and exp of that pair (exp_impl's low-part input).
// The sign and C99's special cases (F.9.4.4) are applied with selects afterwards.
#include "codegen/llvm/vector_math_internal.h"

namespace kiln::codegen::vmath {
namespace {

struct DD {
    llvm::Value* hi;
    llvm::Value* lo;
};

// a + b exactly as hi + lo, for |a| >= |b| (or a == 0).
DD fast_two_sum(MathBuilder& m, llvm::Value* a, llvm::Value* b) {
    llvm::Value* s = m.add(a, b);
    return {s, m.sub(b, m.sub(s, a))};
}

// a + b exactly as hi + lo, any magnitudes (Knuth's TwoSum).
DD two_sum(MathBuilder& m, llvm::Value* a, llvm::Value* b) {
    llvm::Value* s = m.add(a, b);
    llvm::Value* bb = m.sub(s, a);
    llvm::Value* err = m.add(m.sub(a, m.sub(s, bb)), m.sub(b, bb));
    return {s, err};
}

// log|x| as a double-double for finite x > 0 (denormals included). Same reduction as
// log_core: x = 2^k * mm, f = mm - 1, s = f/(2+f), log(mm) = 2s + (2/3)s^3 + s^5 P(s^2). The
// first two terms are carried in double-double; the rest is < 2^-12 of the total.
DD log_dd(MathBuilder& m, llvm::Value* x) {
    llvm::Value* is_den = m.lt(x, m.c(0x1p-1022));
    llvm::Value* xs = m.sel(is_den, m.mul(x, m.c(0x1p54)), x);
    llvm::Value* kadj = m.sel(is_den, m.c(-54.0), m.c(0.0));
    const int64_t sqrt_half = 0x3fe6a09e667f3bcdLL;
    llvm::Value* ix = m.b.CreateSub(m.as_int(xs), m.ci(sqrt_half));
    llvm::Value* k = m.b.CreateAShr(ix, m.ci(52));
    llvm::Value* mm =
        m.as_float(m.b.CreateAdd(m.b.CreateAnd(ix, m.ci((int64_t(1) << 52) - 1)), m.ci(sqrt_half)));
    llvm::Value* f = m.sub(mm, m.c(1.0));
    llvm::Value* dk = m.add(m.b.CreateSIToFP(k, m.ft), kadj);

    // s = f / (2 + f) as s_hi + s_lo. 2 + f is not exact: d + d_lo.
    DD dsum = fast_two_sum(m, m.c(2.0), f);
    llvm::Value* s_hi = m.div(f, dsum.hi);
    llvm::Value* resid = m.sub(m.fma(m.neg(s_hi), dsum.hi, f), m.mul(s_hi, dsum.lo));
    llvm::Value* s_lo = m.div(resid, dsum.hi);

    // s^2 and s^3 with their rounding errors (fma two-products).
    llvm::Value* z_hi = m.mul(s_hi, s_hi);
    llvm::Value* z_lo = m.fma(s_hi, s_hi, m.neg(z_hi));
    llvm::Value* c_hi = m.mul(z_hi, s_hi);
    llvm::Value* c_lo = m.fma(z_hi, s_hi, m.neg(c_hi));
    c_lo = m.fma(z_lo, s_hi, c_lo);
    c_lo = m.fma(m.mul(m.c(3.0), z_hi), s_lo, c_lo);
    // B = (2/3) s^3 with 2/3 as a double-double constant.
    llvm::Value* t_hi = m.c(0x1.5555555555555p-1);
    llvm::Value* t_lo = m.c(0x1.5555555555555p-55);
    llvm::Value* b_hi = m.mul(t_hi, c_hi);
    llvm::Value* b_lo = m.fma(t_hi, c_hi, m.neg(b_hi));
    b_lo = m.fma(t_hi, c_lo, b_lo);
    b_lo = m.fma(t_lo, c_hi, b_lo);
    // C = s^5 P(s^2), P(z) = (2 atanh(s) - 2s - 2s^3/3) / s^5 = 2/5 + 2/7 z + ... (own fit).
    llvm::Value* p = m.poly(z_hi, {0.4, 0.28571428571429386, 0.22222222221644197,
                                   0.1818181833793404, 0.153845947005152, 0.13334818510502444,
                                   0.11705876195802513, 0.11726856029806287});
    llvm::Value* cc = m.mul(m.mul(c_hi, z_hi), p);

    // log(mm) = 2 s_hi + (B + 2 s_lo + C): |2 s_hi| >= |b_hi|.
    DD a = fast_two_sum(m, m.add(s_hi, s_hi), b_hi);
    llvm::Value* lo = m.add(a.lo, m.add(m.add(s_lo, s_lo), m.add(b_lo, cc)));
    DD lm = fast_two_sum(m, a.hi, lo);
    // + dk*ln2, ln2_hi with 42 bits so dk*ln2_hi is exact.
    llvm::Value* k_hi = m.mul(dk, m.c(0x1.62e42fefa3800p-1));
    llvm::Value* k_lo = m.mul(dk, m.c(0x1.ef35793c7673p-45));
    DD sum = two_sum(m, k_hi, lm.hi);
    return fast_two_sum(m, sum.hi, m.add(sum.lo, m.add(k_lo, lm.lo)));
}

// |pow(x, y)| for finite x != 0 and finite y, as the result type of m.
llvm::Value* pow_magnitude(MathBuilder& m, llvm::Value* ax, llvm::Value* y) {
    if (!m.f64) {
        // Float: everything in double, then one rounding.
        llvm::Type* dt = m.ft->getWithNewType(llvm::Type::getDoubleTy(m.ft->getContext()));
        MathBuilder md(m.b, dt);
        llvm::Value* axd = m.b.CreateFPExt(ax, dt);
        llvm::Value* yd = m.b.CreateFPExt(y, dt);
        llvm::Value* w = md.mul(yd, log_core(md, axd));
        return m.b.CreateFPTrunc(exp_impl(md, w), m.ft);
    }
    DD l = log_dd(m, ax);
    llvm::Value* w_hi = m.mul(y, l.hi);
    llvm::Value* w_lo = m.fma(y, l.hi, m.neg(w_hi));
    w_lo = m.fma(y, l.lo, w_lo);
    // exp_impl ignores the low part of clamped (huge or infinite) arguments.
    return exp_impl(m, w_hi, w_lo);
}

}  // namespace

llvm::Value* pow_impl(MathBuilder& m, llvm::Value* x, llvm::Value* y) {
    llvm::Value* ax = m.fabs(x);
    llvm::Value* ay = m.fabs(y);
    llvm::Value* zero = m.c(0.0);
    llvm::Value* one = m.c(1.0);
    llvm::Value* inf = m.inf();
    llvm::Value* mag = pow_magnitude(m, ax, y);

    llvm::Value* y_neg = m.lt(y, zero);
    // y is an integer (infinities count as even integers), and whether it is odd.
    llvm::Value* y_int = m.eq(m.floor(y), y);
    llvm::Value* y_half = m.mul(y, m.c(0.5));
    llvm::Value* y_odd = m.and_(y_int, m.ne(m.floor(y_half), y_half));

    // pow(+-0, y): +inf for y < 0, +0 for y > 0 (signs below).
    mag = m.sel(m.eq(ax, zero), m.sel(y_neg, inf, zero), mag);
    // pow(+-inf, y): +0 for y < 0, +inf for y > 0.
    mag = m.sel(m.eq(ax, inf), m.sel(y_neg, zero, inf), mag);
    // pow(x, +-inf): 1 for |x| = 1, else 0 or inf by whether |x| < 1 and y < 0 agree.
    llvm::Value* inf_y = m.sel(m.b.CreateICmpEQ(m.lt(ax, one), y_neg), inf, zero);
    mag = m.sel(m.eq(ay, inf), m.sel(m.eq(ax, one), one, inf_y), mag);
    // Finite x < 0 with finite non-integer y: NaN.
    llvm::Value* domain = m.and_(m.and_(m.lt(x, zero), m.ne(ax, inf)), m.not_(y_int));
    llvm::Value* res = m.sel(domain, m.nan(), mag);
    // Negative x (including -0 and -inf) with odd integer y: negative result.
    res = m.sel(m.and_(m.signbit(x), y_odd), m.neg(res), res);
    // NaN in, NaN out ...
    res = m.sel(m.or_(m.isnan(x), m.isnan(y)), m.add(x, y), res);
    // ... except pow(x, +-0) = 1 and pow(1, y) = 1.
    return m.sel(m.or_(m.eq(y, zero), m.eq(x, one)), one, res);
}

}  // namespace kiln::codegen::vmath
