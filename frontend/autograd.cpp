// Autograd on the lazy graph. A leaf is a `leaf` marker node (unique id, pointing back at its
// tensor) over the tensor's value; every op recorded on it gives a node that tracks grad, so
// "requires grad" is a bit of the node. backward() collects the leaves under the output, runs
// passes::gradients and accumulates the gradient expressions into the leaves' grad() lazily:
// nothing is computed until a value is read, and then forward and backward run as one program.
#include <atomic>
#include <unordered_map>

#include "frontend/checks.h"
#include "frontend/elementwise.h"
#include "frontend/graph_builder.h"
#include "frontend/pending.h"
#include "frontend/tensor_impl.h"
#include "kiln/autograd.h"
#include "passes/autodiff/autodiff.h"

namespace kiln {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

thread_local bool grad_enabled = true;
std::atomic<int64_t> next_leaf_id{1};

/// The leaf nodes under `roots`, through gradient-carrying edges only, each once.
std::vector<NodeRef> leaves_under(const std::vector<NodeRef>& roots) {
    std::vector<NodeRef> leaves;
    std::unordered_map<const Node*, bool> seen;
    std::vector<NodeRef> stack;
    for (const NodeRef& r : roots)
        if (r->tracks_grad() && seen.emplace(r.get(), true).second) stack.push_back(r);
    while (!stack.empty()) {
        NodeRef n = std::move(stack.back());
        stack.pop_back();
        if (n->op() == Op::Leaf) {
            leaves.push_back(std::move(n));
            continue;
        }
        for (const NodeRef& in : n->inputs())
            if (in->tracks_grad() && seen.emplace(in.get(), true).second) stack.push_back(in);
    }
    return leaves;
}

/// The cotangent of output `i`: the given gradient (checked, cast to the output's dtype) or
/// ones for a single-element output.
NodeRef cotangent(const char* op, const NodeRef& out, const Tensor* given, size_t i,
                  const std::source_location& loc) {
    std::string which = op == std::string("backward") ? "" : " for output " + std::to_string(i);
    if (!given || !given->defined()) {
        if (ir::numel(out->shape()) != 1) {
            fail<ValueError>(op, "a gradient can be implied only for a single-element output, "
                                 "but the output" + which + " is " + describe(*out) +
                                 " (pass the gradient of the output explicitly)", loc);
        }
        return ir::make_const(1, out->dtype(), out->shape());
    }
    NodeRef g = node_of(*given, op, loc);
    if (g->shape() != out->shape()) {
        fail<ShapeError>(op, "the gradient" + which + " is " + describe(*g) +
                                 " but the output is " + describe(*out) + " (shapes must match)",
                         loc);
    }
    if (!is_floating(g->dtype())) {
        fail<TypeError>(op, "the gradient" + which + " must be floating point, got " +
                                describe(*g), loc);
    }
    return build::cast(g, out->dtype());
}

void check_not_freed(const char* op, const TensorImpl& impl, const std::string& which,
                     const std::source_location& loc) {
    if (impl.graph_freed.load()) {
        fail<Error>(op, "the graph of " + which + " was already freed by an earlier backward "
                        "(pass retain_graph=true to that call to differentiate it again)", loc);
    }
}

/// Adds `g` to the gradient a leaf's tensor holds, in place: holders of grad() see the sum.
void accumulate_grad(TensorImpl& leaf, const NodeRef& g, const TensorImpl::Saved& saved) {
    if (!leaf.grad.defined()) {
        leaf.grad = Tensor(std::make_shared<TensorImpl>(g, leaf.device));
    } else {
        NodeRef old = leaf.grad.impl()->node();
        // A leaf given a value of another shape or dtype since starts over.
        bool same = old->shape() == g->shape() && old->dtype() == g->dtype();
        leaf.grad.impl()->set_node(same ? build::binary(Op::Add, old, g) : g);
    }
    if (saved) leaf.grad.impl()->set_saved(saved);
    detail::note_pending(leaf.grad.impl());
}

/// Assigns `result` (computed from the tensor with the public ops) to `self` in place.
Tensor& assign(Tensor& self, const Tensor& result, const char* op,
               const std::source_location& loc) {
    NodeRef current = node_of(self, op, loc);
    NodeRef r = result.impl()->node();
    if (r->shape() != current->shape()) {
        fail<ShapeError>(op, "the result " + describe(*r) + " does not fit in the tensor " +
                                 describe(*current) + " (in-place ops cannot change its shape)",
                         loc);
    }
    if (is_floating(r->dtype()) && !is_floating(current->dtype())) {
        fail<TypeError>(op, "a " + std::string(dtype_name(r->dtype())) +
                                " result cannot be stored in place in " + describe(*current),
                        loc);
    }
    r = build::cast(r, current->dtype());
    if (current->op() == Op::Leaf && self.is_leaf()) {
        // A leaf stays the same variable with a new value; its old expression is not needed.
        r = Node::make(Op::Leaf, r->dtype(), r->shape(), {build::detach(r)}, current->attr());
    }
    self.impl()->set_node(std::move(r));
    if (!self.impl()->value()) detail::note_pending(self.impl());
    return self;
}

void check_in_place(const Tensor& self, const char* op, const std::source_location& loc) {
    node_of(self, op, loc);
    if (GradMode::is_enabled() && self.requires_grad() && self.is_leaf()) {
        fail<Error>(op, "a leaf tensor that requires grad cannot be modified in place while "
                        "gradients are recorded (update it inside a kiln::NoGradGuard, as "
                        "optimizers do)", loc);
    }
}

}  // namespace

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

