// Tensor accessors, reading values back (item, to_vector) and device moves.
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/pending.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "kiln/autograd.h"
#include "support/profiler.h"

namespace kiln {

namespace {

Tensor make_tensor_unprofiled(ir::NodeRef node, Device device) {
    if (!GradMode::is_enabled()) node = build::detach(node);
    bool autograd = node->tracks_grad() || node->op() == ir::Op::Detach;
    Tensor t(std::make_shared<TensorImpl>(std::move(node), device));
    if (autograd) detail::note_pending(t.impl());
    if (detail::count_recorded_op()) {
        // A thread that keeps recording without reading: compute this result (and what
        // shares its graph) now, so the pending graph stays bounded.
        detail::realize_impls({t.impl().get()}, "realize (pending graph bound)",
                              std::source_location());
    }
    return t;
}

/// The profiler's "record OP" event. The op's checks and node were made by the caller; what is
/// timed here is making the tensor (and a realize that the pending-graph bound starts).
[[gnu::noinline]] Tensor make_tensor_profiled(ir::NodeRef node, Device device) {
    support::profiler::Span span("record", "record");
    if (span) {
        span.set_name(fmt::format("record {}", ir::op_name(node->op())));
        span.arg("shape", ir::shape_str(node->shape()));
        span.arg("dtype", dtype_name(node->dtype()));
    }
    return make_tensor_unprofiled(std::move(node), device);
}

}  // namespace

Tensor make_tensor(ir::NodeRef node, Device device) {
    // Recording is the hottest path: with the profiler off, one relaxed load.
    if (support::profiler::active()) [[unlikely]]
        return make_tensor_profiled(std::move(node), device);
    return make_tensor_unprofiled(std::move(node), device);
}

void TensorImpl::set_value(const ir::NodeRef& of, ir::NodeRef input) {
    ir::NodeRef old;  // released outside the lock
    Saved old_saved;
    Guard g(lock_);
    if (node_ != of) return;
    if (!node_->tracks_grad()) {
        old = std::move(node_);
        node_ = std::move(input);
        old_saved = std::move(saved_);  // a computed gradient needs no forward values any more
    } else if (node_->op() == ir::Op::Leaf) {
        old = std::move(node_);
        node_ = ir::Node::make(ir::Op::Leaf, old->dtype(), old->shape(), {std::move(input)},
                               old->attr());
        old_saved = std::move(saved_);  // an updated leaf's new value is computed
    } else {
        value_ = std::move(input);
    }
}

ir::NodeRef node_of(const Tensor& t, const char* op, const std::source_location& loc) {
    if (!t.defined()) fail<ValueError>(op, "called on an undefined tensor", loc);
    return t.impl()->node();
}

namespace {
/// The node behind an accessor; accessors take no call site, so the error names only them.
ir::NodeRef node(const Tensor& t, const char* accessor) {
    if (!t.defined()) throw ValueError(std::string(accessor) + ": called on an undefined tensor");
    return t.impl()->node();
}

template <class T>
DType dtype_of() {
    if constexpr (std::is_same_v<T, float>) return DType::Float32;
    else if constexpr (std::is_same_v<T, double>) return DType::Float64;
    else if constexpr (std::is_same_v<T, int32_t>) return DType::Int32;
    else if constexpr (std::is_same_v<T, int64_t>) return DType::Int64;
    else return DType::Bool;
}

const char* cpp_name(DType t) {
    switch (t) {
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    case DType::Int32: return "int32_t";
    case DType::Int64: return "int64_t";
    case DType::Bool: return "bool";
    }
    return "?";
}

/// Realizes t and returns its buffer after checking that T matches its dtype.
template <class T>
std::shared_ptr<runtime::Buffer> read_buffer(const Tensor& t, const char* op,
                                             const std::source_location& loc) {
    ir::NodeRef n = node_of(t, op, loc);
    if (n->dtype() != dtype_of<T>()) {
        fail<TypeError>(op, std::string("requested ") + cpp_name(dtype_of<T>()) +
                                " but the tensor is " + describe(*n) + " (use " +
                                cpp_name(n->dtype()) + " or .to(...))", loc);
    }
    return detail::host_buffer(*t.impl(), op, loc);
}
}  // namespace

std::vector<int64_t> Tensor::sizes() const { return node(*this, "sizes")->shape(); }
int64_t Tensor::size(int64_t dim, std::source_location loc) const {
    ir::NodeRef n = node_of(*this, "size", loc);
    return n->shape()[wrap_dim("size", dim, n->shape(), loc)];
}
int64_t Tensor::dim() const { return node(*this, "dim")->rank(); }
int64_t Tensor::numel() const { return ir::numel(node(*this, "numel")->shape()); }
DType Tensor::dtype() const { return node(*this, "dtype")->dtype(); }
Device Tensor::device() const { return impl_ ? impl_->device : Device(); }
bool Tensor::requires_grad() const { return impl_ && impl_->node()->tracks_grad(); }

template <class T>
T Tensor::item(std::source_location loc) const {
    ir::NodeRef n = node_of(*this, "item", loc);
    if (ir::numel(n->shape()) != 1) {
        fail<ValueError>("item", "a tensor with " + std::to_string(ir::numel(n->shape())) +
                                     " elements (" + describe(*n) +
                                     ") cannot be converted to a scalar", loc);
    }
    auto buf = read_buffer<T>(*this, "item", loc);
    if constexpr (std::is_same_v<T, bool>) return *static_cast<const uint8_t*>(buf->data()) != 0;
    else return *static_cast<const T*>(buf->data());
}

template <class T>
std::vector<T> Tensor::to_vector(std::source_location loc) const {
    auto buf = read_buffer<T>(*this, "to_vector", loc);
    std::vector<T> out(buf->numel());
    if constexpr (std::is_same_v<T, bool>) {
        const uint8_t* p = static_cast<const uint8_t*>(buf->data());
        for (int64_t i = 0; i < buf->numel(); ++i) out[i] = p[i] != 0;
    } else if (!out.empty()) {
        std::memcpy(out.data(), buf->data(), out.size() * sizeof(T));
    }
    return out;
}

#define KILN_INSTANTIATE(T)                                                                        \
    template T Tensor::item<T>(std::source_location) const;                                        \
    template std::vector<T> Tensor::to_vector<T>(std::source_location) const;
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
KILN_INSTANTIATE(int32_t)
KILN_INSTANTIATE(int64_t)
KILN_INSTANTIATE(bool)
#undef KILN_INSTANTIATE

const Tensor& Tensor::realize(std::source_location loc) const {
    node_of(*this, "realize", loc);
    detail::realize_impls({impl_.get()}, "realize", loc);
    return *this;
}

void realize(const std::vector<Tensor>& tensors, std::source_location loc) {
    std::vector<TensorImpl*> impls;
    for (const Tensor& t : tensors) {
        node_of(t, "realize", loc);
        impls.push_back(t.impl().get());
    }
    detail::realize_impls(impls, "realize", loc);
}

Tensor Tensor::to(Device device, std::source_location loc) const {
    ir::NodeRef n = node_of(*this, "to", loc);
    check_device("to", device, loc);
    if (device == impl_->device) return *this;  // as PyTorch: the same tensor
    // A value that needs no gradient is computed where it is and copied now (PyTorch's
    // semantics; the copy is queued on the device's stream). A tensor that carries gradients
    // keeps its expression instead, computed on the new device when needed, so gradients flow
    // back through the move.
    if (!n->tracks_grad() || !GradMode::is_enabled()) {
        ir::NodeRef value = detail::realized_node(*impl_, "to", loc);
        auto buffer = runtime::copy_to_device(*detail::buffer_of(*value), device);
        return make_tensor(detail::input_node(buffer, value->shape()), device);
    }
    return make_tensor(n, device);
}

}  // namespace kiln
