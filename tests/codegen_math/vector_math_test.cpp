// Accuracy, special values and vectorization of the vector math emitters
// (codegen/llvm/vector_math.h), through JIT-compiled O3 loops (vector_math_selftest.h).
// References are glibc's long double functions (11 more bits than double).
#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/llvm/vector_math_selftest.h"

using kiln::codegen::eval_math_f32;
using kiln::codegen::eval_math_f64;
using kiln::codegen::eval_pow_f32;
using kiln::codegen::eval_pow_f64;
using kiln::ir::Op;

namespace {

constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

long double reference(Op op, long double x) {
    switch (op) {
    case Op::Exp: return expl(x);
    case Op::Log: return logl(x);
    case Op::Sin: return sinl(x);
    case Op::Cos: return cosl(x);
    case Op::Tanh: return tanhl(x);
    case Op::Sigmoid: return 1.0L / (1.0L + expl(-x));
    case Op::Erf: return erfl(x);
    default: return 0;
    }
}

// Error of `got` in units of the last place of the result type at the reference value
// (denormal results: units of the smallest denormal).
template <typename T>
double ulp_error(T got, long double ref) {
    constexpr int mant = std::numeric_limits<T>::digits - 1;
    constexpr int min_exp = std::numeric_limits<T>::min_exponent - 1;
    if (std::isnan(ref)) return std::isnan(got) ? 0 : INFINITY;
    if (std::isnan(got)) return INFINITY;
    if (std::isinf(ref) || std::isinf(got)) return got == ref ? 0 : INFINITY;
    int e = ref == 0 ? min_exp : std::max(std::ilogb(ref), min_exp);
    return static_cast<double>(fabsl(static_cast<long double>(got) - ref) / ldexpl(1.0L, e - mant));
}

// n points: half uniform in [lo, hi], half with log-uniform magnitude in [mag_lo, mag_hi]
// (random sign if `both_signs`).
template <typename T>
std::vector<T> inputs(size_t n, double lo, double hi, double mag_lo, double mag_hi, bool both_signs,
                      uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uni(lo, hi);
    std::uniform_real_distribution<double> expo(std::log(mag_lo), std::log(mag_hi));
    std::vector<T> xs(n);
    for (size_t i = 0; i < n; ++i) {
        if (i % 2 == 0) {
            xs[i] = static_cast<T>(uni(rng));
        } else {
            double v = std::exp(expo(rng));
            xs[i] = static_cast<T>(both_signs && (rng() & 1) ? -v : v);
        }
    }
    return xs;
}

struct MaxError {
    double ulp = 0;
    double at = 0;
};

template <typename T>
MaxError max_error(Op op, const std::vector<T>& xs, const std::vector<T>& got) {
    MaxError m;
    for (size_t i = 0; i < xs.size(); ++i) {
        long double ref = reference(op, xs[i]);
        if (std::is_same_v<T, float> && fabsl(ref) > FLT_MAX) continue;
        double e = ulp_error<T>(got[i], ref);
        if (e > m.ulp || std::isnan(e)) m = {e, static_cast<double>(xs[i])};
    }
    return m;
}

struct Range {
    Op op;
    double lo, hi, mag_lo, mag_hi;
    bool both_signs;
};

// Ranges over which each function must be within 4 ulp: the useful range of each function
// (sin/cos: |x| <= 1e4 for float, 1e5 for double).
const Range kRangesF32[] = {
    {Op::Exp, -103.0, 88.7, 1e-8, 88.7, true},  {Op::Log, 0.0, 10.0, 1e-45, 3e38, false},
    {Op::Sin, -1e4, 1e4, 1e-10, 1e4, true},     {Op::Cos, -1e4, 1e4, 1e-10, 1e4, true},
    {Op::Tanh, -10.0, 10.0, 1e-10, 20.0, true}, {Op::Sigmoid, -100.0, 30.0, 1e-8, 100.0, true},
    {Op::Erf, -5.0, 5.0, 1e-10, 10.0, true},
};
const Range kRangesF64[] = {
    {Op::Exp, -745.0, 709.7, 1e-12, 709.7, true}, {Op::Log, 0.0, 10.0, 1e-320, 1e308, false},
    {Op::Sin, -1e5, 1e5, 1e-12, 1e5, true},       {Op::Cos, -1e5, 1e5, 1e-12, 1e5, true},
    {Op::Tanh, -20.0, 20.0, 1e-12, 40.0, true},   {Op::Sigmoid, -700.0, 40.0, 1e-12, 700.0, true},
    {Op::Erf, -6.0, 6.0, 1e-12, 30.0, true},
};

std::string name(Op op) {
    switch (op) {
    case Op::Exp: return "exp";
    case Op::Log: return "log";
    case Op::Sin: return "sin";
    case Op::Cos: return "cos";
    case Op::Tanh: return "tanh";
    case Op::Sigmoid: return "sigmoid";
    case Op::Erf: return "erf";
    default: return "?";
    }
}

}  // namespace