Tensor& Tensor::requires_grad_(bool requires_grad, std::source_location loc) {
    NodeRef n = node_of(*this, "requires_grad_", loc);
    if (!requires_grad) {
        if (!n->tracks_grad()) return *this;
        if (!is_leaf()) {
            fail<Error>("requires_grad_", "only leaves can stop requiring grad; this tensor was "
                        "computed from one (use detach() for a value outside autograd)", loc);
        }
        impl_->set_node(n->input(0));
        return *this;
    }
    if (n->tracks_grad()) return *this;  // already a leaf, or computed from one
    if (!is_floating(n->dtype())) {
        fail<TypeError>("requires_grad_", "only floating-point tensors can require grad, got " +
                                              describe(*n), loc);
    }
    ir::LeafAttr leaf{next_leaf_id.fetch_add(1), std::weak_ptr<void>(impl_)};
    impl_->set_node(Node::make(Op::Leaf, n->dtype(), n->shape(), {n}, std::move(leaf)));
    return *this;
}

bool Tensor::is_leaf() const {
    if (!impl_) return true;
    NodeRef n = impl_->node();
    if (!n->tracks_grad()) return true;
    if (n->op() != Op::Leaf) return false;
    return n->attr_as<ir::LeafAttr>().owner.lock().get() == static_cast<void*>(impl_.get());
}

Tensor Tensor::grad() const { return impl_ ? impl_->grad : Tensor(); }
Tensor& Tensor::mutable_grad() {
    if (!impl_) throw ValueError("mutable_grad: called on an undefined tensor");
    return impl_->grad;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph,
                      bool create_graph, std::source_location loc) const {
    NodeRef out = node_of(*this, "backward", loc);
    if (!out->tracks_grad()) {
        fail<Error>("backward", "the tensor " + describe(*out) + " does not require grad (no "
                    "leaf made with requires_grad_() reaches it through differentiable ops)",
                    loc);
    }
    check_not_freed("backward", *impl_, "this tensor", loc);
    NodeRef cot = cotangent("backward", out, &gradient, 0, loc);
    std::vector<NodeRef> leaves = leaves_under({out});
    std::vector<NodeRef> grads = passes::gradients({out}, {cot}, leaves);
    TensorImpl::Saved saved = impl_->saved();
    for (size_t i = 0; i < leaves.size(); ++i) {
        if (!grads[i]) continue;
        auto owner = std::static_pointer_cast<TensorImpl>(
            leaves[i]->attr_as<ir::LeafAttr>().owner.lock());
        if (!owner) continue;  // the leaf's tensor is gone: nobody can read its gradient
        accumulate_grad(*owner, create_graph ? grads[i] : build::detach(grads[i]), saved);
        // Also the leaf: an update that reads the gradient may outlive the gradient tensor.
        if (saved) owner->set_saved(saved);
    }
    if (!retain_graph.value_or(create_graph)) {
        impl_->graph_freed.store(true);
        impl_->set_saved(nullptr);  // the gradients hold them until they are computed
    }
}

