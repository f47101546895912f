#include "frontend/checks.h"

#include <algorithm>

namespace kiln {

std::string describe(const ir::Node& n) {
    return std::string(dtype_name(n.dtype())) + ir::shape_str(n.shape());
}

int64_t wrap_dim(const std::string& op, int64_t dim, const ir::Shape& shape,
                 const std::source_location& loc) {
    int64_t rank = static_cast<int64_t>(shape.size());
    if (dim < -rank || dim >= rank || rank == 0) {
        fail<ShapeError>(op,
                         "dim " + std::to_string(dim) + " is out of range for shape " +
                             ir::shape_str(shape) + " (rank " + std::to_string(rank) + ")",
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
        int64_t w = wrap_dim(op, d, shape, loc);
        if (std::find(out.begin(), out.end(), w) != out.end()) {
            fail<ShapeError>(op, "dim " + std::to_string(d) + " appears more than once in " +
                                     ir::ints_str(dims), loc);
        }
        out.push_back(w);
    }
    std::sort(out.begin(), out.end());
    return out;
}

void require_floating(const std::string& op, const ir::Node& n, const std::source_location& loc) {
    if (!is_floating(n.dtype())) {
        fail<TypeError>(op, "expected a floating tensor, got " + describe(n), loc);
    }
}

}  // namespace kiln
