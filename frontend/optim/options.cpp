// The optimizers' options as named numbers (what state_dict() saves per group), their copies,
// and parameter groups.
#include "kiln/optim.h"

namespace kiln::optim {
namespace {

/// Adam's and AdamW's options have the same names.
template <class Options>
std::vector<std::pair<std::string, double>> adam_values(const Options& o) {
    return {
        {"lr", o.lr()},   {"beta1", std::get<0>(o.betas())},  {"beta2", std::get<1>(o.betas())},
        {"eps", o.eps()}, {"weight_decay", o.weight_decay()}, {"amsgrad", o.amsgrad() ? 1.0 : 0.0},
    };
}

template <class Options>
bool set_adam_value(Options& o, const std::string& name, double value) {
    if (name == "lr")
        o.lr(value);
    else if (name == "beta1")
        std::get<0>(o.betas()) = value;
    else if (name == "beta2")
        std::get<1>(o.betas()) = value;
    else if (name == "eps")
        o.eps(value);
    else if (name == "weight_decay")
        o.weight_decay(value);
    else if (name == "amsgrad")
        o.amsgrad(value != 0);
    else
        return false;
    return true;
}

}  // namespace

std::unique_ptr<OptimizerOptions> SGDOptions::clone() const {
    return std::make_unique<SGDOptions>(*this);
}

std::vector<std::pair<std::string, double>> SGDOptions::hyperparameters() const {
    return {{"lr", lr_},
            {"momentum", momentum_},
            {"dampening", dampening_},
            {"weight_decay", weight_decay_},
            {"nesterov", nesterov_ ? 1.0 : 0.0}};
}

bool SGDOptions::set_hyperparameter(const std::string& name, double value) {
    if (name == "lr")
        lr_ = value;
    else if (name == "momentum")
        momentum_ = value;
    else if (name == "dampening")
        dampening_ = value;
    else if (name == "weight_decay")
        weight_decay_ = value;
    else if (name == "nesterov")
        nesterov_ = value != 0;
    else
        return false;
    return true;
}

std::unique_ptr<OptimizerOptions> AdamOptions::clone() const {
    return std::make_unique<AdamOptions>(*this);
}
std::vector<std::pair<std::string, double>> AdamOptions::hyperparameters() const {
    return adam_values(*this);
}
bool AdamOptions::set_hyperparameter(const std::string& name, double value) {
    return set_adam_value(*this, name, value);
}

std::unique_ptr<OptimizerOptions> AdamWOptions::clone() const {
    return std::make_unique<AdamWOptions>(*this);
}
std::vector<std::pair<std::string, double>> AdamWOptions::hyperparameters() const {
    return adam_values(*this);
}
bool AdamWOptions::set_hyperparameter(const std::string& name, double value) {
    return set_adam_value(*this, name, value);
}

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
    if (this != &other) {
        params_ = other.params_;
        options_ = other.options_ ? other.options_->clone() : nullptr;
    }
    return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
    if (!options_) throw ValueError("OptimizerParamGroup: the group has no options");
    return *options_;
}
const OptimizerOptions& OptimizerParamGroup::options() const {
    if (!options_) throw ValueError("OptimizerParamGroup: the group has no options");
    return *options_;
}

}  // namespace kiln::optim
