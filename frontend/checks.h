#pragma once
/// Helpers that build the user-facing error messages: "OP: WHAT at FILE:LINE".
#include <initializer_list>
#include <source_location>
#include <string>
#include <vector>

#include "ir/node.h"
#include "kiln/error.h"
#include "kiln/options.h"
#include "kiln/tensor.h"

namespace kiln {

/// Throws E with "op: what at file:line".
template <class E = Error>
[[noreturn]] void fail(const std::string& op, const std::string& what,
                       const std::source_location& loc) {
    throw E(op + ": " + what + " at " + format_location(loc));
}

/// Checks a shape made from user data: a negative size throws ValueError; more than
/// ir::kMaxRank dims or more elements/bytes than a 64-bit count holds throws ShapeError. Both
/// name `op` and the call site.
void check_shape(const std::string& op, const ir::Shape& shape, DType dtype,
                 const std::source_location& loc);

/// A scalar argument as the user wrote it: "0.5", "1e+30", "-3".
std::string scalar_str(const Scalar& s);

/// "f32[2,3]": dtype and shape, as error messages show a tensor.
std::string describe(const ir::Node& n);
/// Maps a possibly negative dim into [0, rank); throws ShapeError naming op and shape. With
/// `scalar_ok`, a rank-0 shape accepts dim 0 and -1 (the caller must treat it as no axis).
int64_t wrap_dim(const std::string& op, int64_t dim, const ir::Shape& shape,
                 const std::source_location& loc, bool scalar_ok = false);
/// Sorted unique axes from possibly negative dims; empty `dims` means all axes.
std::vector<int64_t> normalize_dims(const std::string& op, const std::vector<int64_t>& dims,
                                    const ir::Shape& shape, const std::source_location& loc);
/// PyTorch's result dtype of a binary op: like promote_types, except that a rank-0 tensor next
/// to a dimensioned one only counts when its category is higher (bool < int < float).
DType result_type(const ir::Node& a, const ir::Node& b);
/// Throws TypeError unless the tensor has a floating dtype.
/// Throws kiln::Error "OP: device cuda:N is not available: WHY at FILE:LINE" for a device this
/// process cannot put tensors on (today: any CUDA device; WHY says what the driver probe found).
void check_device(const std::string& op, Device device, const std::source_location& loc);

/// The device all `tensors` are on (the CPU for none); throws kiln::Error "OP: expected all
/// tensors on the same device, got cpu and cuda:0 (f32[2,3] on cpu, f32[3] on cuda:0) at
/// FILE:LINE" when they differ (PyTorch's rule: no implicit copies between devices, except
/// that a 0-d CPU tensor may join tensors of another device). Undefined tensors are skipped.
Device common_device(const std::string& op, std::initializer_list<const Tensor*> tensors,
                     const std::source_location& loc);

void require_floating(const std::string& op, const ir::Node& n, const std::source_location& loc);

}  // namespace kiln
