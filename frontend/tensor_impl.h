#pragma once
/// What a kiln::Tensor points to: the IR node of its current value and its device. Realizing a
/// tensor swaps `node` for an input node that owns the computed buffer.
#include <memory>
#include <source_location>
#include <string>

#include "ir/node.h"
#include "kiln/tensor.h"

namespace kiln {

class TensorImpl {
public:
    TensorImpl(ir::NodeRef n, Device d) : node(std::move(n)), device(d) {}
    ir::NodeRef node;
    Device device;
    bool requires_grad = false;
};

/// A new tensor for `node` on `device`.
Tensor make_tensor(ir::NodeRef node, Device device = Device());
/// The node of a defined tensor; throws kiln::ValueError naming `op` for an undefined one.
const ir::NodeRef& node_of(const Tensor& t, const char* op, const std::source_location& loc);

}  // namespace kiln
