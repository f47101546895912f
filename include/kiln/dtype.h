#pragma once
/// Element types of Kiln tensors (public vocabulary, shared by every layer).
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

/// The element type of a tensor. Kiln has five: two floats, two integers and bool.
enum class DType : uint8_t { Float32, Float64, Int32, Int64, Bool };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kInt = DType::Int32;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kBool = DType::Bool;

/// Bytes per element (bool takes one byte).
size_t dtype_size(DType t);
/// Short name used in IR text and error messages: f32, f64, i32, i64, bool.
const char* dtype_name(DType t);
/// Parses a short name; returns false when `name` is not a dtype.
bool parse_dtype(const std::string& name, DType& out);
bool is_floating(DType t);
bool is_integral(DType t);  ///< i32 or i64 (not bool)
/// PyTorch's promotion of two tensor dtypes: bool < i32 < i64 < f32 < f64.
DType promote_types(DType a, DType b);

}  // namespace kiln
