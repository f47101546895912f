#pragma once
/// The tests/autograd harness: gradients from backward graphs against central finite
/// differences of the forward, in float64, on fresh random inputs.
#include <functional>
#include <string>
#include <vector>

#include "ops/check.h"

namespace kiln::test {

/// A function of tensors that require grad; returns any-shaped float64 output.
using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradTol {
    double eps = 1e-6;   ///< finite-difference step
    double atol = 1e-5;  ///< |analytic - numeric| <= atol + rtol * |numeric|
    double rtol = 1e-4;
};

/// Checks the gradient of <f(inputs), v> (v a fixed random cotangent) with respect to every
/// input against central differences, element by element. The analytic gradient is also
/// checked against the reference interpreter evaluating the same gradient graph. `inputs` are
/// float64 values (made into fresh leaves here). Records Catch2 failures naming `what`.
void gradcheck(const std::string& what, const GradFn& f, const std::vector<Tensor>& inputs,
               GradTol tol = {});

/// Second order: gradcheck of x -> <grad_x <f(x), v>, w> for random v, w, with the inner
/// gradient built by autograd::grad(create_graph = true).
void gradgradcheck(const std::string& what, const GradFn& f, const std::vector<Tensor>& inputs,
                   GradTol tol = {1e-5, 1e-4, 1e-3});

}  // namespace kiln::test
