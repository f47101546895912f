#pragma once
/// TensorOptions and Scalar: the small value types of the public API.
#include <cstdint>
#include <optional>
#include <type_traits>

#include "kiln/device.h"
#include "kiln/dtype.h"

namespace kiln {

/// The device factories (tensor, zeros, randn, ...) use when their options name none
/// (torch.set_default_device): the CPU unless changed. Process-wide. Setting a CUDA device that
/// is unavailable throws kiln::Error with the reason.
void set_default_device(Device device);
Device default_device();

/// How to create a tensor: dtype, device and whether it requires grad. A DType or a Device
/// converts to options, so `kiln::zeros({2}, kiln::kFloat64)` works as in LibTorch.
class TensorOptions {
public:
    TensorOptions() = default;
    TensorOptions(DType d) : dtype_(d) {}    // NOLINT: implicit by design
    TensorOptions(Device d) : device_(d) {}  // NOLINT
    TensorOptions(DeviceType t) : device_(Device(t)) {}  // NOLINT

    TensorOptions dtype(DType d) const { TensorOptions o = *this; o.dtype_ = d; return o; }
    TensorOptions device(Device d) const { TensorOptions o = *this; o.device_ = d; return o; }
    TensorOptions requires_grad(bool r) const {
        TensorOptions o = *this;
        o.requires_grad_ = r;
        return o;
    }

    /// The dtype if one was set.
    std::optional<DType> dtype_opt() const { return dtype_; }
    DType dtype_or(DType fallback) const { return dtype_.value_or(fallback); }
    /// The device if one was set, else default_device().
    Device device() const { return device_ ? *device_ : default_device(); }
    bool requires_grad() const { return requires_grad_; }

private:
    std::optional<DType> dtype_;
    std::optional<Device> device_;
    bool requires_grad_ = false;
};

/// A number passed to an op (`t * 2`, `full(shape, 0.5)`). Remembers whether it was written as
/// an integer, a float or a bool, because that decides the result dtype (PyTorch's rules).
class Scalar {
public:
    enum class Kind : uint8_t { Bool, Int, Float };
    template <class T>
        requires std::is_arithmetic_v<T>
    Scalar(T v) {  // NOLINT: implicit by design
        if constexpr (std::is_same_v<T, bool>) {
            kind_ = Kind::Bool;
            i_ = v ? 1 : 0;
            f_ = i_;
        } else if constexpr (std::is_integral_v<T>) {
            kind_ = Kind::Int;
            i_ = static_cast<int64_t>(v);
            f_ = static_cast<double>(v);
        } else {
            kind_ = Kind::Float;
            f_ = static_cast<double>(v);
            // Out-of-range (and NaN) values have no integer value; 0 avoids undefined behaviour.
            i_ = f_ > -9223372036854775808.0 && f_ < 9223372036854775808.0
                     ? static_cast<int64_t>(f_)
                     : 0;
        }
    }
    Kind kind() const { return kind_; }
    bool is_floating() const { return kind_ == Kind::Float; }
    bool is_integral() const { return kind_ == Kind::Int; }
    double to_double() const { return f_; }
    int64_t to_int() const { return i_; }

private:
    Kind kind_;
    int64_t i_;
    double f_;
};

}  // namespace kiln
