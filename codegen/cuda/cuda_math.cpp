// MathWriter (the CUDA C builder of Kiln's vector math algorithms) and the helper functions
// written with it. See cuda_math.h.
#include "codegen/cuda/cuda_math.h"

#include <limits>

#include <fmt/format.h>

#include "codegen/cuda/cuda_expr.h"
#include "codegen/llvm/vector_math_algorithms.h"

namespace kiln::codegen::cuda {

MathWriter::MathWriter(bool f64_, std::string& body, int indent)
    : f64(f64_), mant_bits(f64_ ? 52 : 23), bias(f64_ ? 1023 : 127), ft_(f64_ ? "double" : "float"),
      it_(f64_ ? "long long" : "int"), out_(std::make_shared<Out>(Out{body, indent})) {}

MathWriter MathWriter::wide() const {
    MathWriter w = *this;
    w.f64 = true;
    w.mant_bits = 52;
    w.bias = 1023;
    w.ft_ = "double";
    w.it_ = "long long";
    return w;
}

MathWriter::Value MathWriter::c(double v) const {
    return float_literal(v, f64 ? DType::Float64 : DType::Float32);
}

MathWriter::Value MathWriter::ci(int64_t v) const {
    std::string s = f64 ? fmt::format("{}LL", v) : fmt::format("{}", static_cast<int32_t>(v));
    return v < 0 ? "(" + s + ")" : s;
}

MathWriter::Value MathWriter::inf() const { return c(std::numeric_limits<double>::infinity()); }
MathWriter::Value MathWriter::nan() const { return c(std::numeric_limits<double>::quiet_NaN()); }

MathWriter::Value MathWriter::fma(const Value& x, const Value& y, const Value& z) {
    return def(ft_, fmt::format("{}({}, {}, {})", f64 ? "fma" : "fmaf", x, y, z));
}

MathWriter::Value MathWriter::copysign(const Value& mag, const Value& sign) {
    return def(ft_, fmt::format("copysign{}({}, {})", f64 ? "" : "f", mag, sign));
}

MathWriter::Value MathWriter::ne(const Value& x, const Value& y) {
    return def("bool", fmt::format("{0} < {1} || {0} > {1}", x, y));
}

MathWriter::Value MathWriter::sel(const Value& cond, const Value& x, const Value& y) {
    return def(ft_, fmt::format("{} ? {} : {}", cond, x, y));
}

MathWriter::Value MathWriter::as_int(const Value& x) {
    return def(it_, fmt::format("{}({})", f64 ? "__double_as_longlong" : "__float_as_int", x));
}

MathWriter::Value MathWriter::as_float(const Value& i) {
    return def(ft_, fmt::format("{}({})", f64 ? "__longlong_as_double" : "__int_as_float", i));
}

MathWriter::Value MathWriter::def(const char* type, const std::string& expr) {
    std::string name = fmt::format("t{}", out_->temps++);
    out_->body += fmt::format("{:{}}const {} {} = {};\n", "", out_->indent, type, name, expr);
    return name;
}

MathWriter::Value MathWriter::infix(const char* type, const Value& x, const char* op,
                                    const Value& y) {
    return def(type, fmt::format("{} {} {}", x, op, y));
}

MathWriter::Value MathWriter::call(const char* type, const char* op, const Value& x,
                                   const Value& y) {
    return def(type, fmt::format("__{}{}_rn({}, {})", f64 ? "d" : "f", op, x, y));
}

MathWriter::Value MathWriter::libm(const char* name, const Value& x) {
    return def(ft_, fmt::format("{}{}({})", name, f64 ? "" : "f", x));
}

MathWriter::Value MathWriter::wrapping(const Value& x, const char* op, const Value& y) {
    const char* u = f64 ? "unsigned long long" : "unsigned";
    return def(it_, fmt::format("({})(({}){} {} ({}){})", it_, u, x, op, u, y));
}

std::string math_helper(const std::string& name) {
    const std::string prefix = "kiln_";
    size_t us = name.rfind('_');
    if (name.rfind(prefix, 0) != 0 || us == std::string::npos || us < prefix.size()) return "";
    std::string fn = name.substr(prefix.size(), us - prefix.size());
    std::string sx = name.substr(us + 1);
    if (sx != "f32" && sx != "f64") return "";
    bool f64 = sx == "f64";
    const ir::Op ops[] = {ir::Op::Exp,  ir::Op::Log,     ir::Op::Sin, ir::Op::Cos,
                          ir::Op::Tanh, ir::Op::Sigmoid, ir::Op::Erf, ir::Op::Pow};
    for (ir::Op op : ops) {
        if (ir::op_name(op) != fn) continue;
        std::string body;
        MathWriter w(f64, body);
        bool binary = op == ir::Op::Pow;
        std::string result = binary ? vmath::pow_impl(w, "x", "y") : vmath::math_impl(w, op, "x");
        const char* ty = f64 ? "double" : "float";
        std::string params =
            binary ? fmt::format("const {0} x, const {0} y", ty) : fmt::format("const {} x", ty);
        return fmt::format(
            "// Kiln's {0} (codegen/llvm/vector_math*.cpp): the CPU backend's operations in its\n"
            "// order, so the result is the CPU's bit for bit.\n"
            "static __device__ __forceinline__ {1} {2}({3}) {{\n{4}    return {5};\n}}\n",
            fn, ty, name, params, body, result);
    }
    return "";
}

}  // namespace kiln::codegen::cuda
