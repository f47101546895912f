// sin and cos (see vector_math.cpp for the ground rules).
//
// x = n*(pi/2) + r with |r| <= pi/4: n = rint(x*2/pi), r by Cody-Waite reduction with fma and
// pi/2 split into 24-bit (float: four parts) or 53-bit (double: three parts) pieces. With fma
// the first step is exact and every later step rounds relative to the current remainder, so r
// keeps full relative accuracy for |x| up to ~1e5 (float: 2^24 quadrants would be the hard
// limit; double: far beyond). Larger |x| lose accuracy gradually; r is clamped to [-0.8, 0.8] so
// the polynomials still return values in [-1, 1].
// sin(x) = +-sin(r) or +-cos(r) by quadrant n mod 4; both kernels are evaluated and selected.
#include "codegen/cuda/cuda_math.h"
#include "codegen/llvm/vector_math_internal.h"

namespace kiln::codegen::vmath {

template <class B>
Value<B> sincos_impl(B& m, Value<B> x, bool is_cos) {
    using V = Value<B>;
    const bool d = m.f64;
    V n = m.rint(m.mul(x, m.c(0x1.45f306dc9c883p-1)));
    V r;
    if (d) {
        r = m.fma(n, m.c(-0x1.921fb54442d18p+0), x);
        r = m.fma(n, m.c(-0x1.1a62633145c07p-54), r);
        r = m.fma(n, m.c(0x1.f1976b7ed8fbcp-110), r);
    } else {
        r = m.fma(n, m.c(-0x1.921fb6p+0), x);
        r = m.fma(n, m.c(0x1.777a5cp-25), r);
        r = m.fma(n, m.c(0x1.ee59dap-50), r);
        r = m.fma(n, m.c(-0x1.98a2e0p-77), r);
    }
    // Huge |x| only (reduction no longer meaningful); the compares keep NaN (from inf/NaN x).
    V bound = m.c(0.8);
    r = m.sel(m.gt(r, bound), bound, r);
    r = m.sel(m.lt(r, m.neg(bound)), m.neg(bound), r);

    // The quadrant as an integer. |n| >= 2^24 (or NaN) only happens where the result is
    // already meaningless; 0 there avoids fptosi on out-of-range values (poison).
    V n_ok = m.lt(m.fabs(n), m.c(0x1p24));
    V q = m.to_int(m.sel(n_ok, n, m.c(0.0)));
    if (is_cos) q = m.iadd(q, m.ci(1));  // cos(x) = sin(x + pi/2)

    V z = m.mul(r, r);
    // sin(r) = r + r^3 S(r^2); cos(r) = 1 - r^2/2 + r^4 C(r^2).
    V sp = d ? poly(m, z,
                    {-0.16666666666666666, 0.008333333333330828, -0.00019841269836578268,
                     2.7557316009321487e-06, -2.5051112483503946e-08, 1.5916739735766178e-10})
             : poly(m, z,
                    {-0.1666666716337204, 0.008333331905305386, -0.00019840063760057092,
                     2.724694695643848e-06});
    V sin_r = m.fma(m.mul(r, z), sp, r);
    V cp = d ? poly(m, z,
                    {0.041666666666666664, -0.0013888888888887322, 2.4801587298652715e-05,
                     -2.75573172133259e-07, 2.0876134141358796e-09, -1.1381762182414481e-11})
             : poly(m, z,
                    {0.0416666679084301, -0.00138888880610466, 2.4800581741146743e-05,
                     -2.729846357851784e-07});
    // 1 - z/2 split as w + tail (exact sum) so its rounding does not reach the result.
    V hz = m.mul(m.c(0.5), z);
    V w = m.sub(m.c(1.0), hz);
    V tail = m.sub(m.sub(m.c(1.0), w), hz);
    V cos_r = m.add(w, m.fma(m.mul(z, z), cp, tail));

    V odd = m.ine(m.iand(q, m.ci(1)), m.ci(0));
    V res = m.sel(odd, cos_r, sin_r);
    // Quadrants 2 and 3 negate: move bit 1 of q into the sign bit.
    V sign = m.ishl(m.iand(q, m.ci(2)), m.ci(m.f64 ? 62 : 30));
    res = m.as_float(m.ixor(m.as_int(res), sign));
    // sin(+-0) = +-0 (the reduction above turns -0 into +0).
    if (!is_cos) res = m.sel(m.eq(x, m.c(0.0)), x, res);
    return res;
}

template llvm::Value* sincos_impl(MathBuilder&, llvm::Value*, bool);
template std::string sincos_impl(cuda::MathWriter&, std::string, bool);

}  // namespace kiln::codegen::vmath
