// erf (see vector_math.cpp for the ground rules).
//
// double: fdlibm's method and rational approximations (s_erf.c):
//   ====================================================
//   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//   Developed at SunPro, a Sun Microsystems, Inc. business.
//   Permission to use, copy, modify, and distribute this
//   software is freely granted, provided that this notice
//   is preserved.
//   ====================================================
// On |x| in [0, 0.84375): erf = x + x*P(x^2)/Q(x^2); [0.84375, 1.25): erf = c + P(s)/Q(s) with
// s = |x| - 1; [1.25, 1/0.35) and [1/0.35, 6): erf = 1 - exp(-x^2 - 0.5625 + R(t)/S(t))/|x| with
// t = 1/x^2; beyond 6: 1. fdlibm branches; here every lane picks its interval's coefficients
// with selects and evaluates one rational function, so the cost is one P/Q plus one exp.
//
// float: two polynomials and one select, no division and no exp (~5x faster than the above;
// erf dominates erf-form gelu, which must run at memory bandwidth). See erf_f32.
#include <array>

#include "codegen/cuda/cuda_math.h"
#include "codegen/llvm/vector_math_internal.h"

namespace kiln::codegen::vmath {
namespace {

// float erf. Two pieces, each a polynomial fitted for this file by
// tests/codegen_math/fit_erf_f32.py (Remez exchange in 30-digit arithmetic; the first piece's
// coefficients rounded to float one at a time, refitting the others after each rounding):
//   |x| < 1.125:        erf = x * (c0 + c1 t + ... + c6 t^6), t = x^2, minimax relative error
//                       (0.11 ulp); c0 = 2/sqrt(pi).
//   1.125 <= |x| < T:   erf = 1 - E(|x| - 2.5), E a degree-13 polynomial fitted to erfc with
//                       minimax absolute error (0.24 ulp of results, which are all in [0.88, 1)).
//   |x| >= T:           erf = 1, T = 0x1.f5a88ap+1 ~ 3.9192 being the first float where erf
//                       rounds to 1.
// A single x*P(t)/Q(t) rational over [0, T] (XLA's and Eigen's form) is faster still, but its
// float evaluation is too inexact: P and Q are each evaluated with up to ~2 ulp of error at
// large t, and a sweep of every 97th float found 5.4 ulp. Here each piece keeps the rounding errors
// small relative to the result:
// - In the first piece the leading term x*c0 is a single rounding: c0 is split into float
//   hi + lo, the polynomial carries lo as its constant, and the result is fma(x, hi, x*rest),
//   where |x*rest| < 0.4 |result|. (x*c0 with c0 rounded to float would be 0.9 ulp off alone
//   for tiny x.) This also gives full relative accuracy down to denormals: erf(1e-30) is
//   1.1283792e-30.
// - In the second, E is small (< 0.12) with coefficients of magnitude < 0.01 around the middle
//   of its interval, so its rounding errors are tiny next to an ulp of 1 - E; |x| - 2.5 is
//   exact for every |x| in [1.125, 4] (Sterbenz), so the argument adds no error either.
// Exhaustively over every float in [0, 4] (against double erf): max 1.76 ulp (at x = 1.0865,
// just below the split), with erf(-x) = -erf(x) exactly. Cost: ~35 vector instructions, no
// division; ~3.7 Gelem/s per thread (0.9x exp) on Zen 5 against 0.7 for the fdlibm form.
template <class B>
Value<B> erf_f32(B& m, Value<B> x) {
    using V = Value<B>;
    V ax = m.fabs(x);
    V t = m.mul(ax, ax);
    // c0 = 2/sqrt(pi) = kC0Hi + kC0Lo.
    const double kC0Hi = 0x1.20dd76p+0, kC0Lo = -0x1.f7ac92p-25;
    V rest = poly(m, t,
                  {kC0Lo, -0x1.81273p-2, 0x1.ce29bcp-4, -0x1.b7be58p-6, 0x1.523c38p-8,
                   -0x1.976be0p-11, 0x1.28cbd2p-14});
    V small = m.muladd(ax, m.c(kC0Hi), m.mul(ax, rest));
    // Lanes below 1.125 compute garbage here (never inf/NaN: |u| < 3) and select it away; so
    // do lanes above T, where large |x| can give inf or NaN, and those never reach the result.
    V u = m.sub(ax, m.c(2.5));
    V e = poly(m, u,
               {0x1.aab5aap-12, -0x1.1d8178p-9, 0x1.64ec74p-8, -0x1.11a4bcp-7, 0x1.1a6620p-7,
                -0x1.909d0cp-8, 0x1.708410p-9, -0x1.220690p-11, -0x1.252120p-12, 0x1.14df8ap-12,
                -0x1.11926ap-14, -0x1.f3f6e0p-17, 0x1.462b72p-17, -0x1.05740ap-20});
    V large = m.sub(m.c(1.0), e);
    V res = m.sel(m.lt(ax, m.c(1.125)), small, large);
    // NaN fails the compare and keeps the NaN that the arithmetic carried; inf gives 1.
    res = m.sel(m.ge(ax, m.c(0x1.f5a88ap+1)), m.c(1.0), res);
    // Odd function; copysign also gives erf(-0) = -0 and erf(-inf) = -1.
    return m.copysign(res, x);
}

// double erf's coefficients (fdlibm's s_erf.c). Numerator (8) and denominator (9, leading 1)
// coefficients per interval, low degree first, padded with zeros (zero high-order coefficients
// only add exact zeros).
struct ErfTable {
    std::array<std::array<double, 8>, 4> num;
    std::array<std::array<double, 9>, 4> den;
    double erx;
};

const ErfTable kErf64 = {
    {{{1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05, 0, 0, 0},
      {-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03, 0},
      {-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00},
      {-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02, 0}}},
    {{{1, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06, 0, 0, 0},
      {1, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02, 0, 0},
      {1, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02},
      {1, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01, 0}}},
    8.45062911510467529297e-01,
};

// Per-lane choice among the four intervals' constants.
template <class B>
Value<B> pick(B& m, Value<B> in0, Value<B> in1, Value<B> in2, double c0, double c1, double c2,
              double c3) {
    using V = Value<B>;
    V v = c2 == c3 ? m.c(c3) : m.sel(in2, m.c(c2), m.c(c3));
    v = c1 == c2 && c2 == c3 ? v : m.sel(in1, m.c(c1), v);
    return c0 == c1 && c1 == c2 && c2 == c3 ? v : m.sel(in0, m.c(c0), v);
}

// double erf, fdlibm's intervals (see the top of the file).
template <class B>
Value<B> erf_f64(B& m, Value<B> x) {
    using V = Value<B>;
    const ErfTable& tab = kErf64;
    V ax = m.fabs(x);
    // Interval masks; NaN fails every compare and lands in the last interval (stays NaN).
    V in0 = m.lt(ax, m.c(0.84375));
    V in1 = m.lt(ax, m.c(1.25));
    V in2 = m.lt(ax, m.c(1 / 0.35));
    // The variable of each interval's rational function. Lanes of the first two intervals
    // would make 1/x^2 huge; they use t from their own interval anyway.
    V x2 = m.mul(ax, ax);
    V t_tail = m.div(m.c(1.0), m.sel(in1, m.c(1.0), x2));
    V t = m.sel(in0, x2, m.sel(in1, m.sub(ax, m.c(1.0)), t_tail));

    std::vector<V> num, den;
    for (size_t i = 0; i < 8; ++i)
        num.push_back(
            pick(m, in0, in1, in2, tab.num[0][i], tab.num[1][i], tab.num[2][i], tab.num[3][i]));
    for (size_t i = 0; i < 9; ++i)
        den.push_back(
            pick(m, in0, in1, in2, tab.den[0][i], tab.den[1][i], tab.den[2][i], tab.den[3][i]));
    V ratio = m.div(poly(m, t, num), poly(m, t, den));

    V r0 = m.fma(ax, ratio, ax);        // [0, 0.84375)
    V r1 = m.add(m.c(tab.erx), ratio);  // [0.84375, 1.25)
    // 1 - exp(-x^2 - 0.5625 + R/S)/|x|. x^2 is carried as x2 + x2_lo (fma gives the rounding
    // error exactly), so the exponent is accurate to the last bit even for larger |x|.
    V x2_lo = m.fma(ax, ax, m.neg(x2));
    V arg = m.add(m.sub(m.neg(x2), m.c(0.5625)), m.sub(ratio, x2_lo));
    // Lanes that use this formula have arg > -37. Larger |x| (result 1 below) would make exp
    // produce denormals, which cost ~100x on x86 even in discarded lanes: clamp them away.
    arg = m.sel(m.lt(arg, m.c(-40.0)), m.c(-40.0), arg);
    V r2 = m.sub(m.c(1.0), m.div(exp_impl(m, arg), ax));
    V res = m.sel(in0, r0, m.sel(in1, r1, r2));
    res = m.sel(m.ge(ax, m.c(6.0)), m.c(1.0), res);
    // Odd function; copysign also gives erf(-0) = -0 and erf(-inf) = -1.
    return m.copysign(res, x);
}

}  // namespace

template <class B>
Value<B> erf_impl(B& m, Value<B> x) {
    return m.f64 ? erf_f64(m, x) : erf_f32(m, x);
}

template llvm::Value* erf_impl(MathBuilder&, llvm::Value*);
template std::string erf_impl(cuda::MathWriter&, std::string);

}  // namespace kiln::codegen::vmath
