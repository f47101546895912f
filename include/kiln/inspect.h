#pragma once
/// Looking inside: the IR and kernels that realizing some tensors would run. Nothing is computed.
#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

/// The pending graph of `tensors` as .kir text, in canonical form (computed values appear as
/// numbered `input` placeholders).
std::string graph_text(const std::vector<Tensor>& tensors);
/// The simplified graph, the fusion partition (with reasons) and every loop kernel.
std::string kernels_text(const std::vector<Tensor>& tensors);

}  // namespace kiln
