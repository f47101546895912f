// Learning-rate schedulers. Each lr is computed in closed form from the group's base lr and
// the step count (PyTorch's _get_closed_form_lr), so the sequence does not drift through
// repeated multiplications. The optimizer reads a group's lr at every step into a 0-d input,
// so a schedule never changes the step's compiled program.
#include <cmath>
#include <numbers>

#include "frontend/checks.h"
#include "frontend/optim/internal.h"

namespace kiln::optim {

using detail::num;

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {}

void LRScheduler::start() {
    t_ = 0;
    apply();
}

void LRScheduler::step() {
    ++t_;
    apply();
}

void LRScheduler::apply() {
    std::vector<OptimizerParamGroup>& groups = optimizer_.param_groups();
    // A group added since takes its current lr as its base (PyTorch's initial_lr).
    for (size_t g = base_lrs_.size(); g < groups.size(); ++g)
        base_lrs_.push_back(groups[g].options().get_lr());
    last_lrs_.clear();
    for (size_t g = 0; g < groups.size(); ++g) {
        double lr = lr_at(base_lrs_[g], t_);
        groups[g].options().set_lr(lr);
        last_lrs_.push_back(lr);
    }
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma, std::source_location loc)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size <= 0) {
        fail<ValueError>("StepLR", "step_size must be positive, got " + std::to_string(step_size),
                         loc);
    }
    start();
}

double StepLR::lr_at(double base, int64_t t) const {
    return base * std::pow(gamma_, static_cast<double>(t / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min,
                                     std::source_location loc)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
    if (T_max <= 0) {
        fail<ValueError>("CosineAnnealingLR",
                         "T_max must be positive, got " + std::to_string(T_max), loc);
    }
    start();
}

double CosineAnnealingLR::lr_at(double base, int64_t t) const {
    double angle = std::numbers::pi * static_cast<double>(t) / static_cast<double>(t_max_);
    return eta_min_ + (base - eta_min_) * (1 + std::cos(angle)) / 2;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor,
                   int64_t total_iters, std::source_location loc)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor),
      total_iters_(total_iters) {
    if (!(start_factor > 0 && start_factor <= 1)) {
        fail<ValueError>("LinearLR", "start_factor must be in (0, 1], got " + num(start_factor),
                         loc);
    }
    if (!(end_factor >= 0 && end_factor <= 1)) {
        fail<ValueError>("LinearLR", "end_factor must be in [0, 1], got " + num(end_factor), loc);
    }
    if (total_iters <= 0) {
        fail<ValueError>("LinearLR",
                         "total_iters must be positive, got " + std::to_string(total_iters), loc);
    }
    start();
}

double LinearLR::lr_at(double base, int64_t t) const {
    double done = static_cast<double>(std::min(t, total_iters_));
    return base * (start_factor_ +
                   (end_factor_ - start_factor_) * done / static_cast<double>(total_iters_));
}

}  // namespace kiln::optim
