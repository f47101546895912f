// The optimizer base: parameter groups, zero_grad and the step driver. A step records every
// parameter's update with grad mode off, then computes all new parameters and state with one
// realize: the engine adds the pending loss and gradients that share the graph as extra
// outputs, so forward, backward and update run as one program, compiled once for the loop.
#include <unordered_map>

#include "frontend/checks.h"
#include "kiln/autograd.h"
#include "kiln/optim.h"

namespace kiln::optim {
namespace {

/// Records gradients while alive (for step's closure), restoring the previous mode.
class EnableGradGuard {
public:
    EnableGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
    ~EnableGradGuard() { GradMode::set_enabled(previous_); }
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool previous_;
};

std::string group_str(size_t g) { return "parameter group " + std::to_string(g); }

}  // namespace

Optimizer::Optimizer(std::string name, std::unique_ptr<OptimizerOptions> defaults)
    : name_(std::move(name)), defaults_(std::move(defaults)) {}

Optimizer::~Optimizer() = default;

void Optimizer::init(const std::vector<OptimizerParamGroup>& groups,
                     const std::source_location& loc) {
    check_options(*defaults_, "", loc);
    // PyTorch refuses an empty list (a model without parameters is most likely a mistake);
    // empty groups inside a list are fine.
    if (groups.empty()) fail<ValueError>(name_, "got an empty parameter list", loc);
    for (const OptimizerParamGroup& g : groups) add_param_group(g, loc);
}

void Optimizer::add_param_group(const OptimizerParamGroup& group, std::source_location loc) {
    size_t index = groups_.size();
    OptimizerParamGroup added(group.params(),
                              group.has_options() ? group.options().clone() : defaults_->clone());
    if (group.has_options()) check_options(added.options(), " in " + group_str(index), loc);
    // Where every parameter already is: the state is keyed by the parameter, so one tensor in
    // two places would be updated twice with one state.
    std::unordered_map<const void*, std::pair<size_t, size_t>> where;
    for (size_t g = 0; g < groups_.size(); ++g)
        for (size_t i = 0; i < groups_[g].params().size(); ++i)
            where.emplace(groups_[g].params()[i].impl().get(), std::make_pair(g, i));
    for (size_t i = 0; i < added.params().size(); ++i) {
        const Tensor& p = added.params()[i];
        std::string which = "parameter " + std::to_string(i) + " of " + group_str(index);
        if (!p.defined()) fail<ValueError>(name_, which + " is an undefined tensor", loc);
        if (!p.is_leaf()) {
            fail<ValueError>(name_,
                             which + " is not a leaf (it is computed from tensors that "
                                     "require grad); optimizers update leaves",
                             loc);
        }
        auto [it, fresh] = where.emplace(p.impl().get(), std::make_pair(index, i));
        if (!fresh) {
            fail<ValueError>(name_,
                             which + " is also parameter " + std::to_string(it->second.second) +
                                 " of " + group_str(it->second.first) +
                                 " (a parameter may appear only once)",
                             loc);
        }
    }
    groups_.push_back(std::move(added));
}

Tensor Optimizer::step(const LossClosure& closure, std::source_location loc) {
    Tensor loss;
    if (closure) {
        EnableGradGuard grad_mode;
        loss = closure();
    }
    std::vector<Tensor> outputs;
    {
        NoGradGuard no_grad;
        for (OptimizerParamGroup& group : groups_) {
            for (Tensor& p : group.params()) {
                // PyTorch skips a parameter without a gradient: no update, no state change.
                Tensor grad = p.grad();
                if (!grad.defined()) continue;
                update(p, grad, group.options(), state_[p.impl().get()], outputs);
            }
        }
    }
    // Temporaries of the updates are gone by now, so only what the optimizer and the user hold
    // becomes an output of the program.
    if (loss.defined()) outputs.push_back(loss);
    if (!outputs.empty()) kiln::realize(outputs, loc);
    return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
    NoGradGuard no_grad;
    for (OptimizerParamGroup& group : groups_) {
        for (Tensor& p : group.params()) {
            if (!p.grad().defined()) continue;
            if (set_to_none)
                p.mutable_grad() = Tensor();
            else
                p.mutable_grad().zero_();  // in place: holders of grad() see the zeros too
        }
    }
}

std::vector<Tensor> Optimizer::parameters() const {
    std::vector<Tensor> all;
    for (const OptimizerParamGroup& g : groups_)
        all.insert(all.end(), g.params().begin(), g.params().end());
    return all;
}

size_t Optimizer::size() const {
    size_t n = 0;
    for (const OptimizerParamGroup& g : groups_) n += g.params().size();
    return n;
}

}  // namespace kiln::optim
