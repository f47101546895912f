// SGD, as torch.optim.SGD (its single-tensor path, operation for operation). The numbers that
// change between steps are 0-d inputs: the lr, and the momentum buffer's two coefficients,
// which are (0, 1) at a buffer's first step (the buffer starts as zeros, so it becomes the
// gradient, as PyTorch's clone) and (momentum, 1 - dampening) after. That makes the first step
// the same program as every later one.
#include "frontend/checks.h"
#include "frontend/optim/internal.h"

namespace kiln::optim {

using detail::num;
using detail::scalar_input;

SGD::SGD(std::vector<Tensor> params, SGDOptions defaults, std::source_location loc)
    : SGD(detail::one_group(std::move(params)), std::move(defaults), loc) {}

SGD::SGD(std::vector<OptimizerParamGroup> groups, SGDOptions defaults, std::source_location loc)
    : Optimizer("SGD", std::make_unique<SGDOptions>(std::move(defaults))) {
    init(groups, loc);
}

void SGD::check_options(const OptimizerOptions& options, const std::string& where,
                        const std::source_location& loc) const {
    const auto* o = dynamic_cast<const SGDOptions*>(&options);
    if (!o) fail<TypeError>("SGD", "the options" + where + " are not SGDOptions", loc);
    if (!(o->lr() >= 0))
        fail<ValueError>("SGD", "lr must be >= 0, got " + num(o->lr()) + where, loc);
    if (!(o->momentum() >= 0)) {
        fail<ValueError>("SGD", "momentum must be >= 0, got " + num(o->momentum()) + where, loc);
    }
    if (!(o->weight_decay() >= 0)) {
        fail<ValueError>("SGD", "weight_decay must be >= 0, got " + num(o->weight_decay()) + where,
                         loc);
    }
    if (o->nesterov() && (o->momentum() <= 0 || o->dampening() != 0)) {
        fail<ValueError>("SGD",
                         "nesterov momentum requires a momentum > 0 and zero dampening, "
                         "got momentum=" +
                             num(o->momentum()) + ", dampening=" + num(o->dampening()) + where,
                         loc);
    }
}

std::vector<std::string> SGD::buffer_names(const OptimizerOptions& options) const {
    if (static_cast<const SGDOptions&>(options).momentum() == 0) return {};
    return {"momentum_buffer"};
}

void SGD::update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                 ParamState& state, std::vector<Tensor>& outputs) {
    const auto& o = static_cast<const SGDOptions&>(options);
    DType dtype = param.dtype();
    Tensor d = grad;
    if (o.weight_decay() != 0) d = d + param * o.weight_decay();  // grad.add(param, alpha=wd)
    if (o.momentum() != 0) {
        Tensor& buf = state.buffers["momentum_buffer"];
        bool first = !buf.defined();
        if (first) buf = detail::zeros_input(param);
        // buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        buf.mul_(scalar_input(first ? 0.0 : o.momentum(), dtype));
        buf.add_(d * scalar_input(first ? 1.0 : 1 - o.dampening(), dtype));
        outputs.push_back(buf);
        d = o.nesterov() ? d + buf * o.momentum() : buf;  // grad.add(buf, alpha=momentum)
    }
    param.sub_(d * scalar_input(o.lr(), dtype));  // param.add_(grad, alpha=-lr)
    outputs.push_back(param);
}

}  // namespace kiln::optim
