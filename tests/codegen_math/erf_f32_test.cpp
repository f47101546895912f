// f32 erf (codegen/llvm/vector_math_erf.cpp, erf_f32): accuracy over a sweep of the whole
// interesting range, the edges of its two pieces, tiny and huge inputs, and its cost.
// vector_math_test.cpp checks the common properties (4 ulp on random points, special values,
// vectorization); this file holds erf's own, tighter ones.
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/llvm/vector_math_selftest.h"

using kiln::codegen::eval_math_f32;
using kiln::ir::Op;

namespace {

// Where the implementation switches from x*P(x^2) to 1 - E(|x| - 2.5), and the first float whose
// erf rounds to 1 (from there on the result is exactly 1).
constexpr float kSplit = 1.125f;
constexpr float kOne = 0x1.f5a88ap+1f;

float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
uint32_t to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

// Error in ulps of float at the reference (denormal results: units of the smallest denormal).
// The reference is glibc's double erf (under 1 double ulp, i.e. 2^-29 float ulps): erfl costs
// 10x more and would not change a digit that matters here.
double ulp_error(float got, double ref) {
    int e = ref == 0 ? FLT_MIN_EXP - 1 : std::max(std::ilogb(ref), FLT_MIN_EXP - 1);
    return std::fabs(static_cast<double>(got) - ref) / std::ldexp(1.0, e - (FLT_MANT_DIG - 1));
}

struct Sweep {
    double max_ulp = 0;
    float at = 0;
    bool odd = true;      // erf(-x) == -erf(x) bit for bit
    bool bounded = true;  // |erf(x)| <= 1
};

// Every input, and its negation, through the JIT-compiled f32 erf loop.
Sweep sweep(const std::vector<float>& xs) {
    std::vector<float> both(xs);
    for (float x : xs) both.push_back(-x);
    std::vector<float> got = eval_math_f32(Op::Erf, both);
    Sweep s;
    for (size_t i = 0; i < xs.size(); ++i) {
        float pos = got[i], neg = got[i + xs.size()];
        double e = ulp_error(pos, std::erf(static_cast<double>(xs[i])));
        if (e > s.max_ulp || std::isnan(e)) {
            s.max_ulp = e;
            s.at = xs[i];
        }
        if (to_bits(neg) != to_bits(-pos)) s.odd = false;
        if (!(std::fabs(pos) <= 1)) s.bounded = false;
    }
    return s;
}

}  // namespace

TEST_CASE("f32 erf is within 2 ulp on every 193rd float in [0, 4]", "[vector_math][erf]") {
    // 5.6M inputs spread over every binade from the smallest denormal up (the float bit patterns
    // are in order), so the sweep covers tiny, denormal and mid-range inputs alike.
    std::vector<float> xs;
    for (uint32_t u = 0; u <= to_bits(4.0f); u += 193) xs.push_back(from_bits(u));
    Sweep s = sweep(xs);
    INFO("max " << s.max_ulp << " ulp at x = " << s.at);
    // Exhaustive over [0, 4] when written: 1.76 ulp (the existing suite asks for 4).
    CHECK(s.max_ulp <= 2.0);
    CHECK(s.odd);
    CHECK(s.bounded);
}

TEST_CASE("f32 erf is within 2 ulp on every float near its piece edges", "[vector_math][erf]") {
    // 2.5: the centre of the second piece's polynomial, where |x| - 2.5 changes sign.
    for (float c : {kSplit, 2.5f, kOne}) {
        std::vector<float> xs;
        for (int i = -50000; i <= 50000; ++i) xs.push_back(from_bits(to_bits(c) + i));
        Sweep s = sweep(xs);
        INFO("around " << c << ": max " << s.max_ulp << " ulp at x = " << s.at);
        CHECK(s.max_ulp <= 2.0);
        CHECK(s.odd);
        CHECK(s.bounded);
    }
}

