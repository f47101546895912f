#include "ir/shape.h"

namespace kiln::ir {

std::string shape_problem(const Shape& shape, DType dtype) {
    if (shape.size() > kMaxRank) {
        return "rank " + std::to_string(shape.size()) + " is more than Kiln's limit of " +
               std::to_string(kMaxRank) + " dimensions";
    }
    for (int64_t d : shape)
        if (d < 0) return "negative size " + std::to_string(d) + " in shape " + shape_str(shape);
    int64_t n = 1;
    bool overflow = false;
    for (int64_t d : shape) {
        if (d == 0) return "";
        overflow = overflow || __builtin_mul_overflow(n, d, &n);
    }
    if (overflow) {
        return "shape " + shape_str(shape) + " has more than " + std::to_string(INT64_MAX) +
               " elements";
    }
    int64_t bytes = 0;
    if (__builtin_mul_overflow(n, static_cast<int64_t>(dtype_size(dtype)), &bytes)) {
        return "shape " + shape_str(shape) + " has " + std::to_string(n) + " elements of " +
               dtype_name(dtype) + ": more than " + std::to_string(INT64_MAX) + " bytes";
    }
    return "";
}

int64_t numel(const Shape& shape) {
    // Shapes are checked (shape_problem) where they are made, so the product fits; a zero dim
    // makes it 0 whatever the others are, and those are not multiplied (they may overflow).
    for (int64_t d : shape)
        if (d == 0) return 0;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
    std::vector<int64_t> strides(shape.size());
    // Unsigned: an empty shape may have dims whose product overflows (its strides are never
    // used to address memory); for every other shape the product fits.
    uint64_t s = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = static_cast<int64_t>(s);
        s *= static_cast<uint64_t>(shape[i]);
    }
    return strides;
}

std::string ints_str(const std::vector<int64_t>& values) {
    std::string s = "[";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(values[i]);
    }
    return s + "]";
}

std::string shape_str(const Shape& shape) { return ints_str(shape); }

AxisSplit split_at(const Shape& shape, int64_t axis) {
    AxisSplit s;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
        if (d < axis) s.outer *= shape[d];
        else if (d == axis) s.size = shape[d];
        else s.inner *= shape[d];
    }
    return s;
}

}  // namespace kiln::ir
