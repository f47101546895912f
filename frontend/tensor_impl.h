#pragma once
/// What a kiln::Tensor points to: the IR node of its current value, its device and its autograd
/// state. Realizing a tensor swaps its node for an input node that owns the computed buffer,
/// except for a tensor that requires grad: it keeps the expression (so a backward can still
/// differentiate it after its value was read) and holds the value beside it.
#include <atomic>
#include <memory>
#include <source_location>
#include <string>

#include "ir/node.h"
#include "kiln/tensor.h"

namespace kiln {

class TensorImpl {
public:
    TensorImpl(ir::NodeRef n, Device d) : device(d), node_(std::move(n)) {}
    /// The node of the current value: the recorded expression, or an input node holding the
    /// computed buffer. Both denote the same value, and another thread may swap one for the
    /// other at any time (realizing), so the node is read and written atomically and handed out
    /// as a counted reference that stays valid whatever the swap does.
    ir::NodeRef node() const {
        Guard g(lock_);
        return node_;
    }
    /// Replaces the value (an in-place op, or a realized value); any held value is dropped.
    void set_node(ir::NodeRef n) {
        ir::NodeRef old_value;
        Saved old_saved;
        {
            Guard g(lock_);
            node_.swap(n);
            value_.swap(old_value);
            if (!node_->tracks_grad()) saved_.swap(old_saved);
        }
        // `n` (the old node) is released here, outside the lock: that may free a whole graph.
    }
    /// The input node holding the computed value, or nullptr while it is pending.
    ir::NodeRef value() const {
        Guard g(lock_);
        if (value_) return value_;
        if (node_->op() == ir::Op::Input) return node_;
        if (node_->op() == ir::Op::Leaf && node_->input(0)->op() == ir::Op::Input)
            return node_->input(0);
        return nullptr;
    }
    /// Records the computed value `input` (an input node) of the node `of`, unless the tensor
    /// has been given another value meanwhile. A tensor that does not require grad forgets its
    /// expression; a leaf keeps only its marker over the value (its input is never
    /// differentiated); any other tensor that requires grad keeps the expression.
    void set_value(const ir::NodeRef& of, ir::NodeRef input);

    Device device;
    /// The gradient accumulated by backward() for a leaf (undefined until one reaches it).
    Tensor grad;
    /// Set by a backward() through this tensor without retain_graph: another one is refused.
    std::atomic<bool> graph_freed{false};

    /// Values of intermediate nodes of this tensor's graph, computed when it was realized before
    /// a backward (PyTorch's saved tensors): the backward's program finds them in the realize
    /// driver's computed-value map instead of running the forward again. backward() hands them
    /// to the gradients it makes and to the leaves (an update may outlive the gradient), which
    /// drop them once their own values are computed.
    using Saved = std::shared_ptr<const std::vector<ir::NodeRef>>;
    Saved saved() const {
        Guard g(lock_);
        return saved_;
    }
    void set_saved(Saved s) {
        {
            Guard g(lock_);
            saved_.swap(s);
        }
    }

private:
    /// A spin lock around the copy of one pointer (a few ns uncontended; std::atomic of a
    /// shared_ptr does the same inside, but ThreadSanitizer cannot see its synchronization).
    struct Guard {
        explicit Guard(std::atomic<bool>& l) : lock(l) {
            while (lock.exchange(true, std::memory_order_acquire))
                while (lock.load(std::memory_order_relaxed)) __builtin_ia32_pause();
        }
        ~Guard() { lock.store(false, std::memory_order_release); }
        std::atomic<bool>& lock;
    };
    mutable std::atomic<bool> lock_{false};
    ir::NodeRef node_;
    ir::NodeRef value_;  ///< the value beside a kept expression (tensors that require grad)
    Saved saved_;
};

/// A new tensor for `node` on `device`. With grad mode off (kiln::NoGradGuard), a node that
/// tracks grad is wrapped in `detach`: results recorded there never carry gradients.
Tensor make_tensor(ir::NodeRef node, Device device = Device());
/// The node of a defined tensor; throws kiln::ValueError naming `op` for an undefined one.
ir::NodeRef node_of(const Tensor& t, const char* op, const std::source_location& loc);

}  // namespace kiln
