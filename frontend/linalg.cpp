// matmul with PyTorch's rules. Float matmuls become one extern `matmul` node on equal batch
// dims (BLAS); integer and bool ones are a broadcast multiply and sum, which fuse into a kernel.
#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Op;
using ir::Shape;

[[noreturn]] void cannot_multiply(const char* op, const NodeRef& a, const NodeRef& b, int64_t ka,
                                  int64_t kb, const std::source_location& loc) {
    fail<ShapeError>(op, "shapes " + ir::shape_str(a->shape()) + " and " +
                             ir::shape_str(b->shape()) + " cannot be multiplied (" +
                             std::to_string(ka) + " != " + std::to_string(kb) + ")", loc);
}

/// a [..., n, k] x b [..., k, m] with equal batch dims.
NodeRef batched(const NodeRef& a, const NodeRef& b) {
    Shape out = a->shape();
    out.back() = b->shape().back();
    if (is_floating(a->dtype())) return ir::Node::make(Op::Matmul, a->dtype(), out, {a, b});
    // sum over k of a[..., n, k, 1] * b[..., 1, k, m]
    Shape sa = a->shape(), sb = b->shape();
    sa.push_back(1);
    sb.insert(sb.end() - 2, 1);
    Shape full = sa;
    full.back() = out.back();
    NodeRef x = build::broadcast_to(build::reshape(a, sa), full);
    NodeRef y = build::broadcast_to(build::reshape(b, sb), full);
    DType acc = a->dtype() == DType::Bool ? DType::Int64 : a->dtype();
    NodeRef prod = build::binary(Op::Mul, build::cast(x, acc), build::cast(y, acc));
    int64_t k_axis = static_cast<int64_t>(full.size()) - 2;
    NodeRef s = build::reduce(Op::ReduceSum, prod, {k_axis});
    return build::squeeze_axes(s, {k_axis});
}

}  // namespace

Tensor matmul(const Tensor& ta, const Tensor& tb, std::source_location loc) {
    NodeRef a = node_of(ta, "matmul", loc);
    NodeRef b = node_of(tb, "matmul", loc);
    if (a->rank() == 0 || b->rank() == 0) {
        fail<ShapeError>("matmul", "both arguments need at least 1 dim, got shapes " +
                                       ir::shape_str(a->shape()) + " and " +
                                       ir::shape_str(b->shape()), loc);
    }
    DType dtype = promote_types(a->dtype(), b->dtype());
    NodeRef ca = build::cast(a, dtype), cb = build::cast(b, dtype);
    bool a_vec = a->rank() == 1, b_vec = b->rank() == 1;
    Shape sa = a->shape(), sb = b->shape();
    if (a_vec) sa.insert(sa.begin(), 1);
    if (b_vec) sb.push_back(1);
    int64_t ka = sa.back(), kb = sb[sb.size() - 2];
    if (ka != kb) cannot_multiply("matmul", a, b, ka, kb, loc);
    Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    Shape batch;
    try {
        batch = broadcast_shapes("matmul", batch_a, batch_b, loc);
    } catch (const ShapeError&) {
        // Name the operands' shapes, not just their batch parts.
        size_t rank = std::max(batch_a.size(), batch_b.size());
        for (size_t i = 0; i < rank; ++i) {
            int64_t da = i < rank - batch_a.size() ? 1 : batch_a[i - (rank - batch_a.size())];
            int64_t db = i < rank - batch_b.size() ? 1 : batch_b[i - (rank - batch_b.size())];
            if (da != db && da != 1 && db != 1) {
                fail<ShapeError>("matmul", "batch dims of shapes " + ir::shape_str(a->shape()) +
                                               " and " + ir::shape_str(b->shape()) +
                                               " cannot be broadcast (dim " + std::to_string(i) +
                                               ": " + std::to_string(da) + " vs " +
                                               std::to_string(db) + ")", loc);
            }
        }
        throw;
    }
    Shape fa = batch, fb = batch;
    fa.insert(fa.end(), sa.end() - 2, sa.end());
    fb.insert(fb.end(), sb.end() - 2, sb.end());
    Shape full_out = batch;
    full_out.insert(full_out.end(), {sa[sa.size() - 2], sb.back()});
    for (const Shape* s : {&fa, &fb, &full_out}) check_shape("matmul", *s, dtype, loc);
    NodeRef x = build::broadcast_to(build::reshape(ca, sa), fa);
    NodeRef y = build::broadcast_to(build::reshape(cb, sb), fb);
    NodeRef r = batched(x, y);
    Shape out = batch;
    if (!a_vec) out.push_back(sa[sa.size() - 2]);
    if (!b_vec) out.push_back(sb.back());
    return make_tensor(build::reshape(r, out), common_device("matmul", {&ta, &tb}, loc));
}

Tensor mm(const Tensor& a, const Tensor& b, std::source_location loc) {
    NodeRef na = node_of(a, "mm", loc), nb = node_of(b, "mm", loc);
    if (na->rank() != 2 || nb->rank() != 2) {
        fail<ShapeError>("mm", "expects 2-D tensors, got shapes " + ir::shape_str(na->shape()) +
                                   " and " + ir::shape_str(nb->shape()), loc);
    }
    if (na->shape()[1] != nb->shape()[0])
        cannot_multiply("mm", na, nb, na->shape()[1], nb->shape()[0], loc);
    return matmul(a, b, loc);
}

Tensor bmm(const Tensor& a, const Tensor& b, std::source_location loc) {
    NodeRef na = node_of(a, "bmm", loc), nb = node_of(b, "bmm", loc);
    if (na->rank() != 3 || nb->rank() != 3) {
        fail<ShapeError>("bmm", "expects 3-D tensors, got shapes " + ir::shape_str(na->shape()) +
                                    " and " + ir::shape_str(nb->shape()), loc);
    }
    if (na->shape()[0] != nb->shape()[0]) {
        fail<ShapeError>("bmm", "batch sizes differ: shapes " + ir::shape_str(na->shape()) +
                                    " and " + ir::shape_str(nb->shape()), loc);
    }
    if (na->shape()[2] != nb->shape()[1])
        cannot_multiply("bmm", na, nb, na->shape()[2], nb->shape()[1], loc);
    return matmul(a, b, loc);
}

Tensor Tensor::matmul(const Tensor& other, std::source_location loc) const {
    return kiln::matmul(*this, other, loc);
}

}  // namespace kiln
