// Elementwise ops: promotion and broadcasting as in PyTorch, then explicit casts/expands in IR.
#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "frontend/checks.h"
#include "frontend/elementwise.h"
#include "frontend/graph_builder.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Op;

/// dtype of tensor ∘ scalar: the scalar never changes the tensor's category, only lifts it
/// to float (float scalar with int/bool tensor) or to i64 (int scalar with bool tensor).
DType scalar_result_dtype(DType t, const Scalar& s) {
    if (s.is_floating() && !is_floating(t)) return DType::Float32;
    if (s.is_integral() && t == DType::Bool) return DType::Int64;
    return t;
}

NodeRef scalar_node(const Scalar& s, DType dtype, const ir::Shape& shape) {
    if (is_floating(dtype) || s.is_floating()) return ir::make_const(s.to_double(), dtype, shape);
    return ir::make_int_const(s.to_int(), dtype, shape);
}

struct Pair {
    NodeRef a, b;
};

Pair broadcast_pair(const std::string& op, NodeRef a, NodeRef b, DType dtype,
                    const std::source_location& loc) {
    ir::Shape shape = broadcast_shapes(op, a->shape(), b->shape(), loc);
    check_shape(op, shape, dtype, loc);
    return {build::broadcast_to(build::cast(a, dtype), shape),
            build::broadcast_to(build::cast(b, dtype), shape)};
}

/// "bool[2] and a bool scalar": the operands as the user wrote them, for error messages.
std::string operands(const NodeRef& a, const NodeRef& b, const Scalar* scalar, bool scalar_first) {
    auto scalar_text = [&]() -> std::string {
        switch (scalar->kind()) {
        case Scalar::Kind::Bool: return "a bool scalar";
        case Scalar::Kind::Int: return "an integer scalar";
        case Scalar::Kind::Float: break;
        }
        return "a float scalar";
    };
    if (!scalar) return describe(*a) + " and " + describe(*b);
    return scalar_first ? scalar_text() + " and " + describe(*b)
                        : describe(*a) + " and " + scalar_text();
}

/// Applies an arithmetic op (add, sub, mul, div, max, min, pow, mod) to two promoted nodes.
/// `scalar` is the number operand of a tensor-scalar op (for messages only).
NodeRef arith(const std::string& name, Op op, NodeRef a, NodeRef b, DType dtype,
              const std::source_location& loc, const Scalar* scalar = nullptr,
              bool scalar_first = false) {
    if (dtype == DType::Bool) {
        // Arithmetic on bool is logic (PyTorch: True + True == True); subtraction is refused.
        if (op == Op::Add || op == Op::Max) op = Op::Or;
        else if (op == Op::Mul || op == Op::Min) op = Op::And;
        else if (op == Op::Div) dtype = DType::Float32;
        else fail<TypeError>(name, "not supported for bool tensors (got " +
                                       operands(a, b, scalar, scalar_first) + ")", loc);
    }
    if (op == Op::Div && !is_floating(dtype)) dtype = DType::Float32;  // true division
    Pair p = broadcast_pair(name, std::move(a), std::move(b), dtype, loc);
    return build::binary(op, p.a, p.b);
}

/// lt/le/eq/ne in a common dtype; gt/ge swap the operands.
Tensor compare(const char* name, Op op, bool swap, const NodeRef& x, const NodeRef& y,
               DType dtype, Device device, const std::source_location& loc) {
    Pair p = broadcast_pair(name, x, y, dtype, loc);
    return make_tensor(swap ? build::binary(op, p.b, p.a) : build::binary(op, p.a, p.b), device);
}

Tensor compare_tt(const char* name, Op op, bool swap, Located a, const Tensor& b) {
    const NodeRef& na = node_of(a.t, name, a.loc);
    const NodeRef& nb = node_of(b, name, a.loc);
    Device device = common_device(name, {&a.t, &b}, a.loc);
    return compare(name, op, swap, na, nb, result_type(*na, *nb), device, a.loc);
}

Tensor compare_ts(const char* name, Op op, bool swap, Located a, const Scalar& s) {
    const NodeRef& na = node_of(a.t, name, a.loc);
    DType dtype = scalar_result_dtype(na->dtype(), s);
    return compare(name, op, swap, na, scalar_node(s, dtype, na->shape()), dtype, a.t.device(),
                   a.loc);
}

