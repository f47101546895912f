// Small tensors the optimizers make: 0-d inputs, zero buffers and snapshots of values. They are
// built on the host as buffers (never as lazy IR constants), so that they reach a step's
// program as inputs: a constant would be folded into the program and its value would be part
// of the program's cache key.
#include <cstring>

#include <fmt/format.h>

#include "frontend/graph_builder.h"
#include "frontend/optim/internal.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"

namespace kiln::optim::detail {

Tensor scalar_input(double value, DType dtype) {
    return kiln::tensor(std::vector<double>{value}, {}, dtype);
}

Tensor zeros_input(const Tensor& like) {
    // Zeros in a buffer rather than kiln::zeros: the first step then sees its state as inputs,
    // like every later step, and compiles the same program (one program for the whole loop).
    std::vector<int64_t> shape = like.sizes();
    auto buffer = runtime::Buffer::allocate(like.dtype(), ir::numel(shape), like.device());
    runtime::zero_buffer(*buffer);
    return make_tensor(kiln::detail::input_node(buffer, shape), like.device());
}

Tensor snapshot(const Tensor& t) {
    ir::NodeRef value = t.impl()->value();
    if (!value) value = build::detach(t.impl()->node());  // pending: the expression, detached
    return Tensor(std::make_shared<TensorImpl>(std::move(value), t.device()));
}

std::vector<OptimizerParamGroup> one_group(std::vector<Tensor> params) {
    if (params.empty()) return {};
    return {OptimizerParamGroup(std::move(params))};
}

std::string num(double value) { return fmt::format("{}", value); }

}  // namespace kiln::optim::detail
