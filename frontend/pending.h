#pragma once
/// Pending tensors the realize driver computes along with the requested ones, and the bound on
/// how much a thread records without computing anything.
///
/// A training step leaves several tensors pending that share one graph: the loss, the logits,
/// the gradients, the updated weights and optimizer state. Whichever is read first, the driver
/// computes all of them that user code still holds in the same program, so the forward runs
/// once and reading the others later costs nothing. Tracked are the tensors autograd and
/// in-place updates make (results that require grad or were recorded under no-grad from ones
/// that do, gradients, tensors updated in place); plain computations are not, so programs of
/// code that does not train never change.
#include <memory>
#include <vector>

#include "frontend/tensor_impl.h"

namespace kiln::detail {

/// Records `impl` (now pending) as a candidate for co-computation on this thread.
void note_pending(const std::shared_ptr<TensorImpl>& impl);
/// The live, still pending candidates of this thread whose graphs share a node with the graph
/// of `requested` (which are not among them).
std::vector<std::shared_ptr<TensorImpl>> co_pending(const std::vector<TensorImpl*>& requested);

/// Ops a thread may record since its last realize before the next op's result is realized on
/// its own (with its co-pending tensors), so a loop that never reads stays bounded.
inline constexpr int64_t kMaxPendingOps = int64_t(1) << 18;
/// Counts one recorded op; true when the bound is reached (the count then starts over).
bool count_recorded_op();
/// A realize ran on this thread: the count starts over.
void reset_recorded_ops();

}  // namespace kiln::detail