/// Float-only unary math: integer and bool inputs are computed in f32 (as PyTorch does).
NodeRef float_unary(Op op, const NodeRef& n) {
    NodeRef x = is_floating(n->dtype()) ? n : build::cast(n, DType::Float32);
    return build::unary(op, x);
}

Tensor float_unary_op(const char* name, Op op, const Tensor& t, const std::source_location& loc) {
    return make_tensor(float_unary(op, node_of(t, name, loc)), t.device());
}

NodeRef numeric(const char* name, const Tensor& t, const std::source_location& loc) {
    const NodeRef& n = node_of(t, name, loc);
    if (n->dtype() == DType::Bool) fail<TypeError>(name, "not supported for bool tensors", loc);
    return n;
}

}  // namespace

namespace detail {
Tensor binary_tt(const char* name, Op op, Located a, const Tensor& b) {
    const NodeRef& na = node_of(a.t, name, a.loc);
    const NodeRef& nb = node_of(b, name, a.loc);
    Device device = common_device(name, {&a.t, &b}, a.loc);
    return make_tensor(arith(name, op, na, nb, result_type(*na, *nb), a.loc), device);
}

Tensor binary_ts(const char* name, Op op, Located a, const Scalar& s, bool scalar_first) {
    const NodeRef& na = node_of(a.t, name, a.loc);
    DType dtype = scalar_result_dtype(na->dtype(), s);
    NodeRef ns = scalar_node(s, dtype, na->shape());
    NodeRef r = scalar_first ? arith(name, op, ns, na, dtype, a.loc, &s, true)
                             : arith(name, op, na, ns, dtype, a.loc, &s, false);
    return make_tensor(r, a.t.device());
}

}  // namespace detail

using detail::binary_ts;
using detail::binary_tt;

// ---- operators
Tensor operator+(Located a, const Tensor& b) { return binary_tt("add", Op::Add, a, b); }
Tensor operator-(Located a, const Tensor& b) { return binary_tt("sub", Op::Sub, a, b); }
Tensor operator*(Located a, const Tensor& b) { return binary_tt("mul", Op::Mul, a, b); }
Tensor operator/(Located a, const Tensor& b) { return binary_tt("div", Op::Div, a, b); }
Tensor operator+(Located a, Scalar b) { return binary_ts("add", Op::Add, a, b, false); }
Tensor operator-(Located a, Scalar b) { return binary_ts("sub", Op::Sub, a, b, false); }
Tensor operator*(Located a, Scalar b) { return binary_ts("mul", Op::Mul, a, b, false); }
Tensor operator/(Located a, Scalar b) { return binary_ts("div", Op::Div, a, b, false); }
Tensor operator+(Scalar a, Located b) { return binary_ts("add", Op::Add, b, a, true); }
Tensor operator-(Scalar a, Located b) { return binary_ts("sub", Op::Sub, b, a, true); }
Tensor operator*(Scalar a, Located b) { return binary_ts("mul", Op::Mul, b, a, true); }
Tensor operator/(Scalar a, Located b) { return binary_ts("div", Op::Div, b, a, true); }
Tensor operator-(Located a) { return neg(a.t, a.loc); }

Tensor operator==(Located a, const Tensor& b) { return compare_tt("eq", Op::Eq, false, a, b); }
Tensor operator!=(Located a, const Tensor& b) { return compare_tt("ne", Op::Ne, false, a, b); }
Tensor operator<(Located a, const Tensor& b) { return compare_tt("lt", Op::Lt, false, a, b); }
Tensor operator<=(Located a, const Tensor& b) { return compare_tt("le", Op::Le, false, a, b); }
Tensor operator>(Located a, const Tensor& b) { return compare_tt("gt", Op::Lt, true, a, b); }
Tensor operator>=(Located a, const Tensor& b) { return compare_tt("ge", Op::Le, true, a, b); }
Tensor operator==(Located a, Scalar b) { return compare_ts("eq", Op::Eq, false, a, b); }
Tensor operator!=(Located a, Scalar b) { return compare_ts("ne", Op::Ne, false, a, b); }
Tensor operator<(Located a, Scalar b) { return compare_ts("lt", Op::Lt, false, a, b); }
Tensor operator<=(Located a, Scalar b) { return compare_ts("le", Op::Le, false, a, b); }
Tensor operator>(Located a, Scalar b) { return compare_ts("gt", Op::Lt, true, a, b); }
Tensor operator>=(Located a, Scalar b) { return compare_ts("ge", Op::Le, true, a, b); }

