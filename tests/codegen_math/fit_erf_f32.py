#!/usr/bin/env python3
"""Fits the coefficients of f32 erf in codegen/llvm/vector_math_erf.cpp (erf_f32).

Not part of the build or the tests; kept so the constants can be reproduced or refitted.
Needs mpmath. Run: python3 tests/codegen_math/fit_erf_f32.py  (about 10 s)

  |x| < SPLIT:      erf = x * (c0 + c1 t + ... + c6 t^6), t = x^2, minimax relative error,
                    c0 = 2/sqrt(pi) (emitted as float hi + lo)
  SPLIT <= |x| < T: erf = 1 - E(|x| - X0), E of degree 13, minimax absolute error against erfc
  |x| >= T:         erf = 1 (T: the first float whose erf rounds to 1)

Remez exchange in 30-digit arithmetic. The first piece's coefficients are rounded to float one
at a time, lowest degree first, refitting the higher ones after each rounding; the second's
are simply rounded (their rounding moves E by far less than an ulp of 1 - E).
"""
import struct
import sys

from mpmath import cos, erf, erfc, findroot, lu_solve, matrix, mp, mpf, pi, sqrt

mp.dps = 30
SPLIT, X0, DEG_A, DEG_B = mpf("1.125"), mpf("2.5"), 6, 13


def f32(v):
    return mpf(struct.unpack("f", struct.pack("f", float(v)))[0])


def remez(f, w, a, b, exps, iters=60, grid=1500):
    """Coefficients c minimizing max |w(x) (f(x) - sum c_k x^exps[k])| on [a, b], and that max."""
    n = len(exps)
    pts = [a + (b - a) * (1 - cos(pi * i / n)) / 2 for i in range(n + 1)]
    gridpts = [a + (b - a) * (1 - cos(pi * i / (grid - 1))) / 2 for i in range(grid)]
    for _ in range(iters):
        m = matrix(n + 1, n + 1)
        rhs = matrix(n + 1, 1)
        for i, x in enumerate(pts):
            for j, e in enumerate(exps):
                m[i, j] = x**e
            m[i, n] = (-1) ** i / w(x)
            rhs[i] = f(x)
        sol = lu_solve(m, rhs)
        c = [sol[j] for j in range(n)]
        errs = [w(x) * (f(x) - sum(ck * x**e for ck, e in zip(c, exps))) for x in gridpts]
        # The largest error of each run of one sign; keep n + 1 alternating extrema.
        runs = []
        for x, e in zip(gridpts, errs):
            s = 1 if e >= 0 else -1
            if not runs or s != runs[-1][0]:
                runs.append([s, x, e])
            elif abs(e) > abs(runs[-1][2]):
                runs[-1][1:] = [x, e]
        while len(runs) > n + 1:
            runs.pop(0 if abs(runs[0][2]) < abs(runs[-1][2]) else -1)
        worst = max(abs(e) for e in errs)
        if len(runs) < n + 1:
            sys.exit("remez: too few alternations")
        pts = [r[1] for r in runs]
        if worst / min(abs(r[2]) for r in runs) < 1 + mpf("1e-6"):
            break
    return c, worst


def main():
    t_one = findroot(lambda x: erfc(x) - mpf(2) ** -25, 3.92)
    t_float = f32(t_one)
    if erfc(t_float) > mpf(2) ** -25:  # first float at or above the root
        t_float = mpf(struct.unpack("f", struct.pack("I", struct.unpack("I", struct.pack(
            "f", float(t_float)))[0] + 1))[0])
    g = lambda t: erf(sqrt(t)) / sqrt(t)
    c0 = 2 / sqrt(pi)
    # First piece. The error vanishes at t = 0 (c0 is exact there), so start just above 0.
    fixed = {0: c0}
    free = list(range(1, DEG_A + 1))
    while free:
        rest = lambda t: g(t) - sum(v * t**e for e, v in fixed.items())
        c, _ = remez(rest, lambda t: 1 / g(t), SPLIT**2 * mpf("1e-4"), SPLIT**2, free)
        fixed[free[0]] = f32(c[0])
        free = free[1:]
    err_a = max(abs(sum(v * t**e for e, v in fixed.items()) / g(t) - 1)
                for t in [SPLIT**2 * i / 4000 for i in range(1, 4001)])
    # Second piece.
    cb, _ = remez(lambda u: erfc(u + X0), lambda u: mpf(1), SPLIT - X0, t_float - X0,
                  list(range(DEG_B + 1)))
    b = [f32(v) for v in cb]
    err_b = max(abs(erfc(u + X0) - sum(v * u**e for e, v in enumerate(b)))
                for u in [SPLIT - X0 + (t_float - SPLIT) * i / 4000 for i in range(4001)])
    c0_hi = f32(c0)
    c0_lo = f32(c0 - c0_hi)
    print("T = %s" % float(t_float).hex())
    print("first piece: relative error %.3g (%.2f ulp near 1)" % (err_a, err_a * 2**24))
    print("  c0 = %s + %s" % (float(c0_hi).hex(), float(c0_lo).hex()))
    print("  c1.. = " + ", ".join(float(fixed[e]).hex() for e in range(1, DEG_A + 1)))
    print("second piece: absolute error %.3g (%.2f ulp of 1 - E)" % (err_b, err_b * 2**24))
    print("  b = " + ", ".join(float(v).hex() for v in b))


if __name__ == "__main__":
    main()
