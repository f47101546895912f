// Gradients of elementwise ops. `x`, `a`, `b` are the forward inputs and `n` the forward result
// (rules reuse it where the derivative is a function of the output: exp, tanh, sigmoid).
// Where PyTorch picks a value at a kink, so do these rules: abs'(0) = 0; max/min split a tie
// evenly between the two inputs (PyTorch's maximum), except that a tie with a constant gives
// the other input nothing (relu'(0) = 0, as max(x, 0) is how relu is recorded).
#include <cmath>

#include "ir/build.h"
#include "passes/autodiff/vjp.h"

namespace kiln::passes::vjp {
namespace {

using ir::Op;
namespace b = ir::build;

NodeRef c(double v, const NodeRef& like) { return b::scalar_like(v, like); }
NodeRef mul(const NodeRef& x, const NodeRef& y) { return b::binary(Op::Mul, x, y); }
NodeRef div(const NodeRef& x, const NodeRef& y) { return b::binary(Op::Div, x, y); }
NodeRef sub(const NodeRef& x, const NodeRef& y) { return b::binary(Op::Sub, x, y); }
NodeRef neg(const NodeRef& x) { return b::unary(Op::Neg, x); }
NodeRef lt(const NodeRef& x, const NodeRef& y) { return b::binary(Op::Lt, x, y); }
NodeRef eq(const NodeRef& x, const NodeRef& y) { return b::binary(Op::Eq, x, y); }
NodeRef where(const NodeRef& cond, const NodeRef& x, const NodeRef& y) {
    return b::where(cond, x, y);
}

NodeRef unary_grad(const NodeRef& n, const NodeRef& g) {
    const NodeRef& x = n->input(0);
    switch (n->op()) {
    case Op::Neg: return neg(g);
    case Op::Exp: return mul(g, n);
    case Op::Log: return div(g, x);
    case Op::Sqrt: return div(g, mul(n, c(2, n)));
    case Op::Abs: return where(lt(c(0, x), x), g, where(lt(x, c(0, x)), neg(g), c(0, g)));
    case Op::Sin: return mul(g, b::unary(Op::Cos, x));
    case Op::Cos: return neg(mul(g, b::unary(Op::Sin, x)));
    case Op::Tanh: return mul(g, sub(c(1, n), mul(n, n)));
    case Op::Sigmoid: return mul(g, mul(n, sub(c(1, n), n)));
    case Op::Erf:  // 2/sqrt(pi) exp(-x^2)
        return mul(g, mul(c(2 / std::sqrt(M_PI), x), b::unary(Op::Exp, neg(mul(x, x)))));
    case Op::Reciprocal: return neg(mul(g, mul(n, n)));
    case Op::Cast: return is_floating(x->dtype()) ? b::cast(g, x->dtype()) : nullptr;
    default: return nullptr;  // not, detach, leaf: no gradient
    }
}

/// max / min: the gradient for input `self` against `other`; `wins` says where self is chosen.
NodeRef extreme_grad(const NodeRef& g, const NodeRef& self, const NodeRef& other,
                     const NodeRef& wins) {
    if (other->op() == Op::Const) return where(wins, g, c(0, g));
    return where(wins, g, where(eq(self, other), mul(g, c(0.5, g)), c(0, g)));
}

Grads binary_grads(const NodeRef& n, const NodeRef& g, const Needs& needs) {
    const NodeRef& a = n->input(0);
    const NodeRef& bb = n->input(1);
    Grads out(2);
    switch (n->op()) {
    case Op::Add: out = {g, g}; break;
    case Op::Sub: out = {g, needs[1] ? neg(g) : nullptr}; break;
    case Op::Mul: out = {needs[0] ? mul(g, bb) : nullptr, needs[1] ? mul(g, a) : nullptr}; break;
    case Op::Div: out = {div(g, bb), needs[1] ? neg(div(mul(g, n), bb)) : nullptr}; break;
    case Op::Mod:  // fmod: a - trunc(a/b) b, and trunc(a/b) = (a - fmod(a, b)) / b
        out = {g, needs[1] ? neg(mul(g, div(sub(a, n), bb))) : nullptr};
        break;
    case Op::Max:
        out = {needs[0] ? extreme_grad(g, a, bb, lt(bb, a)) : nullptr,
               needs[1] ? extreme_grad(g, bb, a, lt(a, bb)) : nullptr};
        break;
    case Op::Min:
        out = {needs[0] ? extreme_grad(g, a, bb, lt(a, bb)) : nullptr,
               needs[1] ? extreme_grad(g, bb, a, lt(bb, a)) : nullptr};
        break;
    case Op::Pow:
        // d/da = b a^(b-1) (0 where b == 0, so 0^0 has no 0 * inf); d/db = a^b log a (0 where
        // a == 0 and b >= 0, where log a is -inf but the power is flat or one-sided): PyTorch's.
        if (needs[0]) {
            NodeRef d = mul(bb, b::binary(Op::Pow, a, sub(bb, c(1, bb))));
            out[0] = mul(g, where(eq(bb, c(0, bb)), c(0, d), d));
        }
        if (needs[1]) {
            NodeRef d = mul(n, b::unary(Op::Log, a));
            NodeRef flat = b::binary(Op::And, eq(a, c(0, a)), b::binary(Op::Le, c(0, bb), bb));
            out[1] = mul(g, where(flat, c(0, d), d));
        }
        break;
    default: break;  // comparisons and logic: bool results carry no gradient
    }
    return out;
}

}  // namespace

Grads elementwise(const NodeRef& n, const NodeRef& g, const Needs& needs) {
    switch (ir::op_category(n->op())) {
    case ir::OpCategory::Unary: return {unary_grad(n, g)};
    case ir::OpCategory::Binary: return binary_grads(n, g, needs);
    default: {  // where(cond, a, b)
        const NodeRef& cond = n->input(0);
        return {nullptr, needs[1] ? where(cond, g, c(0, g)) : nullptr,
                needs[2] ? where(cond, c(0, g), g) : nullptr};
    }
    }
}

}  // namespace kiln::passes::vjp
