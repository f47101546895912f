// Movement ops: views recorded as index arithmetic (reshape, permute, expand, slice, pad, flip).
// cat is a chain of wheres over padded inputs, so it fuses like any elementwise op.
#include <algorithm>

#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Op;
using ir::Shape;

Shape infer_shape(const std::string& op, const NodeRef& n, std::vector<int64_t> shape,
                  const std::source_location& loc) {
    int64_t infer = -1;
    int64_t known = 1;
    bool overflow = false;  // of the known sizes' product (harmless when one of them is 0)
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (infer >= 0) fail<ValueError>(op, "only one dim can be -1, got " + ir::ints_str(shape), loc);
            infer = static_cast<int64_t>(i);
        } else if (shape[i] < 0) {
            fail<ValueError>(op, "invalid size " + std::to_string(shape[i]) + " in shape " +
                                     ir::ints_str(shape), loc);
        } else {
            overflow = __builtin_mul_overflow(known, shape[i], &known) || overflow;
        }
    }
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
        known = 0;
    } else if (overflow) {
        fail<ShapeError>(op,
                         "shape " + ir::ints_str(shape) + " has more than " +
                             std::to_string(INT64_MAX) + " elements",
                         loc);
    }
    int64_t total = ir::numel(n->shape());
    auto bad = [&]() {
        fail<ShapeError>(op, "shape " + ir::ints_str(shape) + " is invalid for " +
                                 std::to_string(total) + " elements (input shape " +
                                 ir::shape_str(n->shape()) + ")", loc);
    };
    if (infer >= 0) {
        if (known == 0 || total % known != 0) bad();
        shape[infer] = total / known;
    } else if (known != total) {
        bad();
    }
    check_shape(op, shape, n->dtype(), loc);
    return shape;
}

Tensor with_node(const Tensor& t, NodeRef n) { return make_tensor(std::move(n), t.device()); }

}  // namespace

Tensor Tensor::reshape(std::vector<int64_t> shape, std::source_location loc) const {
    NodeRef n = node_of(*this, "reshape", loc);
    return with_node(*this, build::reshape(n, infer_shape("reshape", n, std::move(shape), loc)));
}

Tensor Tensor::view(std::vector<int64_t> shape, std::source_location loc) const {
    NodeRef n = node_of(*this, "view", loc);
    return with_node(*this, build::reshape(n, infer_shape("view", n, std::move(shape), loc)));
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim, std::source_location loc) const {
    NodeRef n = node_of(*this, "flatten", loc);
    if (n->rank() == 0) return with_node(*this, build::reshape(n, {1}));
    int64_t s = wrap_dim("flatten", start_dim, n->shape(), loc);
    int64_t e = wrap_dim("flatten", end_dim, n->shape(), loc);
    if (s > e) {
        fail<ShapeError>("flatten", "start_dim " + std::to_string(start_dim) +
                                        " comes after end_dim " + std::to_string(end_dim), loc);
    }
    Shape out(n->shape().begin(), n->shape().begin() + s);
    int64_t merged = 1;
    for (int64_t i = s; i <= e; ++i) merged *= n->shape()[i];
    out.push_back(merged);
    out.insert(out.end(), n->shape().begin() + e + 1, n->shape().end());
    return with_node(*this, build::reshape(n, out));
}

Tensor Tensor::permute(std::vector<int64_t> dims, std::source_location loc) const {
    NodeRef n = node_of(*this, "permute", loc);
    if (static_cast<int64_t>(dims.size()) != n->rank()) {
        fail<ShapeError>("permute", "dims " + ir::ints_str(dims) + " do not match shape " +
                                        ir::shape_str(n->shape()) + " (rank " +
                                        std::to_string(n->rank()) + ")", loc);
    }
    std::vector<int64_t> perm;
    for (int64_t d : dims) {
        int64_t w = wrap_dim("permute", d, n->shape(), loc);
        if (std::find(perm.begin(), perm.end(), w) != perm.end()) {
            fail<ShapeError>("permute", "dim " + std::to_string(d) + " repeats in " +
                                            ir::ints_str(dims), loc);
        }
        perm.push_back(w);
    }
    return with_node(*this, build::permute(n, perm));
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1, std::source_location loc) const {
    NodeRef n = node_of(*this, "transpose", loc);
    int64_t a = wrap_dim("transpose", dim0, n->shape(), loc);
    int64_t b = wrap_dim("transpose", dim1, n->shape(), loc);
    std::vector<int64_t> perm(n->rank());
    for (int64_t i = 0; i < n->rank(); ++i) perm[i] = i;
    std::swap(perm[a], perm[b]);
    return with_node(*this, build::permute(n, perm));
}

Tensor Tensor::t(std::source_location loc) const {
    NodeRef n = node_of(*this, "t", loc);
    if (n->rank() > 2) {
        fail<ShapeError>("t", "expects a tensor with at most 2 dims, got shape " +
                                  ir::shape_str(n->shape()), loc);
    }
    if (n->rank() < 2) return *this;
    return with_node(*this, build::permute(n, {1, 0}));
}

