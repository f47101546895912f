#include "frontend/checks.h"

#include <algorithm>

#include <fmt/format.h>

#include "frontend/tensor_impl.h"
#include "runtime/cuda/driver.h"

namespace kiln {

void check_shape(const std::string& op, const ir::Shape& shape, DType dtype,
                 const std::source_location& loc) {
    for (int64_t d : shape) {
        if (d < 0) {
            fail<ValueError>(
                op, "negative size " + std::to_string(d) + " in shape " + ir::ints_str(shape), loc);
        }
    }
    std::string problem = ir::shape_problem(shape, dtype);
    if (!problem.empty()) fail<ShapeError>(op, problem, loc);
}

std::string scalar_str(const Scalar& s) {
    return s.is_floating() ? fmt::format("{}", s.to_double()) : std::to_string(s.to_int());
}

std::string describe(const ir::Node& n) {
    return std::string(dtype_name(n.dtype())) + ir::shape_str(n.shape());
}

int64_t wrap_dim(const std::string& op, int64_t dim, const ir::Shape& shape,
                 const std::source_location& loc, bool scalar_ok) {
    // Reductions of a rank-0 tensor accept dim 0 and -1, as one element (as PyTorch does).
    int64_t rank = static_cast<int64_t>(shape.size());
    if (rank == 0 && scalar_ok) rank = 1;
    if (dim < -rank || dim >= rank) {
        fail<ShapeError>(op,
                         "dim " + std::to_string(dim) + " is out of range for shape " +
                             ir::shape_str(shape) + " (rank " + std::to_string(shape.size()) + ")",
                         loc);
    }
    return dim < 0 ? dim + rank : dim;
}

std::vector<int64_t> normalize_dims(const std::string& op, const std::vector<int64_t>& dims,
                                    const ir::Shape& shape, const std::source_location& loc) {
    std::vector<int64_t> out;
    if (dims.empty()) {
        for (size_t i = 0; i < shape.size(); ++i) out.push_back(static_cast<int64_t>(i));
        return out;
    }
    for (int64_t d : dims) {
        int64_t w = wrap_dim(op, d, shape, loc, true);
        if (shape.empty()) continue;  // dim 0 of a scalar: nothing to reduce
        if (std::find(out.begin(), out.end(), w) != out.end()) {
            fail<ShapeError>(op, "dim " + std::to_string(d) + " appears more than once in " +
                                     ir::ints_str(dims), loc);
        }
        out.push_back(w);
    }
    std::sort(out.begin(), out.end());
    return out;
}

DType result_type(const ir::Node& a, const ir::Node& b) {
    // c10's combine_categories: the dimensioned tensor's dtype wins unless the rank-0 one is of
    // a higher category (bool < int < float); then the two promote.
    auto combine = [](DType dim, DType zero) {
        if (is_floating(dim)) return dim;
        if (dim == DType::Bool || is_floating(zero)) return promote_types(dim, zero);
        return dim;
    };
    if (a.rank() > 0 && b.rank() == 0) return combine(a.dtype(), b.dtype());
    if (b.rank() > 0 && a.rank() == 0) return combine(b.dtype(), a.dtype());
    return promote_types(a.dtype(), b.dtype());
}

void require_floating(const std::string& op, const ir::Node& n, const std::source_location& loc) {
    if (!is_floating(n.dtype())) {
        fail<TypeError>(op, "expected a floating tensor, got " + describe(n), loc);
    }
}

void check_device(const std::string& op, Device device, const std::source_location& loc) {
    if (device.is_cpu()) return;
    std::string why = runtime::cuda_unavailable_reason(device.index);
    if (why.empty()) return;
    fail<Error>(op, "device " + device.str() + " is not available: " + why, loc);
}

Device common_device(const std::string& op, std::initializer_list<const Tensor*> tensors,
                     const std::source_location& loc) {
    const Tensor* first = nullptr;
    for (const Tensor* t : tensors) {
        // A 0-d CPU tensor goes with tensors of any device, as in PyTorch (it is a number:
        // optimizers pass their hyperparameters that way). The program copies it over.
        if (!t->defined() || (t->device().is_cpu() && t->impl()->node()->rank() == 0)) continue;
        if (!first) {
            first = t;
        } else if (t->device() != first->device()) {
            auto desc = [](const Tensor& x) {
                return describe(*x.impl()->node()) + " on " + x.device().str();
            };
            fail<Error>(op,
                        "expected all tensors on the same device, got " +
                            first->device().str() + " and " + t->device().str() + " (" +
                            desc(*first) + ", " + desc(*t) + ")",
                        loc);
        }
    }
    if (first) return first->device();
    for (const Tensor* t : tensors)
        if (t->defined()) return t->device();
    return Device();
}

}  // namespace kiln
