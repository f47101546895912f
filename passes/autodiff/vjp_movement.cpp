// Gradients of views are views: reshape <-> reshape, permute <-> the inverse permute, expand <->
// a sum over the expanded axes, pad <-> slice, slice <-> pad (with an interleave for steps
// other than 1), flip <-> flip, window <-> the sum of its windows' slices. So the backward of a chain of views stays zero-copy until a
// kernel reads it.
#include "ir/build.h"
#include "passes/autodiff/vjp.h"

namespace kiln::passes::vjp {
namespace {

using ir::Op;
using ir::Shape;
namespace b = ir::build;

/// The gradient of a slice (start, step) of a tensor of shape `in`: g scattered into zeros of
/// that shape, one dim at a time.
NodeRef scatter_slice(const NodeRef& g, const Shape& in, const ir::SliceAttr& attr) {
    if (ir::numel(g->shape()) == 0) return ir::make_const(0, g->dtype(), in);
    NodeRef cur = g;
    size_t rank = in.size();
    for (size_t d = 0; d < rank; ++d) {
        int64_t start = attr.start[d], step = attr.step[d], len = g->shape()[d];
        if (start == 0 && step == 1 && len == in[d]) continue;
        if (step < 0) {  // the same elements, walked forwards from the lowest one
            cur = b::flip(cur, {static_cast<int64_t>(d)});
            start += (len - 1) * step;
            step = -step;
        }
        if (step > 1) {  // interleave step-1 zeros after each element: [len] -> [len*step]
            Shape split = cur->shape();
            split.insert(split.begin() + static_cast<std::ptrdiff_t>(d) + 1, 1);
            std::vector<int64_t> before(rank + 1, 0), after(rank + 1, 0);
            after[d + 1] = step - 1;
            NodeRef padded = b::pad(b::reshape(cur, split), before, after);
            Shape joined = cur->shape();
            joined[d] = len * step;
            cur = b::reshape(padded, joined);
        }
        // Now cur holds the gradient from `start` on, over `extent` positions.
        int64_t extent = cur->shape()[d];
        std::vector<int64_t> before(rank, 0), after(rank, 0);
        before[d] = start;
        if (start + extent <= in[d]) {
            after[d] = in[d] - start - extent;
            cur = b::pad(cur, before, after);
        } else {  // only trailing interleave zeros fall past the end: cut them
            cur = b::pad(cur, before, after);
            Shape cut = cur->shape();
            cut[d] = in[d];
            cur = b::slice(cur, std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 1), cut);
        }
    }
    return cur;
}

}  // namespace

Grads movement(const NodeRef& n, const NodeRef& g, const Needs& needs) {
    const NodeRef& x = n->input(0);
    switch (n->op()) {
    case Op::Reshape: return {b::reshape(g, x->shape())};
    case Op::Permute: {
        const auto& perm = n->attr_as<ir::PermuteAttr>().perm;
        std::vector<int64_t> inverse(perm.size());
        for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
        return {b::permute(g, inverse)};
    }
    case Op::Expand: {
        std::vector<int64_t> axes;
        for (size_t d = 0; d < x->shape().size(); ++d)
            if (x->shape()[d] != n->shape()[d]) axes.push_back(static_cast<int64_t>(d));
        return {b::reduce(Op::ReduceSum, g, axes)};
    }
    case Op::Slice: return {scatter_slice(g, x->shape(), n->attr_as<ir::SliceAttr>())};
    case Op::Window: {
        // Window q is the slice (q * dilation, stride) of x: its gradients add up (col2im).
        const auto& a = n->attr_as<ir::WindowAttr>();
        auto ax = static_cast<size_t>(a.axis);
        size_t rank = x->shape().size();
        Shape one = g->shape();
        one[ax] = 1;
        Shape row = x->shape();
        row[ax] = g->shape()[ax + 1];
        NodeRef sum;
        for (int64_t q = 0; q < a.size; ++q) {
            std::vector<int64_t> at(rank + 1, 0), unit(rank + 1, 1);
            at[ax] = q;
            NodeRef gq = b::reshape(b::slice(g, at, unit, one), row);
            ir::SliceAttr place{std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 1)};
            place.start[ax] = q * a.dilation;
            place.step[ax] = a.stride;
            NodeRef part = scatter_slice(gq, x->shape(), place);
            sum = sum ? b::binary(Op::Add, sum, part) : part;
        }
        return {sum};
    }
    case Op::Pad: {
        const auto& before = n->attr_as<ir::PadAttr>().before;
        return {b::slice(g, before, std::vector<int64_t>(before.size(), 1), x->shape())};
    }
    case Op::Flip: return {b::flip(g, n->attr_as<ir::AxesAttr>().axes)};
    default: return {nullptr};
    }
}

}  // namespace kiln::passes::vjp
