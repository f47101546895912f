#pragma once
/// KILN_ARG(T, name): a chainable option of an options struct (LibTorch's TORCH_ARG), used by
/// the nn modules', the optimizers' and the data loader's options: `name(v)` sets it and returns
/// the options, `name()` reads it.
#define KILN_ARG(T, name)                                                                          \
public:                                                                                            \
    auto name(const T& value)->decltype(*this) {                                                   \
        name##_ = value;                                                                           \
        return *this;                                                                              \
    }                                                                                              \
    const T& name() const noexcept { return name##_; }                                             \
    T& name() noexcept { return name##_; }                                                         \
                                                                                                   \
private:                                                                                           \
    T name##_
