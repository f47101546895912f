#pragma once
/// Autograd: gradients of recorded computations, as in LibTorch. Gradients are themselves lazy
/// tensors: backward() runs the autodiff pass over the recorded graph and gives each leaf a
/// gradient *expression*, so the forward, the backward and an update that reads the gradients
/// compile and run as one program when a value is next needed.
#include <optional>
#include <source_location>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

/// Whether ops record gradient-carrying results on this thread (true unless a NoGradGuard is
/// alive on it).
class GradMode {
public:
    static bool is_enabled();
    static void set_enabled(bool enabled);
};

/// RAII: while alive, nothing recorded on this thread is tracked for autograd (results do not
/// require grad, and in-place updates of leaves are allowed). Restores the previous mode.
class NoGradGuard {
public:
    NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
    ~NoGradGuard() { GradMode::set_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

namespace autograd {

/// The gradients of sum_i <outputs[i], grad_outputs[i]> with respect to `inputs` (tensors that
/// require grad, leaves or not), without touching any grad(). grad_outputs may be empty for
/// single-element outputs (ones are used). With create_graph the results require grad
/// themselves (for higher-order gradients); retain_graph defaults to create_graph. An input no
/// path reaches is an error unless allow_unused, which gives an undefined tensor for it.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {},
                         std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false, KILN_LOC);

}  // namespace autograd
}  // namespace kiln
