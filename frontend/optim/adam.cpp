// Adam and AdamW, as torch.optim.Adam / AdamW (their single-tensor path, operation for
// operation). The step count lives on the host, so the bias corrections are computed there in
// double, as PyTorch does, and enter the program as 0-d inputs (lr / (1 - beta1^t) and
// sqrt(1 - beta2^t), and AdamW's 1 - lr * weight_decay): the step's program does not change
// from one step to the next. The moments start as zero buffers (inputs, not constants), so
// the first step is the same program too.
#include <cmath>

#include "frontend/checks.h"
#include "frontend/optim/internal.h"

namespace kiln::optim {

using detail::AdamConfig;

namespace detail {

void check_adam(const char* name, const AdamConfig& c, const std::string& where,
                const std::source_location& loc) {
    auto at_least_zero = [&](const char* option, double v) {
        if (!(v >= 0))
            fail<ValueError>(name, std::string(option) + " must be >= 0, got " + num(v) + where,
                             loc);
    };
    auto beta = [&](const char* option, double v) {
        if (!(v >= 0 && v < 1)) {
            fail<ValueError>(
                name, std::string(option) + " must be in [0, 1), got " + num(v) + where, loc);
        }
    };
    at_least_zero("lr", c.lr);
    at_least_zero("eps", c.eps);
    beta("beta1", c.beta1);
    beta("beta2", c.beta2);
    at_least_zero("weight_decay", c.weight_decay);
}

std::vector<std::string> adam_buffer_names(bool amsgrad) {
    if (amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
}

void adam_update(const AdamConfig& c, Tensor& param, const Tensor& grad, int64_t& step,
                 std::map<std::string, Tensor>& buffers, std::vector<Tensor>& outputs) {
    DType dtype = param.dtype();
    // A buffer missing (the first step, or amsgrad turned on since) starts at zeros.
    auto buffer = [&](const char* name) -> Tensor& {
        Tensor& b = buffers[name];
        if (!b.defined()) b = zeros_input(param);
        return b;
    };
    Tensor& exp_avg = buffer("exp_avg");
    Tensor& exp_avg_sq = buffer("exp_avg_sq");
    ++step;
    double t = static_cast<double>(step);
    double bias_correction1 = 1 - std::pow(c.beta1, t);
    double bias_correction2 = 1 - std::pow(c.beta2, t);

    Tensor g = grad;
    if (c.decoupled)
        param.mul_(scalar_input(1 - c.lr * c.weight_decay, dtype));
    else if (c.weight_decay != 0)
        g = g + param * c.weight_decay;  // grad.add(param, alpha=wd)

    // exp_avg.lerp_(g, 1 - beta1), with lerp's two forms (the one for large weights keeps
    // lerp(a, b, 1) == b exactly).
    double w = 1 - c.beta1;
    if (w < 0.5)
        exp_avg.add_(g - exp_avg, w);
    else
        exp_avg.copy_(g - (g - exp_avg) * (1 - w));
    // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    exp_avg_sq.mul_(c.beta2).add_(g * g, 1 - c.beta2);
    outputs.push_back(exp_avg);
    outputs.push_back(exp_avg_sq);

    Tensor second = exp_avg_sq;
    if (c.amsgrad) {
        Tensor& max_sq = buffer("max_exp_avg_sq");
        max_sq.copy_(kiln::maximum(max_sq, exp_avg_sq));
        outputs.push_back(max_sq);
        second = max_sq;
    }
    // denom = (v.sqrt() / bias_correction2_sqrt).add_(eps); param.addcdiv_(m, denom, -step_size)
    Tensor denom = second.sqrt() / scalar_input(std::sqrt(bias_correction2), dtype) + c.eps;
    param.sub_(exp_avg / denom * scalar_input(c.lr / bias_correction1, dtype));
    outputs.push_back(param);
}

}  // namespace detail

namespace {

AdamConfig config_of(const AdamOptions& o) {
    return {o.lr(),  std::get<0>(o.betas()), std::get<1>(o.betas()),
            o.eps(), o.weight_decay(),       o.amsgrad(),
            false};
}
AdamConfig config_of(const AdamWOptions& o) {
    return {o.lr(),  std::get<0>(o.betas()), std::get<1>(o.betas()),
            o.eps(), o.weight_decay(),       o.amsgrad(),
            true};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions defaults, std::source_location loc)
    : Adam(detail::one_group(std::move(params)), std::move(defaults), loc) {}

Adam::Adam(std::vector<OptimizerParamGroup> groups, AdamOptions defaults, std::source_location loc)
    : Optimizer("Adam", std::make_unique<AdamOptions>(std::move(defaults))) {
    init(groups, loc);
}

void Adam::check_options(const OptimizerOptions& options, const std::string& where,
                         const std::source_location& loc) const {
    const auto* o = dynamic_cast<const AdamOptions*>(&options);
    if (!o) fail<TypeError>("Adam", "the options" + where + " are not AdamOptions", loc);
    detail::check_adam("Adam", config_of(*o), where, loc);
}

std::vector<std::string> Adam::buffer_names(const OptimizerOptions& options) const {
    return detail::adam_buffer_names(static_cast<const AdamOptions&>(options).amsgrad());
}

void Adam::update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                  ParamState& state, std::vector<Tensor>& outputs) {
    detail::adam_update(config_of(static_cast<const AdamOptions&>(options)), param, grad,
                        state.step, state.buffers, outputs);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions defaults, std::source_location loc)
    : AdamW(detail::one_group(std::move(params)), std::move(defaults), loc) {}

AdamW::AdamW(std::vector<OptimizerParamGroup> groups, AdamWOptions defaults,
             std::source_location loc)
    : Optimizer("AdamW", std::make_unique<AdamWOptions>(std::move(defaults))) {
    init(groups, loc);
}

void AdamW::check_options(const OptimizerOptions& options, const std::string& where,
                          const std::source_location& loc) const {
    const auto* o = dynamic_cast<const AdamWOptions*>(&options);
    if (!o) fail<TypeError>("AdamW", "the options" + where + " are not AdamWOptions", loc);
    detail::check_adam("AdamW", config_of(*o), where, loc);
}

std::vector<std::string> AdamW::buffer_names(const OptimizerOptions& options) const {
    return detail::adam_buffer_names(static_cast<const AdamWOptions&>(options).amsgrad());
}

void AdamW::update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                   ParamState& state, std::vector<Tensor>& outputs) {
    detail::adam_update(config_of(static_cast<const AdamWOptions&>(options)), param, grad,
                        state.step, state.buffers, outputs);
}

}  // namespace kiln::optim
