#pragma once
/// Arithmetic with the op's name as parameter, for ops built on it that report errors under
/// their own name (the in-place add_, mul_, ...).
#include "kiln/tensor.h"
#include "ir/op.h"

namespace kiln::detail {

/// a OP b with PyTorch's promotion and broadcasting; errors name `name`.
Tensor binary_tt(const char* name, ir::Op op, Located a, const Tensor& b);
/// a OP s (or s OP a when scalar_first); errors name `name`.
Tensor binary_ts(const char* name, ir::Op op, Located a, const Scalar& s, bool scalar_first);

}  // namespace kiln::detail
