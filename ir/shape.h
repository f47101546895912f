#pragma once
/// Static tensor shapes and the index arithmetic every layer shares.
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/dtype.h"

namespace kiln::ir {

/// Sizes of each dimension, outermost first. A rank-0 shape `{}` is a scalar (one element).
using Shape = std::vector<int64_t>;

/// Most dimensions a tensor may have (NumPy's limit too). A kernel keeps a loop and an index
/// term per dimension, so rank costs compile time and code size; a limit keeps both bounded.
inline constexpr size_t kMaxRank = 64;

/// Why a tensor of `shape` and `dtype` cannot exist, or "" when it can: a negative size, more
/// than kMaxRank dims, or more elements or bytes than fit in a signed 64-bit count (so numel(),
/// byte sizes and kernel index arithmetic never overflow). E.g. "shape [4294967296,4294967296]
/// has more than 9223372036854775807 elements". Every place that makes shapes from outside
/// data (frontend ops, the .kir parser, the verifier) checks it.
std::string shape_problem(const Shape& shape, DType dtype);

/// Number of elements (1 for a scalar, 0 when any dim is 0).
int64_t numel(const Shape& shape);
/// Row-major (C-contiguous) strides, in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);
/// A shape seen as [outer, size, inner] around one axis (row-major): element (o, k, i) is at
/// (o * size + k) * inner + i. What gather and scatter_add loop over.
struct AxisSplit {
    int64_t outer = 1, size = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, int64_t axis);
/// "[2,3]" as in error messages and IR text.
std::string shape_str(const Shape& shape);
/// "[0,2]" for a list of axes or any int list.
std::string ints_str(const std::vector<int64_t>& values);

}  // namespace kiln::ir
