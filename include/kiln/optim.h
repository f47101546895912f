#pragma once
/// kiln::optim: optimizers (SGD, Adam, AdamW) and learning-rate schedulers (StepLR,
/// CosineAnnealingLR, LinearLR), with LibTorch's torch::optim API and PyTorch's update formulas.
///
/// An optimizer's step() records the update of every parameter that has a gradient (under
/// kiln::NoGradGuard, with in-place ops) and computes the new parameters and the optimizer
/// state with one kiln::realize. Together with the loss and the gradients still pending, which
/// the engine computes in the same program, a training step (forward, backward, update) is one
/// compiled program. Everything that changes from step to step (the learning rate, Adam's bias
/// corrections, AdamW's decay factor) enters that program as a 0-d input buffer, never as a
/// constant, so a loop whose schedule changes the learning rate every step compiles one program.
///
/// State dictionaries (state_dict / load_state_dict) use these keys, with parameters numbered
/// 0, 1, ... over the groups in order (group 0's parameters first):
///   "param_groups.<g>.params"   i64[n]: the parameter numbers of group g
///   "param_groups.<g>.<option>" f64[]: each of the group's options (OptimizerOptions::
///                               hyperparameters(), bools as 0 / 1)
///   "state.<i>.step"            f64[]: steps taken with parameter i (Adam, AdamW)
///   "state.<i>.<buffer>"        parameter i's buffers, shaped and typed like it:
///                               SGD "momentum_buffer" (with momentum); Adam and AdamW "exp_avg",
///                               "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq"
/// A parameter that has not been updated yet has no "state.<i>." entries.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <source_location>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln/arg.h"
#include "kiln/tensor.h"

namespace kiln::optim {

// ---- options

/// What every optimizer's options have (LibTorch's OptimizerOptions): a learning rate that
/// schedulers read and set, a copy, and the options as named numbers for state_dict().
class OptimizerOptions {
public:
    virtual ~OptimizerOptions() = default;
    /// A copy of the same dynamic type.
    virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
    virtual double get_lr() const = 0;
    virtual void set_lr(double lr) = 0;
    /// Every option as (name, value), in a fixed order, bools as 0 / 1: what state_dict() saves
    /// as "param_groups.<g>.<name>".
    virtual std::vector<std::pair<std::string, double>> hyperparameters() const = 0;
    /// Sets the option `name` (one of hyperparameters()'s names; a bool from value != 0).
    /// Returns false, changing nothing, when the options have no such name.
    virtual bool set_hyperparameter(const std::string& name, double value) = 0;
};

/// torch.optim.SGD's options. PyTorch's defaults: lr 1e-3, no momentum, dampening or decay.
class SGDOptions : public OptimizerOptions {
public:
    SGDOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as in LibTorch
    std::unique_ptr<OptimizerOptions> clone() const override;
    double get_lr() const override { return lr_; }
    void set_lr(double lr) override { lr_ = lr; }
    /// lr, momentum, dampening, weight_decay, nesterov.
    std::vector<std::pair<std::string, double>> hyperparameters() const override;
    bool set_hyperparameter(const std::string& name, double value) override;

    KILN_ARG(double, lr);
    KILN_ARG(double, momentum) = 0;
    KILN_ARG(double, dampening) = 0;
    KILN_ARG(double, weight_decay) = 0;
    KILN_ARG(bool, nesterov) = false;
};

/// torch.optim.Adam's options. PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
/// weight_decay 0 (an L2 penalty added to the gradient), amsgrad off.
class AdamOptions : public OptimizerOptions {
public:
    using betas_t = std::tuple<double, double>;
    AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as in LibTorch
    std::unique_ptr<OptimizerOptions> clone() const override;
    double get_lr() const override { return lr_; }
    void set_lr(double lr) override { lr_ = lr; }
    /// lr, beta1, beta2, eps, weight_decay, amsgrad.
    std::vector<std::pair<std::string, double>> hyperparameters() const override;
    bool set_hyperparameter(const std::string& name, double value) override;

