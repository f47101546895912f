#pragma once
/// What a kiln::Tensor points to: the IR node of its current value and its device. Realizing a
/// tensor swaps its node for an input node that owns the computed buffer.
#include <atomic>
#include <memory>
#include <source_location>
#include <string>

#include "ir/node.h"
#include "kiln/tensor.h"

namespace kiln {

class TensorImpl {
public:
    TensorImpl(ir::NodeRef n, Device d) : node_(std::move(n)), device(d) {}
    /// The node of the current value: the recorded expression, or an input node holding the
    /// computed buffer. Both denote the same value, and another thread may swap one for the
    /// other at any time (realizing), so the node is read and written atomically and handed out
    /// as a counted reference that stays valid whatever the swap does.
    ir::NodeRef node() const { return node_.load(std::memory_order_acquire); }
    void set_node(ir::NodeRef n) { node_.store(std::move(n), std::memory_order_release); }

    Device device;
    bool requires_grad = false;

private:
    std::atomic<ir::NodeRef> node_;
};

/// A new tensor for `node` on `device`.
Tensor make_tensor(ir::NodeRef node, Device device = Device());
/// The node of a defined tensor; throws kiln::ValueError naming `op` for an undefined one.
ir::NodeRef node_of(const Tensor& t, const char* op, const std::source_location& loc);

}  // namespace kiln
