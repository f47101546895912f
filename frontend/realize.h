#pragma once
/// The realize driver: pending graph -> canonical graph -> (cached) compiled program -> run.
#include <memory>
#include <source_location>
#include <vector>

#include "frontend/tensor_impl.h"
#include "runtime/buffer.h"

namespace kiln::detail {

/// Computes the values of `impls` with one program and swaps each impl's node for an input node
/// that owns its buffer. Already-realized tensors cost nothing. Thread-safe: tensors may be
/// realized, read and dropped from several threads at once, and independent graphs
/// canonicalize, compile and run concurrently. Running out of memory throws
/// kiln::OutOfMemoryError naming `op` (the user-facing call that needed the value) and `loc`.
void realize_impls(const std::vector<TensorImpl*>& impls, const char* op,
                   const std::source_location& loc);
/// Realizes `impl` and returns its value's input node.
ir::NodeRef realized_node(TensorImpl& impl, const char* op, const std::source_location& loc);
/// Realizes `impl` and returns its value's buffer on the CPU: the buffer itself, or a copy of a
/// device buffer (which waits for the device; a bad index met by queued work is thrown as
/// kiln::IndexError here).
std::shared_ptr<runtime::Buffer> host_buffer(TensorImpl& impl, const char* op,
                                             const std::source_location& loc);
/// The canonical form of the graph under `roots` (what the program cache is keyed by): realized
/// buffers become placeholders 0..n-1, appended to `inputs` in order.
std::vector<ir::NodeRef> canonical_graph(const std::vector<ir::NodeRef>& roots,
                                         std::vector<std::shared_ptr<runtime::Buffer>>& inputs);
/// An input node owning `buffer` (viewed with `shape`, whose numel must match).
ir::NodeRef input_node(const std::shared_ptr<runtime::Buffer>& buffer, const ir::Shape& shape);
/// The buffer of an input node made by input_node().
std::shared_ptr<runtime::Buffer> buffer_of(const ir::Node& input);

}  // namespace kiln::detail