    KILN_ARG(double, lr);
    KILN_ARG(betas_t, betas) = betas_t(0.9, 0.999);
    KILN_ARG(double, eps) = 1e-8;
    KILN_ARG(double, weight_decay) = 0;
    KILN_ARG(bool, amsgrad) = false;
};

/// torch.optim.AdamW's options: Adam's, except that weight_decay (default 1e-2) is decoupled:
/// the parameter shrinks by lr * weight_decay before the Adam update.
class AdamWOptions : public OptimizerOptions {
public:
    using betas_t = std::tuple<double, double>;
    AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as in LibTorch
    std::unique_ptr<OptimizerOptions> clone() const override;
    double get_lr() const override { return lr_; }
    void set_lr(double lr) override { lr_ = lr; }
    /// lr, beta1, beta2, eps, weight_decay, amsgrad.
    std::vector<std::pair<std::string, double>> hyperparameters() const override;
    bool set_hyperparameter(const std::string& name, double value) override;

    KILN_ARG(double, lr);
    KILN_ARG(betas_t, betas) = betas_t(0.9, 0.999);
    KILN_ARG(double, eps) = 1e-8;
    KILN_ARG(double, weight_decay) = 1e-2;
    KILN_ARG(bool, amsgrad) = false;
};

// ---- parameter groups

/// Parameters that share options (LibTorch's OptimizerParamGroup). A group made without
/// options gets a copy of the optimizer's defaults when it is added. Copies copy the options.
class OptimizerParamGroup {
public:
    OptimizerParamGroup(std::vector<Tensor> params)  // NOLINT: implicit, as in LibTorch
        : params_(std::move(params)) {}
    OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options)
        : params_(std::move(params)), options_(std::move(options)) {}
    OptimizerParamGroup(const OptimizerParamGroup& other);
    OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
    OptimizerParamGroup(OptimizerParamGroup&&) noexcept = default;
    OptimizerParamGroup& operator=(OptimizerParamGroup&&) noexcept = default;

    bool has_options() const { return options_ != nullptr; }
    /// The group's options; throws kiln::ValueError when it has none.
    OptimizerOptions& options();
    const OptimizerOptions& options() const;
    void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
    std::vector<Tensor>& params() { return params_; }
    const std::vector<Tensor>& params() const { return params_; }

private:
    std::vector<Tensor> params_;
    std::unique_ptr<OptimizerOptions> options_;
};

// ---- optimizers

/// The base of the optimizers (LibTorch's torch::optim::Optimizer): parameter groups, per
/// parameter state, zero_grad, step and state dictionaries. Not copyable (the state is keyed by
/// the parameters' identity).
class Optimizer {
public:
    /// Re-evaluates the loss (zero_grad, forward, backward) and returns it, for step(closure).
    using LossClosure = std::function<Tensor()>;

    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;
    virtual ~Optimizer();

    /// Updates every parameter that has a gradient (one without is skipped and its state left
    /// alone, as in PyTorch) and computes the new parameters and state now, as one program that
    /// also computes the pending loss and gradients. With a closure, it is called first (with
    /// gradients recorded) and its loss is returned, computed with the update; otherwise the
    /// result is undefined. `loc` names the call in errors of the computation (out of memory).
    Tensor step(const LossClosure& closure = nullptr, KILN_LOC);
    /// Drops every parameter's gradient (set_to_none, PyTorch's default: grad() becomes
    /// undefined) or sets it to zeros.
    void zero_grad(bool set_to_none = true);
    /// Adds a group; without options it takes a copy of defaults(). Its parameters must be
    /// defined leaves that no group holds yet; its options are checked as the constructor's.
    void add_param_group(const OptimizerParamGroup& group, KILN_LOC);