Tensor Tensor::expand(std::vector<int64_t> shape, std::source_location loc) const {
    NodeRef n = node_of(*this, "expand", loc);
    const Shape& in = n->shape();
    auto bad = [&]() {
        fail<ShapeError>("expand", "cannot expand shape " + ir::shape_str(in) + " to " +
                                       ir::ints_str(shape), loc);
    };
    if (shape.size() < in.size()) bad();
    size_t lead = shape.size() - in.size();
    Shape out = shape;
    for (size_t i = 0; i < shape.size(); ++i) {
        int64_t src = i < lead ? 1 : in[i - lead];
        if (shape[i] == -1) {
            if (i < lead) bad();
            out[i] = src;
        } else if (shape[i] < 0 || (src != 1 && src != shape[i])) {
            bad();
        }
    }
    check_shape("expand", out, n->dtype(), loc);
    return with_node(*this, build::broadcast_to(n, out));
}

/// A dim for inserting a new axis into `shape`: -(rank+1) .. rank.
static int64_t insertion_dim(const char* op, int64_t dim, const Shape& shape,
                      const std::source_location& loc) {
    int64_t rank = static_cast<int64_t>(shape.size());
    if (dim < -rank - 1 || dim > rank) {
        fail<ShapeError>(op, "dim " + std::to_string(dim) + " is out of range for shape " +
                                 ir::shape_str(shape) + " (accepted dims: " +
                                 std::to_string(-rank - 1) + " to " + std::to_string(rank) + ")",
                         loc);
    }
    return dim < 0 ? dim + rank + 1 : dim;
}

Tensor Tensor::unsqueeze(int64_t dim, std::source_location loc) const {
    NodeRef n = node_of(*this, "unsqueeze", loc);
    int64_t d = insertion_dim("unsqueeze", dim, n->shape(), loc);
    Shape out = n->shape();
    out.insert(out.begin() + d, 1);
    check_shape("unsqueeze", out, n->dtype(), loc);
    return with_node(*this, build::reshape(n, out));
}

Tensor Tensor::squeeze(int64_t dim, std::source_location loc) const {
    NodeRef n = node_of(*this, "squeeze", loc);
    if (n->rank() == 0) return *this;
    int64_t d = wrap_dim("squeeze", dim, n->shape(), loc);
    if (n->shape()[d] != 1) return *this;
    return with_node(*this, build::squeeze_axes(n, {d}));
}

Tensor Tensor::squeeze(std::source_location loc) const {
    NodeRef n = node_of(*this, "squeeze", loc);
    std::vector<int64_t> ones;
    for (int64_t i = 0; i < n->rank(); ++i)
        if (n->shape()[i] == 1) ones.push_back(i);
    return with_node(*this, build::squeeze_axes(n, ones));
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step,
                     std::source_location loc) const {
    NodeRef n = node_of(*this, "slice", loc);
    int64_t d = wrap_dim("slice", dim, n->shape(), loc);
    if (step <= 0) fail<ValueError>("slice", "step must be positive, got " + std::to_string(step), loc);
    int64_t size = n->shape()[d];
    auto clampi = [&](int64_t v) {
        if (v < 0) v += size;
        return std::clamp<int64_t>(v, 0, size);
    };
    int64_t s = clampi(start);
    int64_t e = clampi(end);
    int64_t len = e > s ? (e - s + step - 1) / step : 0;
    if (s == 0 && len == size && step == 1) return *this;
    Shape out = n->shape();
    out[d] = len;
    ir::SliceAttr attr{std::vector<int64_t>(n->rank(), 0), std::vector<int64_t>(n->rank(), 1)};
    attr.start[d] = len > 0 ? s : 0;
    attr.step[d] = step;
    return with_node(*this, ir::Node::make(Op::Slice, n->dtype(), out, {n}, attr));
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length, std::source_location loc) const {
    NodeRef n = node_of(*this, "narrow", loc);
    int64_t d = wrap_dim("narrow", dim, n->shape(), loc);
    int64_t size = n->shape()[d];
    int64_t s = start < 0 ? start + size : start;
    if (s < 0 || length < 0 || s + length > size) {
        fail<ShapeError>("narrow", "start " + std::to_string(start) + " and length " +
                                       std::to_string(length) + " exceed dim " +
                                       std::to_string(d) + " of shape " +
                                       ir::shape_str(n->shape()), loc);
    }
    return slice(d, s, s + length, 1, loc);
}

Tensor Tensor::flip(std::vector<int64_t> dims, std::source_location loc) const {
    NodeRef n = node_of(*this, "flip", loc);
    if (dims.empty()) return *this;
    auto axes = normalize_dims("flip", dims, n->shape(), loc);
    return with_node(*this, ir::Node::make(Op::Flip, n->dtype(), n->shape(), {n},
                                           ir::AxesAttr{axes}));
}

