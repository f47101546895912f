#pragma once
/// Kiln's transcendental functions as CUDA C (internal to codegen/): the algorithms of
/// codegen/llvm/vector_math_algorithms.h written out by MathWriter, one `const` local per
/// operation, so a kernel computes exactly what the CPU backend computes, bit for bit.
///
/// Every operation is spelled so that NVRTC can neither contract nor re-associate it:
/// __fadd_rn/__fmul_rn/... (__dadd_rn/... for double) for arithmetic, fmaf/fma where the CPU
/// uses llvm.fma or llvm.fmuladd (an FMA on the x86-64 hosts Kiln targets), floorf/rintf/fabsf/
/// copysignf (exact), bit casts by __float_as_int and friends, selects by ?:. Integer arithmetic
/// wraps (computed unsigned). NaN results may differ in payload from the CPU's.
#include <cstdint>
#include <memory>
#include <string>

namespace kiln::codegen::cuda {

/// The builder of vector_math_algorithms.h that writes CUDA C statements. A Value is a C
/// expression without side effects that needs no parentheses: a local's name or a literal.
class MathWriter {
public:
    using Value = std::string;

    /// Writes statements for values of type float (f64 false) or double, each on its own line
    /// with `indent` spaces, into `body`.
    MathWriter(bool f64, std::string& body, int indent = 4);

    bool f64;
    int mant_bits;
    int bias;

    Value c(double v) const;
    Value ci(int64_t v) const;
    Value inf() const;
    Value nan() const;

    Value add(const Value& x, const Value& y) { return call(ft_, "add", x, y); }
    Value sub(const Value& x, const Value& y) { return call(ft_, "sub", x, y); }
    Value mul(const Value& x, const Value& y) { return call(ft_, "mul", x, y); }
    Value div(const Value& x, const Value& y) { return call(ft_, "div", x, y); }
    Value neg(const Value& x) { return def(ft_, "-" + x); }
    Value fma(const Value& x, const Value& y, const Value& z);
    Value muladd(const Value& x, const Value& y, const Value& z) { return fma(x, y, z); }
    Value fabs(const Value& x) { return libm("fabs", x); }
    Value floor(const Value& x) { return libm("floor", x); }
    Value rint(const Value& x) { return libm("rint", x); }
    Value copysign(const Value& mag, const Value& sign);

    // C's <, <=, >, >=, == are ordered like the CPU's compares; != is not, hence ne's form.
    Value lt(const Value& x, const Value& y) { return infix("bool", x, "<", y); }
    Value le(const Value& x, const Value& y) { return infix("bool", x, "<=", y); }
    Value gt(const Value& x, const Value& y) { return infix("bool", x, ">", y); }
    Value ge(const Value& x, const Value& y) { return infix("bool", x, ">=", y); }
    Value eq(const Value& x, const Value& y) { return infix("bool", x, "==", y); }
    Value ne(const Value& x, const Value& y);
    Value isnan(const Value& x) { return infix("bool", x, "!=", x); }
    Value sel(const Value& cond, const Value& x, const Value& y);
    Value and_(const Value& x, const Value& y) { return infix("bool", x, "&&", y); }
    Value or_(const Value& x, const Value& y) { return infix("bool", x, "||", y); }
    Value not_(const Value& x) { return def("bool", "!" + x); }

    Value as_int(const Value& x);
    Value as_float(const Value& i);
    Value iadd(const Value& x, const Value& y) { return wrapping(x, "+", y); }
    Value isub(const Value& x, const Value& y) { return wrapping(x, "-", y); }
    Value ishl(const Value& x, const Value& y) { return wrapping(x, "<<", y); }
    Value iashr(const Value& x, const Value& y) { return infix(it_, x, ">>", y); }
    Value iand(const Value& x, const Value& y) { return infix(it_, x, "&", y); }
    Value ixor(const Value& x, const Value& y) { return infix(it_, x, "^", y); }
    Value ieq(const Value& x, const Value& y) { return infix("bool", x, "==", y); }
    Value ine(const Value& x, const Value& y) { return infix("bool", x, "!=", y); }
    Value ilt(const Value& x, const Value& y) { return infix("bool", x, "<", y); }
    Value to_int(const Value& x) { return def(it_, std::string("(") + it_ + ")" + x); }
    Value to_float(const Value& i) { return def(ft_, std::string("(") + ft_ + ")" + i); }

    MathWriter wide() const;
    Value fpext(const Value& x) { return def("double", "(double)" + x); }
    Value fptrunc(const Value& x) { return def("float", "(float)" + x); }

private:
    /// Declares `const type tN = expr;` and returns tN.
    Value def(const char* type, const std::string& expr);
    Value infix(const char* type, const Value& x, const char* op, const Value& y);
    /// __fadd_rn(x, y), __dmul_rn(x, y), ...
    Value call(const char* type, const char* op, const Value& x, const Value& y);
    /// floorf(x) or floor(x), ...
    Value libm(const char* name, const Value& x);
    /// x op y in the unsigned type of the same width, converted back (wraps).
    Value wrapping(const Value& x, const char* op, const Value& y);

    const char* ft_;  ///< float or double
    const char* it_;  ///< int or long long
    struct Out {
        std::string& body;
        int indent;
        int temps = 0;
    };
    std::shared_ptr<Out> out_;  ///< shared with wide()
};

/// The definition of helper `name` when it is one of Kiln's math functions:
/// `kiln_<op>_<f32|f64>` for op exp, log, sin, cos, tanh, sigmoid, erf (one argument) and pow
/// (two), as a `static __device__ __forceinline__` function; "" for any other name.
std::string math_helper(const std::string& name);

}  // namespace kiln::codegen::cuda
