// gather, index_select and embedding: the IR's gather takes whole rows along one axis
// (src [A..., S, B...] by index [A..., K]); each op here arranges its operands into that form
// with views, so the only copy is the one an extern step needs for contiguous memory.
#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/index_sites.h"
#include "frontend/tensor_impl.h"
#include "kiln/functional.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Shape;

/// The index as i64 (i32 converts); other dtypes are a TypeError.
NodeRef index_node(const char* op, const Tensor& index, const std::source_location& loc) {
    NodeRef n = node_of(index, op, loc);
    if (n->dtype() != DType::Int64 && n->dtype() != DType::Int32) {
        fail<TypeError>(op, "indices must be an integer tensor (i64), got " + describe(*n), loc);
    }
    return build::cast(n, DType::Int64);
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices, std::source_location loc) {
    NodeRef w = node_of(weight, "embedding", loc);
    NodeRef idx = index_node("embedding", indices, loc);
    common_device("embedding", {&weight, &indices}, loc);
    if (w->rank() != 2) {
        fail<ShapeError>("embedding", "the weight must be 2-D [num_embeddings, dim], got " +
                                          describe(*w), loc);
    }
    int64_t site = detail::index_site("embedding", "index",
                                      "the weight " + describe(*w) + " has " +
                                          std::to_string(w->shape()[0]) + " rows", loc);
    NodeRef flat = build::reshape(idx, {ir::numel(idx->shape())});
    NodeRef rows = build::gather(w, flat, {0, site});
    Shape out = idx->shape();
    out.push_back(w->shape()[1]);
    return make_tensor(build::reshape(rows, out), weight.device());
}

Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index, std::source_location loc) {
    NodeRef x = node_of(t, "index_select", loc);
    NodeRef idx = index_node("index_select", index, loc);
    common_device("index_select", {&t, &index}, loc);
    if (idx->rank() > 1) {
        fail<ShapeError>("index_select", "the index must be 1-D, got " + describe(*idx), loc);
    }
    idx = build::reshape(idx, {ir::numel(idx->shape())});
    Shape shape = x->shape();
    bool scalar = shape.empty();
    if (scalar) x = build::reshape(x, {1});
    int64_t d = wrap_dim("index_select", dim, x->shape(), loc);
    int64_t site = detail::index_site(
        "index_select", "index",
        "dim " + std::to_string(d) + " of " + describe(*x) + " has size " +
            std::to_string(x->shape()[d]), loc);
    Shape lead(x->shape().begin(), x->shape().begin() + d);
    lead.push_back(idx->shape()[0]);
    NodeRef r = build::gather(x, build::broadcast_to(idx, lead), {d, site});
    if (scalar) r = build::reshape(r, idx->shape());
    return make_tensor(r, t.device());
}

Tensor gather(const Tensor& t, int64_t dim, const Tensor& index, std::source_location loc) {
    NodeRef x = node_of(t, "gather", loc);
    NodeRef idx = index_node("gather", index, loc);
    common_device("gather", {&t, &index}, loc);
    if (idx->rank() != x->rank()) {
        fail<ShapeError>("gather", "the index " + describe(*idx) + " must have the rank of " +
                                       describe(*x), loc);
    }
    bool scalar = x->rank() == 0;
    if (scalar) {
        x = build::reshape(x, {1});
        idx = build::reshape(idx, {1});
    }
    int64_t d = wrap_dim("gather", dim, x->shape(), loc);
    int64_t rank = x->rank();
    Shape src_extent = x->shape();
    for (int64_t i = 0; i < rank; ++i) {
        if (i != d && idx->shape()[i] > x->shape()[i]) {
            fail<ShapeError>("gather", "the index " + describe(*idx) + " is larger than " +
                                           describe(*x) + " in dim " + std::to_string(i), loc);
        }
        if (i != d) src_extent[i] = idx->shape()[i];
    }
    int64_t site = detail::index_site(
        "gather", "index",
        "dim " + std::to_string(d) + " of " + describe(*x) + " has size " +
            std::to_string(x->shape()[d]), loc);
    // Move `dim` last: rows of src [other..., S] taken by index [other..., K].
    std::vector<int64_t> perm;
    for (int64_t i = 0; i < rank; ++i)
        if (i != d) perm.push_back(i);
    perm.push_back(d);
    NodeRef src = build::slice(x, std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 1),
                               src_extent);
    src = build::permute(src, perm);
    NodeRef r = build::gather(src, build::permute(idx, perm), {rank - 1, site});
    std::vector<int64_t> inverse(rank);
    for (int64_t i = 0; i < rank; ++i) inverse[perm[i]] = i;
    r = build::permute(r, inverse);
    return make_tensor(scalar ? build::reshape(r, {}) : r, t.device());
}

}  // namespace kiln
