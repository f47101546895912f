#pragma once
/// Static tensor shapes and the index arithmetic every layer shares.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::ir {

/// Sizes of each dimension, outermost first. A rank-0 shape `{}` is a scalar (one element).
using Shape = std::vector<int64_t>;

/// Number of elements (1 for a scalar, 0 when any dim is 0).
int64_t numel(const Shape& shape);
/// Row-major (C-contiguous) strides, in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);
/// "[2,3]" as in error messages and IR text.
std::string shape_str(const Shape& shape);
/// "[0,2]" for a list of axes or any int list.
std::string ints_str(const std::vector<int64_t>& values);

}  // namespace kiln::ir
