#pragma once
/// The reference interpreter: the slow, obviously correct oracle every backend and pass is
/// compared with ("the living definition" of the ops; semantics in ir/ops.def).
#include <functional>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/// A dense host tensor for the reference: values as double (exact for integers below 2^53),
/// row-major, `values.size() == numel(shape)`. Bool values are 0 or 1.
struct RefTensor {
    DType dtype = DType::Float32;
    Shape shape;
    std::vector<double> values;
};

/// Evaluates tensor-level roots with float64 arithmetic, no fusion; returns one tensor per root
/// (repeats included). Input nodes get their values from `input_value`, called once per input
/// node; it must return a tensor of the node's dtype and shape.
///
/// Semantics: every op computes in double; an f32 node's result is then rounded to float (so
/// f32 overflow gives inf, as in kernels), an f64 node's stays double. Integer results wrap at
/// their width (i32 at 32 bits); integer division truncates, div/mod by zero give 0, int mod is C's
/// remainder; comparisons give 0/1; sigmoid = 1/(1+exp(-x)); max/min propagate NaN; float mod is
/// fmod; integer pow is exact with wrapping (a negative exponent gives trunc(1/a^-b)). Reductions
/// over empty axes give the identity (sum 0, max -inf / the int type's minimum, min +inf / its
/// maximum). Each node is evaluated once (memoized) and checked with the verifier first. Throws
/// kiln::InternalError for ill-formed nodes, loop-level ops or a bad input tensor.
std::vector<RefTensor> interpret(const std::vector<NodeRef>& roots,
                                 const std::function<RefTensor(const Node& input)>& input_value);

}  // namespace kiln::ir
