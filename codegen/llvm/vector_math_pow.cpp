// pow (see vector_math.cpp for the ground rules).
//
// |pow(x, y)| = exp(y * log|x|), computed with more precision than the result type: an error e
// in y*log|x| becomes a relative error e in the result, and y*log|x| reaches ~745 (double) or
// ~104 (float) before the result leaves the finite range.
// - float: log and exp in double (errors ~2^-52 relative), then rounded once to float.
// - double: log|x| as a double-double (error ~2^-64 relative), the product y*log|x| as a
//   double-double (fma two-product), and exp of that pair (exp_impl's low-part input).
// The sign and C99's special cases (F.9.4.4) are applied with selects afterwards.
#include "codegen/cuda/cuda_math.h"
#include "codegen/llvm/vector_math_internal.h"

namespace kiln::codegen::vmath {
namespace {

template <class B>
struct DD {
    Value<B> hi;
    Value<B> lo;
};

// a + b exactly as hi + lo, for |a| >= |b| (or a == 0).
template <class B>
DD<B> fast_two_sum(B& m, Value<B> a, Value<B> b) {
    using V = Value<B>;
    V s = m.add(a, b);
    return {s, m.sub(b, m.sub(s, a))};
}

// a + b exactly as hi + lo, any magnitudes (Knuth's TwoSum).
template <class B>
DD<B> two_sum(B& m, Value<B> a, Value<B> b) {
    using V = Value<B>;
    V s = m.add(a, b);
    V bb = m.sub(s, a);
    V err = m.add(m.sub(a, m.sub(s, bb)), m.sub(b, bb));
    return {s, err};
}

// log|x| as a double-double for finite x > 0 (denormals included). Same reduction as
// log_core: x = 2^k * mm, f = mm - 1, s = f/(2+f), log(mm) = 2s + (2/3)s^3 + s^5 P(s^2). The
// first two terms are carried in double-double; the rest is < 2^-12 of the total.
template <class B>
DD<B> log_dd(B& m, Value<B> x) {
    using V = Value<B>;
    V is_den = m.lt(x, m.c(0x1p-1022));
    V xs = m.sel(is_den, m.mul(x, m.c(0x1p54)), x);
    V kadj = m.sel(is_den, m.c(-54.0), m.c(0.0));
    const int64_t sqrt_half = 0x3fe6a09e667f3bcdLL;
    V ix = m.isub(m.as_int(xs), m.ci(sqrt_half));
    V k = m.iashr(ix, m.ci(52));
    V mm = m.as_float(m.iadd(m.iand(ix, m.ci((int64_t(1) << 52) - 1)), m.ci(sqrt_half)));
    V f = m.sub(mm, m.c(1.0));
    V dk = m.add(m.to_float(k), kadj);

    // s = f / (2 + f) as s_hi + s_lo. 2 + f is not exact: d + d_lo.
    DD<B> dsum = fast_two_sum(m, m.c(2.0), f);
    V s_hi = m.div(f, dsum.hi);
    V resid = m.sub(m.fma(m.neg(s_hi), dsum.hi, f), m.mul(s_hi, dsum.lo));
    V s_lo = m.div(resid, dsum.hi);

    // s^2 and s^3 with their rounding errors (fma two-products).
    V z_hi = m.mul(s_hi, s_hi);
    V z_lo = m.fma(s_hi, s_hi, m.neg(z_hi));
    V c_hi = m.mul(z_hi, s_hi);
    V c_lo = m.fma(z_hi, s_hi, m.neg(c_hi));
    c_lo = m.fma(z_lo, s_hi, c_lo);
    c_lo = m.fma(m.mul(m.c(3.0), z_hi), s_lo, c_lo);
    // B = (2/3) s^3 with 2/3 as a double-double constant.
    V t_hi = m.c(0x1.5555555555555p-1);
    V t_lo = m.c(0x1.5555555555555p-55);
    V b_hi = m.mul(t_hi, c_hi);
    V b_lo = m.fma(t_hi, c_hi, m.neg(b_hi));
    b_lo = m.fma(t_hi, c_lo, b_lo);
    b_lo = m.fma(t_lo, c_hi, b_lo);
    // C = s^5 P(s^2), P(z) = (2 atanh(s) - 2s - 2s^3/3) / s^5 = 2/5 + 2/7 z + ... (own fit).
    V p = poly(m, z_hi,
               {0.4, 0.28571428571429386, 0.22222222221644197, 0.1818181833793404,
                0.153845947005152, 0.13334818510502444, 0.11705876195802513, 0.11726856029806287});
    V cc = m.mul(m.mul(c_hi, z_hi), p);

    // log(mm) = 2 s_hi + (B + 2 s_lo + C): |2 s_hi| >= |b_hi|.
    DD<B> a = fast_two_sum(m, m.add(s_hi, s_hi), b_hi);
    V lo = m.add(a.lo, m.add(m.add(s_lo, s_lo), m.add(b_lo, cc)));
    DD<B> lm = fast_two_sum(m, a.hi, lo);
    // + dk*ln2, ln2_hi with 42 bits so dk*ln2_hi is exact.
    V k_hi = m.mul(dk, m.c(0x1.62e42fefa3800p-1));
    V k_lo = m.mul(dk, m.c(0x1.ef35793c7673p-45));
    DD<B> sum = two_sum(m, k_hi, lm.hi);
    return fast_two_sum(m, sum.hi, m.add(sum.lo, m.add(k_lo, lm.lo)));
}

// |pow(x, y)| for finite x != 0 and finite y, as the result type of m.
template <class B>
Value<B> pow_magnitude(B& m, Value<B> ax, Value<B> y) {
    using V = Value<B>;
    if (!m.f64) {
        // Float: everything in double, then one rounding.
        B md = m.wide();
        V axd = m.fpext(ax);
        V yd = m.fpext(y);
        V w = md.mul(yd, log_core(md, axd));
        return m.fptrunc(exp_impl(md, w));
    }
    DD<B> l = log_dd(m, ax);
    V w_hi = m.mul(y, l.hi);
    V w_lo = m.fma(y, l.hi, m.neg(w_hi));
    w_lo = m.fma(y, l.lo, w_lo);
    // exp_impl ignores the low part of clamped (huge or infinite) arguments.
    return exp_impl(m, w_hi, w_lo);
}

}  // namespace

template <class B>
Value<B> pow_impl(B& m, Value<B> x, Value<B> y) {
    using V = Value<B>;
    V ax = m.fabs(x);
    V ay = m.fabs(y);
    V zero = m.c(0.0);
    V one = m.c(1.0);
    V inf = m.inf();
    V mag = pow_magnitude(m, ax, y);

    V y_neg = m.lt(y, zero);
    // y is an integer (infinities count as even integers), and whether it is odd.
    V y_int = m.eq(m.floor(y), y);
    V y_half = m.mul(y, m.c(0.5));
    V y_odd = m.and_(y_int, m.ne(m.floor(y_half), y_half));

    // pow(+-0, y): +inf for y < 0, +0 for y > 0 (signs below).
    mag = m.sel(m.eq(ax, zero), m.sel(y_neg, inf, zero), mag);
    // pow(+-inf, y): +0 for y < 0, +inf for y > 0.
    mag = m.sel(m.eq(ax, inf), m.sel(y_neg, zero, inf), mag);
    // pow(x, +-inf): 1 for |x| = 1, else 0 or inf by whether |x| < 1 and y < 0 agree.
    V inf_y = m.sel(m.ieq(m.lt(ax, one), y_neg), inf, zero);
    mag = m.sel(m.eq(ay, inf), m.sel(m.eq(ax, one), one, inf_y), mag);
    // Finite x < 0 with finite non-integer y: NaN.
    V domain = m.and_(m.and_(m.lt(x, zero), m.ne(ax, inf)), m.not_(y_int));
    V res = m.sel(domain, m.nan(), mag);
    // Negative x (including -0 and -inf) with odd integer y: negative result.
    res = m.sel(m.and_(signbit(m, x), y_odd), m.neg(res), res);
    // NaN in, NaN out ...
    res = m.sel(m.or_(m.isnan(x), m.isnan(y)), m.add(x, y), res);
    // ... except pow(x, +-0) = 1 and pow(1, y) = 1.
    return m.sel(m.or_(m.eq(y, zero), m.eq(x, one)), one, res);
}

template llvm::Value* pow_impl(MathBuilder&, llvm::Value*, llvm::Value*);
template std::string pow_impl(cuda::MathWriter&, std::string, std::string);

}  // namespace kiln::codegen::vmath
