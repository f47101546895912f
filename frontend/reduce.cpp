// Reductions and the normalizations built from them (softmax, log_softmax, logsumexp, var).
// Everything is written as reduce nodes (which keep reduced axes with size 1) plus elementwise
// ops, so fusion can put a normalization into one row kernel.
#include <cmath>
#include <limits>

#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Op;

NodeRef finish(const NodeRef& r, const std::vector<int64_t>& axes, bool keepdim) {
    return keepdim ? r : build::squeeze_axes(r, axes);
}

int64_t reduced_count(const ir::Shape& shape, const std::vector<int64_t>& axes) {
    int64_t n = 1;
    for (int64_t a : axes) n *= shape[a];
    return n;
}

/// sum: bool and integer inputs accumulate in i64 (as PyTorch does).
NodeRef sum_node(const NodeRef& n, const std::vector<int64_t>& axes) {
    NodeRef x = is_floating(n->dtype()) ? n : build::cast(n, DType::Int64);
    return build::reduce(Op::ReduceSum, x, axes);
}

NodeRef extreme(const char* name, Op op, const NodeRef& n, const std::vector<int64_t>& axes,
                const std::source_location& loc) {
    if (n->dtype() == DType::Bool) fail<TypeError>(name, "not supported for bool tensors", loc);
    for (int64_t a : axes) {
        if (n->shape()[a] == 0) {
            fail<ValueError>(name, "cannot reduce over dim " + std::to_string(a) +
                                       " of size 0 (shape " + ir::shape_str(n->shape()) + ")",
                             loc);
        }
    }
    return build::reduce(op, n, axes);
}

NodeRef mean_node(const NodeRef& n, const std::vector<int64_t>& axes) {
    NodeRef s = build::reduce(Op::ReduceSum, n, axes);
    double count = static_cast<double>(reduced_count(n->shape(), axes));
    return build::binary(Op::Div, s, build::scalar_like(count, s));
}

NodeRef var_node(const NodeRef& n, const std::vector<int64_t>& axes, bool unbiased) {
    NodeRef mean = build::broadcast_to(mean_node(n, axes), n->shape());
    NodeRef d = build::binary(Op::Sub, n, mean);
    NodeRef ss = build::reduce(Op::ReduceSum, build::binary(Op::Mul, d, d), axes);
    double count = static_cast<double>(reduced_count(n->shape(), axes)) - (unbiased ? 1 : 0);
    return build::binary(Op::Div, ss, build::scalar_like(count, ss));
}

/// x - max(x) along `axes`, broadcast back to x's shape (the stable shift of softmax & co).
/// With `mask_inf`, an infinite max shifts by 0 instead (so all -inf rows stay -inf, not NaN).
NodeRef shifted(const NodeRef& x, const std::vector<int64_t>& axes, NodeRef* max_out,
                bool mask_inf) {
    NodeRef m = build::reduce(Op::ReduceMax, x, axes);
    if (mask_inf) {
        NodeRef inf = build::scalar_like(std::numeric_limits<double>::infinity(), m);
        NodeRef is_inf = build::binary(Op::Eq, build::unary(Op::Abs, m), inf);
        m = build::where(is_inf, build::scalar_like(0, m), m);
    }
    if (max_out) *max_out = m;
    return build::binary(Op::Sub, x, build::broadcast_to(m, x->shape()));
}

NodeRef log_sum_exp_shifted(const NodeRef& z, const std::vector<int64_t>& axes) {
    return build::unary(Op::Log, build::reduce(Op::ReduceSum, build::unary(Op::Exp, z), axes));
}

}  // namespace

Tensor Tensor::sum(std::source_location loc) const { return sum({}, false, loc); }

Tensor Tensor::sum(std::vector<int64_t> dims, bool keepdim, std::source_location loc) const {
    NodeRef n = node_of(*this, "sum", loc);
    auto axes = normalize_dims("sum", dims, n->shape(), loc);
    return make_tensor(finish(sum_node(n, axes), axes, keepdim), device());
}

Tensor Tensor::mean(std::source_location loc) const { return mean({}, false, loc); }

Tensor Tensor::mean(std::vector<int64_t> dims, bool keepdim, std::source_location loc) const {
    NodeRef n = node_of(*this, "mean", loc);
    require_floating("mean", *n, loc);
    auto axes = normalize_dims("mean", dims, n->shape(), loc);
    return make_tensor(finish(mean_node(n, axes), axes, keepdim), device());
}

Tensor Tensor::amax(std::vector<int64_t> dims, bool keepdim, std::source_location loc) const {
    NodeRef n = node_of(*this, "amax", loc);
    auto axes = normalize_dims("amax", dims, n->shape(), loc);
    return make_tensor(finish(extreme("amax", Op::ReduceMax, n, axes, loc), axes, keepdim),
                       device());
}

Tensor Tensor::amin(std::vector<int64_t> dims, bool keepdim, std::source_location loc) const {
    NodeRef n = node_of(*this, "amin", loc);
    auto axes = normalize_dims("amin", dims, n->shape(), loc);
    return make_tensor(finish(extreme("amin", Op::ReduceMin, n, axes, loc), axes, keepdim),
                       device());
}