TEST_CASE("f32 math is within 4 ulp over 1e6 points per function", "[vector_math]") {
    uint64_t seed = 1;
    for (const Range& r : kRangesF32) {
        auto xs = inputs<float>(1000000, r.lo, r.hi, r.mag_lo, r.mag_hi, r.both_signs, seed++);
        MaxError m = max_error(r.op, xs, eval_math_f32(r.op, xs));
        INFO(name(r.op) << " f32: max " << m.ulp << " ulp at x = " << m.at);
        CHECK(m.ulp <= 4.0);
    }
}

TEST_CASE("f64 math is within 4 ulp over 3e5 points per function", "[vector_math]") {
    uint64_t seed = 100;
    for (const Range& r : kRangesF64) {
        auto xs = inputs<double>(300000, r.lo, r.hi, r.mag_lo, r.mag_hi, r.both_signs, seed++);
        MaxError m = max_error(r.op, xs, eval_math_f64(r.op, xs));
        INFO(name(r.op) << " f64: max " << m.ulp << " ulp at x = " << m.at);
        CHECK(m.ulp <= 4.0);
    }
}

TEST_CASE("every f32 in windows around edge points is within 4 ulp", "[vector_math]") {
    // Every float in small windows: around 0, 1, interval boundaries of tanh/erf (f32 erf: 1.125
    // and 3.9192059, where it saturates), and the denormal/overflow edges of exp.
    const double centres[] = {0.0,         1.0,       -1.0, 0.55,  0.84375, 1.125,  1.25,
                              2.857142857, 3.9192059, 6.0,  -87.3, 88.72,   -103.0, 1e-38};
    for (Op op : {Op::Exp, Op::Log, Op::Tanh, Op::Erf, Op::Sigmoid, Op::Sin, Op::Cos}) {
        std::vector<float> xs;
        for (double c : centres) {
            float v = static_cast<float>(c);
            for (int i = 0; i < 10000; ++i) v = std::nextafter(v, -kInfF);
            for (int i = 0; i < 20000; ++i) xs.push_back(v = std::nextafter(v, kInfF));
        }
        MaxError m = max_error(op, xs, eval_math_f32(op, xs));
        INFO(name(op) << " f32 windows: max " << m.ulp << " ulp at x = " << m.at);
        CHECK(m.ulp <= 4.0);
    }
}

TEST_CASE("f32 and f64 tanh keep relative accuracy for small x", "[vector_math]") {
    for (double x : {1e-5, -1e-5, 1e-20, 3e-3, 0.1, 0.5}) {
        INFO("x = " << x);
        CHECK(ulp_error<float>(eval_math_f32(Op::Tanh, {float(x)})[0], tanhl(float(x))) <= 4);
        CHECK(ulp_error<double>(eval_math_f64(Op::Tanh, {x})[0], tanhl(x)) <= 4);
    }
}

