#pragma once
/// column_sums: a sum over leading axes (the bias gradient of a [batch, features] tensor,
/// sum({0})) becomes a product with a row of ones, [1, R] @ [R, C]. A loop kernel would walk each
/// output's column with a stride of C elements (0.03 of the memory bandwidth here); BLAS reads
/// the rows contiguously and runs near it. The operand is materialized for the matmul, which a
/// backward graph does anyway (the weight gradient reads the same tensor).
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

/// Rewrites float reduce_sum nodes over a leading prefix of axes of at least `min_elements`
/// elements (with at least 64 rows and 16 columns) into matmuls with ones.
std::vector<ir::NodeRef> column_sums(const std::vector<ir::NodeRef>& roots,
                                     int64_t min_elements = int64_t(1) << 16);

}  // namespace kiln::passes
