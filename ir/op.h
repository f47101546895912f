#pragma once
/// The op enum and its static properties, generated from ops.def.
#include <cstdint>
#include <string_view>

namespace kiln::ir {

enum class Op : uint8_t {
#define KILN_OP(name, text, arity, category) name,
#include "ir/ops.def"
#undef KILN_OP
};

/// What kind of op this is; decides how passes and lowering treat it.
enum class OpCategory : uint8_t { Source, Unary, Binary, Ternary, Reduce, Movement, Extern, Loop };

/// Text name of an op as in IR text ("add", "reduce_sum").
std::string_view op_name(Op op);
/// Number of inputs; -1 for ops that take a variable number.
int op_arity(Op op);
OpCategory op_category(Op op);
/// Parses an op name; returns false when unknown.
bool parse_op(std::string_view name, Op& out);

/// Elementwise: unary, binary or ternary.
bool is_elementwise(Op op);
/// Binary ops whose result is bool (eq, ne, lt, le, and, or).
bool is_comparison(Op op);
/// exp, log, sin, cos, tanh, sigmoid, erf and pow: computed by polynomial approximations in
/// kernels, so each costs tens of instructions to run and milliseconds to compile.
bool is_transcendental(Op op);

}  // namespace kiln::ir