Tensor Tensor::max(std::source_location loc) const {
    NodeRef n = node_of(*this, "max", loc);
    auto axes = normalize_dims("max", {}, n->shape(), loc);
    return make_tensor(finish(extreme("max", Op::ReduceMax, n, axes, loc), axes, false), device());
}

Tensor Tensor::min(std::source_location loc) const {
    NodeRef n = node_of(*this, "min", loc);
    auto axes = normalize_dims("min", {}, n->shape(), loc);
    return make_tensor(finish(extreme("min", Op::ReduceMin, n, axes, loc), axes, false), device());
}

Tensor Tensor::argmax(int64_t dim, bool keepdim, std::source_location loc) const {
    NodeRef x = node_of(*this, "argmax", loc);
    if (x->rank() == 0) {
        wrap_dim("argmax", dim, {}, loc, true);
        return make_tensor(ir::make_int_const(0, DType::Int64, {}), device());
    }
    std::vector<int64_t> axes{wrap_dim("argmax", dim, x->shape(), loc)};
    NodeRef m = build::broadcast_to(extreme("argmax", Op::ReduceMax, x, axes, loc), x->shape());
    // The first index holding the max; a NaN counts as the max (as in PyTorch).
    NodeRef hit = build::binary(Op::Eq, x, m);
    if (is_floating(x->dtype())) hit = build::binary(Op::Or, hit, build::binary(Op::Ne, x, x));
    NodeRef index = ir::Node::make(Op::Iota, DType::Int64, x->shape(), {}, ir::AxisAttr{axes[0]});
    NodeRef big = ir::make_int_const(std::numeric_limits<int64_t>::max(), DType::Int64, x->shape());
    NodeRef first = build::reduce(Op::ReduceMin, build::where(hit, index, big), axes);
    return make_tensor(finish(first, axes, keepdim), device());
}

Tensor Tensor::var(std::vector<int64_t> dims, bool unbiased, bool keepdim,
                   std::source_location loc) const {
    NodeRef n = node_of(*this, "var", loc);
    require_floating("var", *n, loc);
    auto axes = normalize_dims("var", dims, n->shape(), loc);
    return make_tensor(finish(var_node(n, axes, unbiased), axes, keepdim), device());
}

Tensor Tensor::std(std::vector<int64_t> dims, bool unbiased, bool keepdim,
                   std::source_location loc) const {
    NodeRef n = node_of(*this, "std", loc);
    require_floating("std", *n, loc);
    auto axes = normalize_dims("std", dims, n->shape(), loc);
    return make_tensor(finish(build::unary(Op::Sqrt, var_node(n, axes, unbiased)), axes, keepdim),
                       device());
}

/// Single-dim ops on a rank-0 tensor work on it as a 1-element vector (as PyTorch does).
static Tensor on_scalar_as_vector(const Tensor& t, int64_t dim, const char* op,
                           const std::source_location& loc,
                           Tensor (*f)(const Tensor&, int64_t, std::source_location)) {
    wrap_dim(op, dim, {}, loc, true);
    return f(t.reshape({1}, loc), 0, loc).reshape({}, loc);
}

Tensor softmax(const Tensor& t, int64_t dim, std::source_location loc) {
    NodeRef x = node_of(t, "softmax", loc);
    if (x->rank() == 0) return on_scalar_as_vector(t, dim, "softmax", loc, &softmax);
    require_floating("softmax", *x, loc);
    std::vector<int64_t> axes{wrap_dim("softmax", dim, x->shape(), loc)};
    NodeRef e = build::unary(Op::Exp, shifted(x, axes, nullptr, false));
    // Multiply by the reciprocal of the row sum (one division per row, as PyTorch's kernel does)
    // instead of dividing every element.
    NodeRef inv = build::unary(Op::Reciprocal, build::reduce(Op::ReduceSum, e, axes));
    return make_tensor(build::binary(Op::Mul, e, build::broadcast_to(inv, x->shape())), t.device());
}

Tensor log_softmax(const Tensor& t, int64_t dim, std::source_location loc) {
    NodeRef x = node_of(t, "log_softmax", loc);
    if (x->rank() == 0) return on_scalar_as_vector(t, dim, "log_softmax", loc, &log_softmax);
    require_floating("log_softmax", *x, loc);
    std::vector<int64_t> axes{wrap_dim("log_softmax", dim, x->shape(), loc)};
    NodeRef z = shifted(x, axes, nullptr, false);
    NodeRef lse = build::broadcast_to(log_sum_exp_shifted(z, axes), x->shape());
    return make_tensor(build::binary(Op::Sub, z, lse), t.device());
}

Tensor logsumexp(const Tensor& t, std::vector<int64_t> dims, bool keepdim,
                 std::source_location loc) {
    NodeRef x = node_of(t, "logsumexp", loc);
    require_floating("logsumexp", *x, loc);
    auto axes = normalize_dims("logsumexp", dims, x->shape(), loc);
    NodeRef m;
    NodeRef z = shifted(x, axes, &m, true);
    NodeRef r = build::binary(Op::Add, log_sum_exp_shifted(z, axes), m);
    return make_tensor(finish(r, axes, keepdim), t.device());
}

}  // namespace kiln