namespace autograd {

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs,
                         std::optional<bool> retain_graph, bool create_graph, bool allow_unused,
                         std::source_location loc) {
    const char* op = "autograd::grad";
    if (outputs.empty()) fail<ValueError>(op, "needs at least one output", loc);
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
        fail<ValueError>(op, "got " + std::to_string(grad_outputs.size()) +
                                 " grad_outputs for " + std::to_string(outputs.size()) +
                                 " outputs", loc);
    }
    std::vector<NodeRef> roots, cots, wrt;
    for (size_t i = 0; i < outputs.size(); ++i) {
        NodeRef out = node_of(outputs[i], op, loc);
        if (!out->tracks_grad()) {
            fail<Error>(op, "output " + std::to_string(i) + " (" + describe(*out) +
                                ") does not require grad", loc);
        }
        check_not_freed(op, *outputs[i].impl(), "output " + std::to_string(i), loc);
        roots.push_back(out);
        cots.push_back(cotangent(op, out, grad_outputs.empty() ? nullptr : &grad_outputs[i], i,
                                 loc));
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
        NodeRef in = node_of(inputs[i], op, loc);
        if (!in->tracks_grad()) {
            fail<Error>(op, "input " + std::to_string(i) + " (" + describe(*in) +
                                ") does not require grad", loc);
        }
        wrt.push_back(in);
    }
    std::vector<NodeRef> grads = passes::gradients(roots, cots, wrt);
    // Values saved by realizing an output before this call (one output's, when several have).
    TensorImpl::Saved saved;
    for (const Tensor& o : outputs)
        if (!saved) saved = o.impl()->saved();
    std::vector<Tensor> result;
    for (size_t i = 0; i < grads.size(); ++i) {
        if (!grads[i]) {
            if (!allow_unused) {
                fail<Error>(op, "input " + std::to_string(i) + " (" + describe(*wrt[i]) +
                                    ") is not used by the outputs' graph (pass "
                                    "allow_unused=true to get an undefined gradient for it)",
                            loc);
            }
            result.emplace_back();
            continue;
        }
        NodeRef g = create_graph ? grads[i] : build::detach(grads[i]);
        auto impl = std::make_shared<TensorImpl>(g, inputs[i].device());
        impl->set_saved(saved);
        result.push_back(Tensor(impl));
    }
    if (!retain_graph.value_or(create_graph)) {
        for (const Tensor& o : outputs) {
            o.impl()->graph_freed.store(true);
            o.impl()->set_saved(nullptr);
        }
    }
    return result;
}

}  // namespace autograd

// ---- in place
namespace {

/// self OP= other * alpha, with errors named `name`.
Tensor& update_scaled(Tensor& self, const char* name, Op op, const Tensor& other, Scalar alpha,
                      const std::source_location& loc) {
    check_in_place(self, name, loc);
    Tensor scaled = alpha.to_double() == 1 && !alpha.is_floating()
                        ? other
                        : detail::binary_ts(name, Op::Mul, {other, loc}, alpha, false);
    return assign(self, detail::binary_tt(name, op, {self, loc}, scaled), name, loc);
}

/// self OP= s, with errors named `name`.
Tensor& update_scalar(Tensor& self, const char* name, Op op, Scalar s,
                      const std::source_location& loc) {
    check_in_place(self, name, loc);
    return assign(self, detail::binary_ts(name, op, {self, loc}, s, false), name, loc);
}

}  // namespace

Tensor& Tensor::copy_(const Tensor& src, std::source_location loc) {
    check_in_place(*this, "copy_", loc);
    NodeRef s = node_of(src, "copy_", loc);
    NodeRef self = impl_->node();
    ir::Shape shape = broadcast_shapes("copy_", s->shape(), self->shape(), loc);
    if (shape != self->shape()) {
        fail<ShapeError>("copy_", "the source " + describe(*s) + " cannot be broadcast to the "
                                  "tensor " + describe(*self), loc);
    }
    // Any dtype converts on copy (PyTorch's copy_), unlike the arithmetic in-place ops.
    NodeRef r = build::broadcast_to(build::cast(s, self->dtype()), shape);
    return assign(*this, make_tensor(r, device()), "copy_", loc);
}
Tensor& Tensor::zero_(std::source_location loc) { return fill_(0, loc); }
Tensor& Tensor::fill_(Scalar value, std::source_location loc) {
    check_in_place(*this, "fill_", loc);
    NodeRef self = impl_->node();
    NodeRef c = is_floating(self->dtype()) || value.is_floating()
                    ? ir::make_const(value.to_double(), self->dtype(), self->shape())
                    : ir::make_int_const(value.to_int(), self->dtype(), self->shape());
    return assign(*this, make_tensor(c, device()), "fill_", loc);
}
Tensor& Tensor::mul_(Scalar factor, std::source_location loc) {
    return update_scalar(*this, "mul_", Op::Mul, factor, loc);
}
Tensor& Tensor::mul_(const Tensor& other, std::source_location loc) {
    check_in_place(*this, "mul_", loc);
    return assign(*this, detail::binary_tt("mul_", Op::Mul, {*this, loc}, other), "mul_", loc);
}
Tensor& Tensor::add_(const Tensor& other, Scalar alpha, std::source_location loc) {
    return update_scaled(*this, "add_", Op::Add, other, alpha, loc);
}
Tensor& Tensor::add_(Scalar other, std::source_location loc) {
    return update_scalar(*this, "add_", Op::Add, other, loc);
}
Tensor& Tensor::sub_(const Tensor& other, Scalar alpha, std::source_location loc) {
    return update_scaled(*this, "sub_", Op::Sub, other, alpha, loc);
}
Tensor& Tensor::div_(Scalar divisor, std::source_location loc) {
    return update_scalar(*this, "div_", Op::Div, divisor, loc);
}

}  // namespace kiln
