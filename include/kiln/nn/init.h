#pragma once
/// Parameter initializations (torch::nn::init): each sets `tensor` in place (with autograd
/// off, so a parameter stays a leaf) from Kiln's generator and returns it. Fans are PyTorch's:
/// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field.
#include <cstdint>
#include <string>

#include "kiln/tensor.h"

namespace kiln::nn::init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };

/// PyTorch's calculate_gain (param: LeakyReLU's negative slope).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

Tensor& uniform_(Tensor& tensor, double low = 0, double high = 1, KILN_LOC);
Tensor& normal_(Tensor& tensor, double mean = 0, double std = 1, KILN_LOC);
Tensor& constant_(Tensor& tensor, double value, KILN_LOC);
Tensor& zeros_(Tensor& tensor, KILN_LOC);
Tensor& ones_(Tensor& tensor, KILN_LOC);
/// U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
Tensor& kaiming_uniform_(Tensor& tensor, double a = 0, FanMode mode = FanMode::FanIn,
                         Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, KILN_LOC);
/// N(0, std^2), std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& tensor, double a = 0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, KILN_LOC);
/// U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& tensor, double gain = 1, KILN_LOC);
/// N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& tensor, double gain = 1, KILN_LOC);

/// {fan_in, fan_out} of a weight of at least 2 dims (a kiln::ValueError otherwise).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor, KILN_LOC);

}  // namespace kiln::nn::init