    /// The groups, in order. A group's options may be changed between steps (a scheduler sets
    /// their lr); a changed value takes effect at the next step().
    std::vector<OptimizerParamGroup>& param_groups() noexcept { return groups_; }
    const std::vector<OptimizerParamGroup>& param_groups() const noexcept { return groups_; }
    /// The options groups without their own get.
    OptimizerOptions& defaults() noexcept { return *defaults_; }
    const OptimizerOptions& defaults() const noexcept { return *defaults_; }
    /// Every parameter, group by group: parameter i of state_dict()'s keys is parameters()[i].
    std::vector<Tensor> parameters() const;
    /// The number of parameters over all groups.
    size_t size() const;

    /// The state, keyed as the header comment says. The tensors are snapshots: later steps do
    /// not change them.
    std::map<std::string, Tensor> state_dict() const;
    /// Restores a state_dict() of an optimizer of the same kind over parameters of the same
    /// shapes and grouping: the groups' options and every parameter's state (parameters without
    /// entries start afresh). Any mismatch (a missing or unexpected key, a tensor of another
    /// shape or dtype, options that are not valid) throws kiln::ValueError naming the key, and
    /// nothing is changed. The loaded tensors are copied (the map may be changed afterwards).
    void load_state_dict(const std::map<std::string, Tensor>& state_dict, KILN_LOC);

protected:
    /// One parameter's state: its step count (Adam's bias corrections) and named buffers.
    struct ParamState {
        int64_t step = 0;
        std::map<std::string, Tensor> buffers;
    };

    /// `name` (e.g. "SGD") prefixes error messages; `defaults` are the constructor's options.
    Optimizer(std::string name, std::unique_ptr<OptimizerOptions> defaults);
    /// Checks the defaults, then adds the groups (for the subclasses' constructors, once their
    /// virtual functions work).
    void init(const std::vector<OptimizerParamGroup>& groups, const std::source_location& loc);

    /// Throws kiln::ValueError (or TypeError for options of another optimizer) naming the
    /// optimizer and the bad value; `where` ends the message's "what" part (" in parameter
    /// group 1", or empty).
    virtual void check_options(const OptimizerOptions& options, const std::string& where,
                               const std::source_location& loc) const = 0;
    /// The buffer names a parameter's state has under `options`.
    virtual std::vector<std::string> buffer_names(const OptimizerOptions& options) const = 0;
    /// Whether the state has a step count ("state.<i>.step").
    virtual bool counts_steps() const = 0;
    /// Records the update of `param` from its gradient `grad` (grad mode is off) and appends
    /// what must be computed (the parameter, changed buffers) to `outputs`.
    virtual void update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                        ParamState& state, std::vector<Tensor>& outputs) = 0;

    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::unique_ptr<OptimizerOptions> defaults_;
    std::vector<OptimizerParamGroup> groups_;
    /// Keyed by the parameters' TensorImpl (in-place updates keep it; the groups keep it alive).
    std::unordered_map<const void*, ParamState> state_;
};

/// Stochastic gradient descent, as torch.optim.SGD: with weight decay w, momentum m, dampening
/// d and learning rate lr, per step
///   g = grad + w p;  b = g at the first step, else m b + (1 - d) g;
///   g = g + m b (nesterov) or b (momentum);  p = p - lr g.
/// lr, momentum and weight_decay must be >= 0; nesterov needs momentum > 0 and dampening 0.
class SGD : public Optimizer {
public:
    SGD(std::vector<Tensor> params, SGDOptions defaults, KILN_LOC);
    SGD(std::vector<OptimizerParamGroup> groups, SGDOptions defaults, KILN_LOC);

protected:
    void check_options(const OptimizerOptions& options, const std::string& where,
                       const std::source_location& loc) const override;
    std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
    bool counts_steps() const override { return false; }
    void update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                ParamState& state, std::vector<Tensor>& outputs) override;
};