// ---- unary functions
Tensor neg(const Tensor& t, std::source_location loc) {
    return make_tensor(build::unary(Op::Neg, numeric("neg", t, loc)), t.device());
}
Tensor abs(const Tensor& t, std::source_location loc) {
    return make_tensor(build::unary(Op::Abs, numeric("abs", t, loc)), t.device());
}
Tensor exp(const Tensor& t, std::source_location loc) { return float_unary_op("exp", Op::Exp, t, loc); }
Tensor log(const Tensor& t, std::source_location loc) { return float_unary_op("log", Op::Log, t, loc); }
Tensor sqrt(const Tensor& t, std::source_location loc) { return float_unary_op("sqrt", Op::Sqrt, t, loc); }
Tensor sin(const Tensor& t, std::source_location loc) { return float_unary_op("sin", Op::Sin, t, loc); }
Tensor cos(const Tensor& t, std::source_location loc) { return float_unary_op("cos", Op::Cos, t, loc); }
Tensor tanh(const Tensor& t, std::source_location loc) { return float_unary_op("tanh", Op::Tanh, t, loc); }
Tensor sigmoid(const Tensor& t, std::source_location loc) {
    return float_unary_op("sigmoid", Op::Sigmoid, t, loc);
}
Tensor reciprocal(const Tensor& t, std::source_location loc) {
    return float_unary_op("reciprocal", Op::Reciprocal, t, loc);
}
Tensor rsqrt(const Tensor& t, std::source_location loc) {
    return make_tensor(build::unary(Op::Reciprocal, float_unary(Op::Sqrt, node_of(t, "rsqrt", loc))),
                       t.device());
}
Tensor relu(const Tensor& t, std::source_location loc) {
    NodeRef n = numeric("relu", t, loc);
    return make_tensor(build::binary(Op::Max, n, build::scalar_like(0, n)), t.device());
}
Tensor silu(const Tensor& t, std::source_location loc) {
    NodeRef s = float_unary(Op::Sigmoid, node_of(t, "silu", loc));
    NodeRef x = build::cast(node_of(t, "silu", loc), s->dtype());
    return make_tensor(build::binary(Op::Mul, x, s), t.device());
}

Tensor gelu(const Tensor& t, const std::string& approximate, std::source_location loc) {
    NodeRef n = node_of(t, "gelu", loc);
    if (approximate != "none" && approximate != "tanh") {
        fail<ValueError>("gelu", "approximate must be \"none\" or \"tanh\", got \"" + approximate +
                                     "\"", loc);
    }
    NodeRef x = is_floating(n->dtype()) ? n : build::cast(n, DType::Float32);
    auto c = [&](double v) { return build::scalar_like(v, x); };
    NodeRef inner;
    if (approximate == "none") {
        inner = build::unary(Op::Erf, build::binary(Op::Mul, x, c(std::numbers::sqrt2 / 2)));
    } else {
        NodeRef x3 = build::binary(Op::Mul, build::binary(Op::Mul, x, x), x);
        NodeRef poly = build::binary(Op::Add, x, build::binary(Op::Mul, c(0.044715), x3));
        inner = build::unary(
            Op::Tanh,
            build::binary(Op::Mul, c(std::sqrt(2.0 / std::numbers::pi)), poly));
    }
    NodeRef half_x = build::binary(Op::Mul, x, c(0.5));
    return make_tensor(build::binary(Op::Mul, half_x, build::binary(Op::Add, c(1.0), inner)),
                       t.device());
}

Tensor pow(const Tensor& t, Scalar exponent, std::source_location loc) {
    NodeRef n = node_of(t, "pow", loc);
    // PyTorch's promotion, as for every tensor-scalar op: a float exponent makes an integer or
    // bool tensor float (the default dtype), an integer one keeps integers (bool -> i64).
    DType dtype = scalar_result_dtype(n->dtype(), exponent);
    if (dtype == DType::Bool) dtype = DType::Int64;
    if (!is_floating(dtype) && exponent.to_int() < 0) {
        fail<ValueError>("pow",
                         "integers to negative integer powers are not allowed (" + describe(*n) +
                             " ** " + std::to_string(exponent.to_int()) + "); use a float exponent",
                         loc);
    }
    NodeRef x = build::cast(n, dtype);
    if (exponent.to_double() == 1) return make_tensor(x, t.device());
    if (exponent.to_double() == 2) return make_tensor(build::binary(Op::Mul, x, x), t.device());
    return make_tensor(build::binary(Op::Pow, x, scalar_node(exponent, dtype, x->shape())),
                       t.device());
}

