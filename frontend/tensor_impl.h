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
    TensorImpl(ir::NodeRef n, Device d) : device(d), node_(std::move(n)) {}
    /// The node of the current value: the recorded expression, or an input node holding the
    /// computed buffer. Both denote the same value, and another thread may swap one for the
    /// other at any time (realizing), so the node is read and written atomically and handed out
    /// as a counted reference that stays valid whatever the swap does.
    ir::NodeRef node() const {
        Guard g(lock_);
        return node_;
    }
    void set_node(ir::NodeRef n) {
        {
            Guard g(lock_);
            node_.swap(n);
        }
        // `n` (the old node) is released here, outside the lock: that may free a whole graph.
    }

    Device device;
    bool requires_grad = false;

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
};

/// A new tensor for `node` on `device`.
Tensor make_tensor(ir::NodeRef node, Device device = Device());
/// The node of a defined tensor; throws kiln::ValueError naming `op` for an undefined one.
ir::NodeRef node_of(const Tensor& t, const char* op, const std::source_location& loc);

}  // namespace kiln
