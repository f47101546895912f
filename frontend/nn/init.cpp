// torch::nn::init's formulas over Kiln's generator. Each initialization is an in-place copy_
// with autograd off, so a parameter keeps its identity (and stays a leaf); the draw is lazy
// until the value is needed (modules realize their parameters right after).
#include "kiln/nn/init.h"

#include <cmath>

#include "frontend/checks.h"
#include "kiln/autograd.h"

namespace kiln::nn::init {
namespace {

int64_t fan(const Tensor& t, FanMode mode, const std::source_location& loc) {
    auto [in, out] = calculate_fan_in_and_fan_out(t, loc);
    return mode == FanMode::FanIn ? in : out;
}

TensorOptions like(const Tensor& t) { return TensorOptions().dtype(t.dtype()).device(t.device()); }

void require_float(const char* op, const Tensor& t, const std::source_location& loc) {
    if (!t.defined()) fail<ValueError>(op, "the tensor is undefined", loc);
    if (!is_floating(t.dtype()))
        fail<TypeError>(op, std::string("needs a float tensor, got ") + dtype_name(t.dtype()), loc);
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
    switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid: return 1;
    case Nonlinearity::Tanh: return 5.0 / 3;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.0 / (1 + param * param));
    }
    return 1;
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t, std::source_location loc) {
    if (t.dim() < 2)
        fail<ValueError>("init", "fan in and fan out need a tensor of at least 2 dims, got " +
                                     std::to_string(t.dim()), loc);
    std::vector<int64_t> s = t.sizes();
    int64_t receptive = 1;
    for (size_t d = 2; d < s.size(); ++d) receptive *= s[d];
    return {s[1] * receptive, s[0] * receptive};
}

Tensor& uniform_(Tensor& t, double low, double high, std::source_location loc) {
    require_float("uniform_", t, loc);
    NoGradGuard no_grad;
    return t.copy_(rand(t.sizes(), like(t), loc) * (high - low) + low, loc);
}

Tensor& normal_(Tensor& t, double mean, double std, std::source_location loc) {
    require_float("normal_", t, loc);
    NoGradGuard no_grad;
    return t.copy_(randn(t.sizes(), like(t), loc) * std + mean, loc);
}

Tensor& constant_(Tensor& t, double value, std::source_location loc) {
    NoGradGuard no_grad;
    return t.fill_(value, loc);
}
Tensor& zeros_(Tensor& t, std::source_location loc) { return constant_(t, 0, loc); }
Tensor& ones_(Tensor& t, std::source_location loc) { return constant_(t, 1, loc); }

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity,
                         std::source_location loc) {
    require_float("kaiming_uniform_", t, loc);
    int64_t f = fan(t, mode, loc);
    double bound = f > 0 ? calculate_gain(nonlinearity, a) * std::sqrt(3.0 / double(f)) : 0;
    return uniform_(t, -bound, bound, loc);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity,
                        std::source_location loc) {
    require_float("kaiming_normal_", t, loc);
    int64_t f = fan(t, mode, loc);
    double std = f > 0 ? calculate_gain(nonlinearity, a) / std::sqrt(double(f)) : 0;
    return normal_(t, 0, std, loc);
}

Tensor& xavier_uniform_(Tensor& t, double gain, std::source_location loc) {
    require_float("xavier_uniform_", t, loc);
    auto [in, out] = calculate_fan_in_and_fan_out(t, loc);
    double bound = in + out > 0 ? gain * std::sqrt(6.0 / double(in + out)) : 0;
    return uniform_(t, -bound, bound, loc);
}

Tensor& xavier_normal_(Tensor& t, double gain, std::source_location loc) {
    require_float("xavier_normal_", t, loc);
    auto [in, out] = calculate_fan_in_and_fan_out(t, loc);
    double std = in + out > 0 ? gain * std::sqrt(2.0 / double(in + out)) : 0;
    return normal_(t, 0, std, loc);
}

}  // namespace kiln::nn::init
