#pragma once
/// split_reductions: a reduction of many elements to one value would run on one thread (the
/// thread pool splits a kernel's outer loop, and such a kernel has none). It becomes a partial
/// reduction over P rows (P outer iterations, so all threads work) and a final reduction of the
/// P partial results.
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

/// Rewrites full reductions of at least `min_elements` elements into two stages.
std::vector<ir::NodeRef> split_reductions(const std::vector<ir::NodeRef>& roots,
                                          int64_t min_elements = int64_t(1) << 16);

}  // namespace kiln::passes
