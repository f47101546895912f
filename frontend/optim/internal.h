#pragma once
/// What the optimizer files share: 0-d inputs for the numbers that change every step, state
/// buffers that start as zeros, snapshots of values, and Adam's update (Adam and AdamW).
#include <cstdint>
#include <map>
#include <source_location>
#include <string>
#include <vector>

#include "kiln/optim.h"

namespace kiln::optim::detail {

/// A computed 0-d tensor of `dtype` holding `value`: a program input, so that a new value every
/// step (a scheduled lr, a bias correction) leaves the step's program, and its cache key, as
/// they are.
Tensor scalar_input(double value, DType dtype);
/// A computed tensor of zeros shaped and typed like `like`.
Tensor zeros_input(const Tensor& like);
/// A new handle to the current value of `t` (cut from autograd), which later in-place updates
/// of `t` do not change. Free for a computed value: buffers are immutable.
Tensor snapshot(const Tensor& t);
/// One group of `params`, or none for an empty list (which the constructors then refuse).
std::vector<OptimizerParamGroup> one_group(std::vector<Tensor> params);
/// A number as messages show it: "0.5", "1e-08", "-3".
std::string num(double value);

/// Adam's and AdamW's options, whichever options class they came in.
struct AdamConfig {
    double lr, beta1, beta2, eps, weight_decay;
    bool amsgrad;
    bool decoupled;  ///< AdamW: p *= 1 - lr * weight_decay instead of the L2 term
};
/// Throws kiln::ValueError "NAME: OPTION must be ..., got V<where> at FILE:LINE".
void check_adam(const char* name, const AdamConfig& c, const std::string& where,
                const std::source_location& loc);
/// exp_avg, exp_avg_sq and, with amsgrad, max_exp_avg_sq.
std::vector<std::string> adam_buffer_names(bool amsgrad);
/// Records one Adam / AdamW step of `param` (grad mode off), counting `step` and creating the
/// buffers it lacks; appends the parameter and the buffers to `outputs`.
void adam_update(const AdamConfig& c, Tensor& param, const Tensor& grad, int64_t& step,
                 std::map<std::string, Tensor>& buffers, std::vector<Tensor>& outputs);

}  // namespace kiln::optim::detail