TEST_CASE("sin and cos of huge arguments stay finite and in [-1, 1]", "[vector_math]") {
    std::vector<float> xf = {1e5f, 1e6f, 1e10f, 1e20f, 3e38f, -3e38f, 16777216.0f, 8.5e37f};
    std::vector<double> xd = {1e6, 1e10, 1e20, 1e100, 1e300, 1.7e308, -1.7e308, 9.9e15};
    for (Op op : {Op::Sin, Op::Cos}) {
        for (float v : eval_math_f32(op, xf)) CHECK((std::isfinite(v) && std::fabs(v) <= 1));
        for (double v : eval_math_f64(op, xd)) CHECK((std::isfinite(v) && std::fabs(v) <= 1));
    }
}

namespace {

// Special values: both types must give exactly these (NaN matches NaN, signs of zeros count).
struct Special {
    Op op;
    double x;
    double want;
};

const Special kSpecials[] = {
    {Op::Exp, kNaN, kNaN},     {Op::Exp, kInf, kInf},    {Op::Exp, -kInf, 0.0},
    {Op::Exp, 0.0, 1.0},       {Op::Exp, -0.0, 1.0},     {Op::Exp, 1000.0, kInf},
    {Op::Exp, -1000.0, 0.0},   {Op::Log, kNaN, kNaN},    {Op::Log, 0.0, -kInf},
    {Op::Log, -0.0, -kInf},    {Op::Log, -1.0, kNaN},    {Op::Log, -kInf, kNaN},
    {Op::Log, kInf, kInf},     {Op::Log, 1.0, 0.0},      {Op::Sin, kNaN, kNaN},
    {Op::Sin, kInf, kNaN},     {Op::Sin, -kInf, kNaN},   {Op::Sin, 0.0, 0.0},
    {Op::Sin, -0.0, -0.0},     {Op::Cos, kNaN, kNaN},    {Op::Cos, kInf, kNaN},
    {Op::Cos, -kInf, kNaN},    {Op::Cos, 0.0, 1.0},      {Op::Tanh, kNaN, kNaN},
    {Op::Tanh, kInf, 1.0},     {Op::Tanh, -kInf, -1.0},  {Op::Tanh, 0.0, 0.0},
    {Op::Tanh, -0.0, -0.0},    {Op::Tanh, 30.0, 1.0},    {Op::Tanh, -30.0, -1.0},
    {Op::Sigmoid, kNaN, kNaN}, {Op::Sigmoid, kInf, 1.0}, {Op::Sigmoid, -kInf, 0.0},
    {Op::Sigmoid, 0.0, 0.5},   {Op::Erf, kNaN, kNaN},    {Op::Erf, kInf, 1.0},
    {Op::Erf, -kInf, -1.0},    {Op::Erf, 0.0, 0.0},      {Op::Erf, -0.0, -0.0},
    {Op::Erf, 7.0, 1.0},       {Op::Erf, -7.0, -1.0},
};

bool same(double got, double want) {
    if (std::isnan(want)) return std::isnan(got);
    return got == want && std::signbit(got) == std::signbit(want);
}

}  // namespace

TEST_CASE("special values match C for f32 and f64", "[vector_math]") {
    for (const Special& s : kSpecials) {
        float gf = eval_math_f32(s.op, {static_cast<float>(s.x)})[0];
        double gd = eval_math_f64(s.op, {s.x})[0];
        INFO(name(s.op) << "(" << s.x << "): f32 " << gf << ", f64 " << gd << ", want " << s.want);
        CHECK(same(gf, s.want));
        CHECK(same(gd, s.want));
    }
}