TEST_CASE("f32 erf keeps relative accuracy for tiny and denormal x", "[vector_math][erf]") {
    const float den_min = std::numeric_limits<float>::denorm_min();
    std::vector<float> xs = {1e-30f, -1e-30f, 1e-20f, 1e-10f,  3e-5f,   FLT_MIN,
                             1e-39f, -1e-40f, 1e-44f, den_min, -den_min};
    std::vector<float> got = eval_math_f32(Op::Erf, xs);
    for (size_t i = 0; i < xs.size(); ++i) {
        double ref = std::erf(static_cast<double>(xs[i]));
        INFO("erf(" << xs[i] << ") = " << got[i] << ", want " << ref);
        CHECK(ulp_error(got[i], ref) <= 1.0);
        CHECK(std::signbit(got[i]) == std::signbit(xs[i]));
    }
    // Not 0, not x: 2/sqrt(pi) x.
    CHECK(got[0] == Approx(1.1283792e-30).epsilon(1e-7));
    // 2/sqrt(pi) * 2^-149 is 1.13 denormal units: it rounds to the smallest denormal, not 0.
    CHECK(got[9] == den_min);
}

TEST_CASE("f32 erf is exactly +-1 from the first float whose erf rounds to 1", "[erf]") {
    const float big = std::numeric_limits<float>::max();
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> xs = {
        kOne, std::nextafter(kOne, 5.0f), 3.93f, 4.0f, 5.0f, 10.0f, 1e10f, 1e30f, big, inf};
    std::vector<float> got = eval_math_f32(Op::Erf, xs);
    for (float& x : xs) x = -x;
    std::vector<float> neg = eval_math_f32(Op::Erf, xs);
    for (size_t i = 0; i < xs.size(); ++i) {
        INFO("x = " << -xs[i]);
        CHECK(got[i] == 1.0f);
        CHECK(neg[i] == -1.0f);
    }
    // One float below, erf is 1 - 1.0000014 * 2^-25, just under the midpoint between 1 - 2^-24
    // and 1: either is within the bound, but nothing else is.
    float below = eval_math_f32(Op::Erf, {std::nextafter(kOne, 0.0f)})[0];
    CHECK((below == 1.0f || below == 1.0f - 0x1p-24f));
}

TEST_CASE("f32 erf's loop divides nothing and computes no exp", "[vector_math][erf][ir]") {
    // The f32 version must stay two polynomials and a select: with a division and an exp in the
    // loop (the fdlibm structure that f64 keeps) erf was 5x slower, and erf-form gelu, which
    // must run at memory speed, 2.5x slower.
    const std::string& ir = kiln::codegen::math_kernel(Op::Erf, false).optimized_ir;
    CHECK(ir.find("fdiv") == std::string::npos);
    // exp_impl's signature: float -> int conversion for the exponent, then shifts into 2^n.
    CHECK(ir.find("fptosi") == std::string::npos);
    CHECK(ir.find(" x float>") != std::string::npos);  // vectorized
}

// Not run by default (hidden tag): `test_codegen_math "[.bench]"`. Prints erf's and exp's
// throughput over 1M floats measured in the same run (the machine may be shared), median of
// 21 runs each.
TEST_CASE("f32 erf throughput against exp", "[.bench][erf]") {
    std::vector<float> xs(1 << 20), out(xs.size());
    // Both pieces and the saturated range; the code has no branches, so the order is moot.
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = -5.0f + 10.0f * float(i) / float(xs.size());
    auto gelems = [&](Op op) {
        const auto& k = kiln::codegen::math_kernel(op, false);
        std::vector<double> secs;
        for (int r = 0; r < 21; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            k.fn(xs.data(), nullptr, out.data(), static_cast<int64_t>(xs.size()));
            secs.push_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(secs.begin(), secs.end());
        return xs.size() / secs[secs.size() / 2] / 1e9;
    };
    double exp_rate = gelems(Op::Exp), erf_rate = gelems(Op::Erf);
    WARN("f32 exp " << exp_rate << " Gelem/s, erf " << erf_rate << " Gelem/s per thread");
    CHECK(erf_rate >= 0.5 * exp_rate);
}
