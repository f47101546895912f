#pragma once
/// The realize driver: pending graph -> canonical graph -> (cached) compiled program -> run.
#include <memory>
#include <vector>

#include "frontend/tensor_impl.h"
#include "runtime/buffer.h"

namespace kiln::detail {

/// Computes the values of `impls` with one program and swaps each impl's node for an input node
/// that owns its buffer. Already-realized tensors cost nothing.
void realize_impls(const std::vector<TensorImpl*>& impls);
/// The canonical form of the graph under `roots` (what the program cache is keyed by): realized
/// buffers become placeholders 0..n-1, appended to `inputs` in order.
std::vector<ir::NodeRef> canonical_graph(const std::vector<ir::NodeRef>& roots,
                                         std::vector<std::shared_ptr<runtime::Buffer>>& inputs);
/// An input node owning `buffer` (viewed with `shape`, whose numel must match).
ir::NodeRef input_node(const std::shared_ptr<runtime::Buffer>& buffer, const ir::Shape& shape);
/// The buffer of an input node made by input_node().
std::shared_ptr<runtime::Buffer> buffer_of(const ir::Node& input);

}  // namespace kiln::detail