TEST_CASE("log of denormals, exp into denormals, sigmoid far left", "[vector_math]") {
    std::vector<float> den = {1e-45f, 1.4e-45f, 3e-40f, 1e-39f, 1.17e-38f};
    auto lf = eval_math_f32(Op::Log, den);
    for (size_t i = 0; i < den.size(); ++i) CHECK(ulp_error<float>(lf[i], logl(den[i])) <= 1);
    std::vector<double> dend = {4.9e-324, 1e-320, 2e-310, 2.2e-308};
    auto ld = eval_math_f64(Op::Log, dend);
    for (size_t i = 0; i < dend.size(); ++i) CHECK(ulp_error<double>(ld[i], logl(dend[i])) <= 1);
    // exp into the denormal range rounds once: within one denormal ulp.
    for (float x : {-88.0f, -95.0f, -100.0f, -103.0f}) {
        float e = eval_math_f32(Op::Exp, {x})[0];
        CHECK(e > 0);
        CHECK(ulp_error<float>(e, expl(x)) <= 1);
    }
    // sigmoid(-100) = e^-100 / (1 + e^-100) ~ 3.7e-44 (a float denormal), not 0 and not NaN.
    float s = eval_math_f32(Op::Sigmoid, {-100.0f})[0];
    CHECK(s > 0);
    CHECK(ulp_error<float>(s, expl(-100.0L) / (1 + expl(-100.0L))) <= 1);
    double sd = eval_math_f64(Op::Sigmoid, {-700.0})[0];
    CHECK(ulp_error<double>(sd, expl(-700.0L) / (1 + expl(-700.0L))) <= 4);
}

namespace {

template <typename T>
MaxError pow_max_error(const std::vector<T>& x, const std::vector<T>& y,
                       const std::vector<T>& got) {
    MaxError m;
    for (size_t i = 0; i < x.size(); ++i) {
        long double ref = powl(static_cast<long double>(x[i]), static_cast<long double>(y[i]));
        // Results in the normal range only.
        if (!(fabsl(ref) >= std::numeric_limits<T>::min() &&
              fabsl(ref) <= std::numeric_limits<T>::max()))
            continue;
        double e = ulp_error<T>(got[i], ref);
        if (e > m.ulp || std::isnan(e)) m = {e, static_cast<double>(x[i])};
    }
    return m;
}

template <typename T>
void pow_inputs(size_t n, double x_mag, double y_max, uint64_t seed, std::vector<T>& x,
                std::vector<T>& y) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> lx(-std::log(x_mag), std::log(x_mag));
    std::uniform_real_distribution<double> uy(-y_max, y_max);
    std::uniform_real_distribution<double> near1(0.9, 1.1);
    for (size_t i = 0; i < n; ++i) {
        switch (i % 4) {
        case 0:
            x.push_back(T(std::exp(lx(rng))));
            y.push_back(T(uy(rng)));
            break;
        case 1:  // negative x, integral y
            x.push_back(T(-std::exp(lx(rng) / 4)));
            y.push_back(T(std::round(uy(rng))));
            break;
        case 2:  // x near 1, large |y|: stresses the precision of y*log(x)
            x.push_back(T(near1(rng)));
            y.push_back(T(uy(rng) * 100));
            break;
        default:
            x.push_back(T(std::exp(lx(rng) / 8)));
            y.push_back(T(uy(rng) / 8));
            break;
        }
    }
}

}  // namespace

TEST_CASE("pow accuracy: f32 within 8 ulp, f64 within 4 ulp", "[vector_math][pow]") {
    std::vector<float> xf, yf;
    pow_inputs<float>(500000, 1e10, 60.0, 7, xf, yf);
    MaxError mf = pow_max_error(xf, yf, eval_pow_f32(xf, yf));
    INFO("pow f32: max " << mf.ulp << " ulp at x = " << mf.at);
    CHECK(mf.ulp <= 8.0);
    std::vector<double> xd, yd;
    pow_inputs<double>(300000, 1e100, 300.0, 8, xd, yd);
    MaxError md = pow_max_error(xd, yd, eval_pow_f64(xd, yd));
    INFO("pow f64: max " << md.ulp << " ulp at x = " << md.at);
    CHECK(md.ulp <= 4.0);
}

