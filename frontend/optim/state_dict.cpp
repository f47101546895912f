// Saving and restoring an optimizer's state. load_state_dict checks everything (keys, shapes,
// dtypes, option values) into new option objects and a new state map before it changes
// anything, so a failed load leaves the optimizer as it was. The loaded tensors are computed
// first and their values kept (not the user's handles), so the next step reads them as inputs,
// as it reads state it made itself: the resumed loop runs the same cached program.
#include <cmath>
#include <set>

#include "frontend/checks.h"
#include "frontend/optim/internal.h"
#include "frontend/tensor_impl.h"
#include "ir/shape.h"

namespace kiln::optim {
namespace {

std::string quoted(const std::string& key) { return "\"" + key + "\""; }

std::string type_str(DType dtype, const std::vector<int64_t>& shape) {
    return std::string(dtype_name(dtype)) + ir::shape_str(shape);
}

}  // namespace

std::map<std::string, Tensor> Optimizer::state_dict() const {
    std::map<std::string, Tensor> out;
    int64_t index = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        std::vector<int64_t> numbers;
        for (const Tensor& p : groups_[g].params()) {
            auto it = state_.find(p.impl().get());
            if (it != state_.end()) {
                std::string prefix = "state." + std::to_string(index) + ".";
                if (counts_steps()) {
                    out[prefix + "step"] =
                        detail::scalar_input(static_cast<double>(it->second.step), kFloat64);
                }
                for (const auto& [name, buffer] : it->second.buffers)
                    if (buffer.defined()) out[prefix + name] = detail::snapshot(buffer);
            }
            numbers.push_back(index++);
        }
        std::string prefix = "param_groups." + std::to_string(g) + ".";
        out[prefix + "params"] =
            kiln::tensor(numbers, {static_cast<int64_t>(numbers.size())}, kInt64);
        for (const auto& [name, value] : groups_[g].options().hyperparameters())
            out[prefix + name] = detail::scalar_input(value, kFloat64);
    }
    return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& dict,
                                std::source_location loc) {
    const std::string op = name_ + "::load_state_dict";
    std::set<std::string> used;
    auto get = [&](const std::string& key, DType dtype,
                   const std::vector<int64_t>& shape) -> const Tensor& {
        auto it = dict.find(key);
        if (it == dict.end()) fail<ValueError>(op, "missing key " + quoted(key), loc);
        const Tensor& t = it->second;
        if (!t.defined()) fail<ValueError>(op, quoted(key) + " is an undefined tensor", loc);
        if (t.dtype() != dtype || t.sizes() != shape) {
            fail<ValueError>(op,
                             quoted(key) + " is " + type_str(t.dtype(), t.sizes()) +
                                 " but the optimizer expects " + type_str(dtype, shape),
                             loc);
        }
        used.insert(key);
        return t;
    };

    // The groups: parameter numbers and options, checked as the constructor checks options.
    std::vector<Tensor> group_values;
    std::vector<std::vector<int64_t>> numbers(groups_.size());
    int64_t next = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        std::string prefix = "param_groups." + std::to_string(g) + ".";
        for (size_t i = 0; i < groups_[g].params().size(); ++i) numbers[g].push_back(next++);
        group_values.push_back(
            get(prefix + "params", kInt64, {static_cast<int64_t>(numbers[g].size())}));
        for (const auto& [name, value] : groups_[g].options().hyperparameters())
            group_values.push_back(get(prefix + name, kFloat64, {}));
    }
    kiln::realize(group_values, loc);
    std::vector<std::unique_ptr<OptimizerOptions>> options;
    size_t read = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        std::string prefix = "param_groups." + std::to_string(g) + ".";
        std::vector<int64_t> saved = group_values[read++].to_vector<int64_t>(loc);
        if (saved != numbers[g]) {
            fail<ValueError>(op,
                             quoted(prefix + "params") + " holds parameters " +
                                 ir::ints_str(saved) + " but parameter group " + std::to_string(g) +
                                 " of the optimizer holds " + ir::ints_str(numbers[g]),
                             loc);
        }
        options.push_back(groups_[g].options().clone());
        for (const auto& [name, value] : groups_[g].options().hyperparameters())
            options.back()->set_hyperparameter(name, group_values[read++].item<double>(loc));
        check_options(*options.back(),
                      " in " + quoted("param_groups." + std::to_string(g)) + " of the state dict",
                      loc);
    }

    // Every parameter's state: all the keys its group's (loaded) options need, or none.
    std::unordered_map<const void*, ParamState> state;
    std::vector<std::pair<Tensor*, const Tensor*>> buffers;  // state buffer <- loaded tensor
    std::vector<std::pair<int64_t*, const Tensor*>> steps;
    std::vector<std::string> step_keys;
    int64_t index = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (const Tensor& p : groups_[g].params()) {
            std::string prefix = "state." + std::to_string(index++) + ".";
            auto first = dict.lower_bound(prefix);
            if (first == dict.end() || first->first.compare(0, prefix.size(), prefix) != 0)
                continue;  // no state: the parameter starts afresh
            ParamState& s = state[p.impl().get()];
            if (counts_steps()) {
                steps.push_back({&s.step, &get(prefix + "step", kFloat64, {})});
                step_keys.push_back(prefix + "step");
            }
            for (const std::string& name : buffer_names(*options[g]))
                buffers.push_back({&s.buffers[name], &get(prefix + name, p.dtype(), p.sizes())});
        }
    }
    for (const auto& entry : dict) {
        if (!used.count(entry.first))
            fail<ValueError>(op, "unexpected key " + quoted(entry.first), loc);
    }

    std::vector<Tensor> values;
    for (const auto& [to, from] : buffers) values.push_back(*from);
    for (const auto& [to, from] : steps) values.push_back(*from);
    kiln::realize(values, loc);
    for (size_t i = 0; i < steps.size(); ++i) {
        double v = steps[i].second->item<double>(loc);
        if (!(v >= 0 && v == std::floor(v) && v < 9007199254740992.0)) {
            std::string what = " must hold a whole number of steps >= 0, got " + detail::num(v);
            fail<ValueError>(op, quoted(step_keys[i]) + what, loc);
        }
        *steps[i].first = static_cast<int64_t>(v);
    }
    for (const auto& [to, from] : buffers) *to = detail::snapshot(*from);

    // Everything checked: commit.
    for (size_t g = 0; g < groups_.size(); ++g) groups_[g].set_options(std::move(options[g]));
    state_ = std::move(state);
}

}  // namespace kiln::optim