Tensor Tensor::unfold(int64_t dim, int64_t size, int64_t step, std::source_location loc) const {
    NodeRef n = node_of(*this, "unfold", loc);
    // A 0-d tensor unfolds as a 1-element vector, as in PyTorch.
    if (n->rank() == 0) n = build::reshape(n, {1});
    int64_t d = wrap_dim("unfold", dim, n->shape(), loc);
    int64_t extent = n->shape()[d];
    if (step <= 0) fail<ValueError>("unfold", "step must be positive, got " + std::to_string(step), loc);
    if (size <= 0) fail<ValueError>("unfold", "size must be positive, got " + std::to_string(size), loc);
    if (size > extent) {
        fail<ShapeError>("unfold", "size " + std::to_string(size) + " does not fit dim " +
                                       std::to_string(d) + " of shape " +
                                       ir::shape_str(n->shape()) + " (at most " +
                                       std::to_string(extent) + ")", loc);
    }
    // The window op puts [size, count] at dim; PyTorch's layout has the count there and the
    // window's elements last.
    Shape windows = n->shape();
    windows[d] = (extent - size) / step + 1;
    windows.insert(windows.begin() + d, size);
    NodeRef w = ir::Node::make(Op::Window, n->dtype(), windows, {n}, ir::WindowAttr{d, size, step, 1});
    std::vector<int64_t> perm;
    for (int64_t i = 0; i <= n->rank(); ++i)
        if (i != d) perm.push_back(i);
    perm.push_back(d);
    return with_node(*this, build::permute(w, perm));
}

// Values are immutable, so these only make a new handle; a kernel makes memory contiguous when a
// consumer needs it.
Tensor Tensor::contiguous(std::source_location loc) const {
    return with_node(*this, node_of(*this, "contiguous", loc));
}
Tensor Tensor::clone(std::source_location loc) const {
    return with_node(*this, node_of(*this, "clone", loc));
}
Tensor Tensor::detach(std::source_location loc) const {
    return with_node(*this, build::detach(node_of(*this, "detach", loc)));
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim, std::source_location loc) {
    if (tensors.empty()) fail<ValueError>("cat", "expects at least one tensor", loc);
    std::vector<NodeRef> nodes;
    DType dtype = node_of(tensors[0], "cat", loc)->dtype();
    for (const Tensor& t : tensors) {
        nodes.push_back(node_of(t, "cat", loc));
        dtype = promote_types(dtype, nodes.back()->dtype());
        common_device("cat", {&tensors[0], &t}, loc);
    }
    const Shape& first = nodes[0]->shape();
    int64_t d = wrap_dim("cat", dim, first, loc);
    int64_t total = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const Shape& s = nodes[i]->shape();
        bool ok = s.size() == first.size();
        for (size_t j = 0; ok && j < s.size(); ++j)
            ok = static_cast<int64_t>(j) == d || s[j] == first[j];
        if (!ok) {
            fail<ShapeError>("cat", "tensor " + std::to_string(i) + " has shape " +
                                        ir::shape_str(s) + ", which does not match " +
                                        ir::shape_str(first) + " outside dim " +
                                        std::to_string(d), loc);
        }
        if (__builtin_add_overflow(total, s[d], &total)) {
            fail<ShapeError>("cat",
                             "the sizes along dim " + std::to_string(d) + " add up to more than " +
                                 std::to_string(INT64_MAX),
                             loc);
        }
    }
    if (nodes.size() == 1) return make_tensor(build::cast(nodes[0], dtype), tensors[0].device());
    Shape out = first;
    out[d] = total;
    check_shape("cat", out, dtype, loc);
    // where(i < end_0, pad(x_0), where(i < end_1, pad(x_1), ...)): exact (no +0 on values).
    NodeRef index = ir::Node::make(Op::Iota, DType::Int64, out, {}, ir::AxisAttr{d});
    std::vector<NodeRef> padded;
    std::vector<int64_t> ends;
    int64_t offset = 0;
    for (const NodeRef& n : nodes) {
        ir::PadAttr pad{std::vector<int64_t>(out.size(), 0), std::vector<int64_t>(out.size(), 0)};
        pad.before[d] = offset;
        offset += n->shape()[d];
        pad.after[d] = total - offset;
        padded.push_back(ir::Node::make(Op::Pad, dtype, out, {build::cast(n, dtype)}, pad));
        ends.push_back(offset);
    }
    NodeRef r = padded.back();
    for (size_t i = padded.size() - 1; i-- > 0;) {
        NodeRef in_part = build::binary(Op::Lt, index, ir::make_int_const(ends[i], DType::Int64, out));
        r = build::where(in_part, padded[i], r);
    }
    return make_tensor(r, tensors[0].device());
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim, std::source_location loc) {
    if (tensors.empty()) fail<ValueError>("stack", "expects at least one tensor", loc);
    const Shape first = node_of(tensors[0], "stack", loc)->shape();
    int64_t d = insertion_dim("stack", dim, first, loc);
    std::vector<Tensor> parts;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Shape s = node_of(tensors[i], "stack", loc)->shape();
        if (s != first) {
            fail<ShapeError>("stack",
                             "tensor " + std::to_string(i) + " has shape " + ir::shape_str(s) +
                                 " but tensor 0 has " + ir::shape_str(first),
                             loc);
        }
        parts.push_back(tensors[i].unsqueeze(d, loc));
    }
    return cat(parts, d, loc);
}

}  // namespace kiln