Tensor pow(const Tensor& t, const Tensor& exponent, std::source_location loc) {
    return binary_tt("pow", Op::Pow, Located(t, loc), exponent);
}

Tensor maximum(const Tensor& a, const Tensor& b, std::source_location loc) {
    return binary_tt("maximum", Op::Max, Located(a, loc), b);
}
Tensor minimum(const Tensor& a, const Tensor& b, std::source_location loc) {
    return binary_tt("minimum", Op::Min, Located(a, loc), b);
}

Tensor clamp(const Tensor& t, Scalar lo, Scalar hi, std::source_location loc) {
    NodeRef n = node_of(t, "clamp", loc);
    if (lo.to_double() > hi.to_double()) {
        fail<ValueError>("clamp",
                         "min " + scalar_str(lo) + " is greater than max " + scalar_str(hi), loc);
    }
    // The result type of the tensor with both bounds (a float bound makes integers float).
    DType dtype =
        promote_types(scalar_result_dtype(n->dtype(), lo), scalar_result_dtype(n->dtype(), hi));
    if (dtype == DType::Bool) dtype = DType::Int64;
    NodeRef x = build::cast(n, dtype);
    NodeRef r = build::binary(Op::Max, x, scalar_node(lo, dtype, x->shape()));
    r = build::binary(Op::Min, r, scalar_node(hi, dtype, x->shape()));
    return make_tensor(r, t.device());
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, std::source_location loc) {
    NodeRef c = node_of(cond, "where", loc);
    NodeRef na = node_of(a, "where", loc);
    NodeRef nb = node_of(b, "where", loc);
    if (c->dtype() != DType::Bool) {
        fail<TypeError>("where", "condition must be bool, got " + describe(*c), loc);
    }
    Device device = common_device("where", {&cond, &a, &b}, loc);
    DType dtype = result_type(*na, *nb);
    ir::Shape shape = broadcast_shapes(
        "where", broadcast_shapes("where", c->shape(), na->shape(), loc), nb->shape(), loc);
    check_shape("where", shape, dtype, loc);
    return make_tensor(build::where(build::broadcast_to(c, shape),
                                    build::broadcast_to(build::cast(na, dtype), shape),
                                    build::broadcast_to(build::cast(nb, dtype), shape)),
                       device);
}

// ---- methods
Tensor Tensor::neg(std::source_location loc) const { return kiln::neg(*this, loc); }
Tensor Tensor::exp(std::source_location loc) const { return kiln::exp(*this, loc); }
Tensor Tensor::log(std::source_location loc) const { return kiln::log(*this, loc); }
Tensor Tensor::sqrt(std::source_location loc) const { return kiln::sqrt(*this, loc); }
Tensor Tensor::rsqrt(std::source_location loc) const { return kiln::rsqrt(*this, loc); }
Tensor Tensor::abs(std::source_location loc) const { return kiln::abs(*this, loc); }
Tensor Tensor::sin(std::source_location loc) const { return kiln::sin(*this, loc); }
Tensor Tensor::cos(std::source_location loc) const { return kiln::cos(*this, loc); }
Tensor Tensor::tanh(std::source_location loc) const { return kiln::tanh(*this, loc); }
Tensor Tensor::sigmoid(std::source_location loc) const { return kiln::sigmoid(*this, loc); }
Tensor Tensor::relu(std::source_location loc) const { return kiln::relu(*this, loc); }
Tensor Tensor::silu(std::source_location loc) const { return kiln::silu(*this, loc); }
Tensor Tensor::reciprocal(std::source_location loc) const { return kiln::reciprocal(*this, loc); }
Tensor Tensor::pow(Scalar e, std::source_location loc) const { return kiln::pow(*this, e, loc); }
Tensor Tensor::pow(const Tensor& e, std::source_location loc) const {
    return kiln::pow(*this, e, loc);
}
Tensor Tensor::clamp(Scalar lo, Scalar hi, std::source_location loc) const {
    return kiln::clamp(*this, lo, hi, loc);
}

Tensor Tensor::to(DType dtype, std::source_location loc) const {
    NodeRef n = node_of(*this, "to", loc);
    check_shape("to", n->shape(), dtype, loc);  // a wider dtype may not fit in memory
    return make_tensor(build::cast(n, dtype), device());
}

}  // namespace kiln