/// Adam, as torch.optim.Adam: at step t, with betas (b1, b2),
///   g = grad + w p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
///   v_hat = max(v_hat, v) (amsgrad) or v;
///   p = p - lr / (1 - b1^t) * m / (sqrt(v_hat) / sqrt(1 - b2^t) + eps).
/// lr, eps and weight_decay must be >= 0, b1 and b2 in [0, 1).
class Adam : public Optimizer {
public:
    Adam(std::vector<Tensor> params, AdamOptions defaults = {}, KILN_LOC);
    Adam(std::vector<OptimizerParamGroup> groups, AdamOptions defaults = {}, KILN_LOC);

protected:
    void check_options(const OptimizerOptions& options, const std::string& where,
                       const std::source_location& loc) const override;
    std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
    bool counts_steps() const override { return true; }
    void update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                ParamState& state, std::vector<Tensor>& outputs) override;
};

/// AdamW, as torch.optim.AdamW: p = p (1 - lr w) first, then Adam's update without the L2 term.
class AdamW : public Optimizer {
public:
    AdamW(std::vector<Tensor> params, AdamWOptions defaults = {}, KILN_LOC);
    AdamW(std::vector<OptimizerParamGroup> groups, AdamWOptions defaults = {}, KILN_LOC);

protected:
    void check_options(const OptimizerOptions& options, const std::string& where,
                       const std::source_location& loc) const override;
    std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
    bool counts_steps() const override { return true; }
    void update(Tensor& param, const Tensor& grad, const OptimizerOptions& options,
                ParamState& state, std::vector<Tensor>& outputs) override;
};

// ---- learning-rate schedulers

/// The base of the schedulers: each sets every group's lr to a function of the group's base lr
/// (its lr when the scheduler was made) and the scheduler's step count t, in closed form
/// (PyTorch's formulas; an lr set by hand in between is overwritten). Construction is step 0
/// (as in PyTorch it sets the lr for t = 0); each step() advances t by one. A group added to
/// the optimizer later takes its lr at the next step() as its base.
class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;

    /// t = t + 1, and every group's lr set for it.
    void step();
    /// The lr of every group as last set.
    const std::vector<double>& get_last_lr() const { return last_lrs_; }
    /// The step count t (PyTorch's last_epoch).
    int64_t last_epoch() const { return t_; }
    /// The groups' base lrs.
    const std::vector<double>& base_lrs() const { return base_lrs_; }

protected:
    /// The lr at step t of a group whose base lr is `base`.
    virtual double lr_at(double base, int64_t t) const = 0;
    /// Sets the lrs for t = 0 (for the subclasses' constructors, once lr_at works).
    void start();

private:
    void apply();

    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    std::vector<double> last_lrs_;
    int64_t t_ = 0;
};

/// lr = base * gamma^floor(t / step_size), as torch.optim.lr_scheduler.StepLR.
class StepLR : public LRScheduler {
public:
    /// step_size must be positive.
    StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1, KILN_LOC);

protected:
    double lr_at(double base, int64_t t) const override;

private:
    int64_t step_size_;
    double gamma_;
};

/// lr = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2, as
/// torch.optim.lr_scheduler.CosineAnnealingLR (its closed form; past T_max the cosine goes on).
class CosineAnnealingLR : public LRScheduler {
public:
    /// T_max must be positive.
    CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0, KILN_LOC);

protected:
    double lr_at(double base, int64_t t) const override;

private:
    int64_t t_max_;
    double eta_min_;
};

/// A linear warm-up, as torch.optim.lr_scheduler.LinearLR:
/// lr = base * (start + (end - start) * min(t, total_iters) / total_iters).
class LinearLR : public LRScheduler {
public:
    /// start_factor must be in (0, 1], end_factor in [0, 1], total_iters positive.
    LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
             int64_t total_iters = 5, KILN_LOC);

protected:
    double lr_at(double base, int64_t t) const override;

private:
    double start_factor_;
    double end_factor_;
    int64_t total_iters_;
};

}  // namespace kiln::optim