TEST_CASE("pow special cases follow C99", "[vector_math][pow]") {
    const double odd = 3, even = 4, frac = 0.5;
    struct Case {
        double x, y, want;
    };
    const Case cases[] = {
        {kNaN, 0.0, 1.0},      {kNaN, -0.0, 1.0},   {1.0, kNaN, 1.0},    {1.0, kInf, 1.0},
        {-1.0, kInf, 1.0},     {-1.0, -kInf, 1.0},  {kNaN, 1.0, kNaN},   {2.0, kNaN, kNaN},
        {-2.0, odd, -8.0},     {-2.0, even, 16.0},  {-2.0, frac, kNaN},  {-8.0, 1.0 / 3, kNaN},
        {0.0, -odd, kInf},     {-0.0, -odd, -kInf}, {0.0, -even, kInf},  {-0.0, -even, kInf},
        {-0.0, -frac, kInf},   {0.0, -kInf, kInf},  {-0.0, -kInf, kInf}, {0.0, odd, 0.0},
        {-0.0, odd, -0.0},     {-0.0, even, 0.0},   {-0.0, frac, 0.0},   {0.5, -kInf, kInf},
        {-0.5, -kInf, kInf},   {2.0, -kInf, 0.0},   {-2.0, -kInf, 0.0},  {0.5, kInf, 0.0},
        {2.0, kInf, kInf},     {-2.0, kInf, kInf},  {-kInf, -odd, -0.0}, {-kInf, -even, 0.0},
        {-kInf, -frac, 0.0},   {-kInf, odd, -kInf}, {-kInf, even, kInf}, {-kInf, frac, kInf},
        {kInf, -1.0, 0.0},     {kInf, 0.5, kInf},   {2.0, 10.0, 1024.0}, {2.0, -1.0, 0.5},
        {4.0, 0.5, 2.0},       {10.0, 400.0, kInf}, {10.0, -400.0, 0.0}, {-10.0, 401.0, -kInf},
        {-10.0, -401.0, -0.0}, {2.0, 1e300, kInf},  {0.5, 1e300, 0.0},   {-1.0, 1e300, 1.0},
    };
    for (const Case& c : cases) {
        float gf = eval_pow_f32({float(c.x)}, {float(c.y)})[0];
        double gd = eval_pow_f64({c.x}, {c.y})[0];
        INFO("pow(" << c.x << ", " << c.y << "): f32 " << gf << ", f64 " << gd << ", want "
                    << c.want);
        CHECK(same(gf, c.want));
        CHECK(same(gd, std::pow(c.x, c.y)));  // libm agrees for every case above
        CHECK(same(gd, c.want));
    }
    // Odd integers above float's 2^24 do not exist; 2^53+1 is not a double either.
    CHECK(same(eval_pow_f64({-1.0}, {9007199254740991.0})[0], -1.0));
    CHECK(same(eval_pow_f64({-1.0}, {9007199254740992.0})[0], 1.0));
    CHECK(same(eval_pow_f32({-1.0f}, {16777215.0f})[0], -1.0));
}

TEST_CASE("the optimized loops are vectorized and call nothing", "[vector_math][ir]") {
    const std::regex vec(R"(<(4|8|16) x float>)");
    for (Op op : {Op::Exp, Op::Log, Op::Sin, Op::Cos, Op::Tanh, Op::Sigmoid, Op::Erf, Op::Pow}) {
        const std::string& ir = kiln::codegen::math_kernel(op, false).optimized_ir;
        INFO(name(op) << " f32 kernel IR:\n" << ir.substr(0, 4000));
        CHECK(std::regex_search(ir, vec));
        // Only intrinsics may be called: no libm, no helper functions.
        std::istringstream lines(ir);
        for (std::string line; std::getline(lines, line);) {
            if (line.find(" call ") != std::string::npos)
                CHECK(line.find("@llvm.") != std::string::npos);
        }
    }
    const std::string& exp_ir = kiln::codegen::math_kernel(Op::Exp, false).optimized_ir;
    CHECK((exp_ir.find("<16 x float>") != std::string::npos ||
           exp_ir.find("<8 x float>") != std::string::npos));
    const std::string& exp64 = kiln::codegen::math_kernel(Op::Exp, true).optimized_ir;
    CHECK(std::regex_search(exp64, std::regex(R"(<(2|4|8) x double>)")));
}
