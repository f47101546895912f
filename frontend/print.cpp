// Printing a tensor the way PyTorch does: nested brackets, aligned columns, summarized with
// "..." past 1000 elements, then the shape and dtype.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>

#include "frontend/realize.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Printer {
    const ir::Shape& shape;
    std::vector<std::string> cells;  // formatted values, row-major
    std::vector<int64_t> strides;
    bool summarize;
    size_t width = 0;

    bool skipped(size_t dim, int64_t i) const {
        return summarize && shape[dim] > 2 * kEdgeItems && i >= kEdgeItems &&
               i < shape[dim] - kEdgeItems;
    }

    void print(std::string& out, size_t dim, int64_t offset, int indent) const {
        if (shape.empty()) {
            out += cells[0];
            return;
        }
        out += "[";
        bool last_dim = dim + 1 == shape.size();
        bool first = true;
        for (int64_t i = 0; i < shape[dim]; ++i) {
            if (skipped(dim, i)) {
                if (i == kEdgeItems) {
                    out += last_dim ? ", ..." : ",\n" + std::string(indent + 1, ' ') + "...";
                }
                continue;
            }
            if (!first) {
                out += ",";
                if (last_dim) out += " ";
                else out += std::string(shape.size() - dim - 1, '\n') + std::string(indent + 1, ' ');
            }
            first = false;
            int64_t at = offset + i * strides[dim];
            if (last_dim) {
                const std::string& c = cells[at];
                out += std::string(width - std::min(width, c.size()), ' ') + c;
            } else {
                print(out, dim + 1, at, indent + 1);
            }
        }
        out += "]";
    }
};

std::vector<double> values_of(const runtime::Buffer& b) {
    std::vector<double> v(b.numel());
    for (int64_t i = 0; i < b.numel(); ++i) {
        switch (b.dtype()) {
        case DType::Float32: v[i] = static_cast<const float*>(b.data())[i]; break;
        case DType::Float64: v[i] = static_cast<const double*>(b.data())[i]; break;
        case DType::Int32: v[i] = static_cast<const int32_t*>(b.data())[i]; break;
        case DType::Int64: v[i] = static_cast<double>(static_cast<const int64_t*>(b.data())[i]); break;
        case DType::Bool: v[i] = static_cast<const uint8_t*>(b.data())[i]; break;
        }
    }
    return v;
}

std::string format_cell(double v, DType t, bool scientific, const runtime::Buffer& b, int64_t i) {
    if (t == DType::Bool) return v != 0 ? "True" : "False";
    if (t == DType::Int64) return std::to_string(static_cast<const int64_t*>(b.data())[i]);
    if (t == DType::Int32) return std::to_string(static_cast<const int32_t*>(b.data())[i]);
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return scientific ? fmt::format("{:.4e}", v) : fmt::format("{:.4f}", v);
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
    if (!t.defined()) return os << "tensor(undefined)";
    ir::NodeRef value = detail::realized_node(*t.impl(), "print", std::source_location());
    auto buf = detail::host_buffer(*t.impl(), "print", std::source_location());
    const ir::Shape& shape = value->shape();
    std::vector<double> v = values_of(*buf);
    double max_abs = 0, min_abs = INFINITY;
    for (double x : v) {
        if (!std::isfinite(x) || x == 0) continue;
        max_abs = std::max(max_abs, std::abs(x));
        min_abs = std::min(min_abs, std::abs(x));
    }
    bool scientific = max_abs >= 1e5 || (min_abs < 1e-4 && max_abs > 0);
    Printer p{shape, {}, ir::contiguous_strides(shape), ir::numel(shape) > kSummarizeAbove};
    p.cells.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        p.cells.push_back(format_cell(v[i], buf->dtype(), scientific, *buf, static_cast<int64_t>(i)));
        p.width = std::max(p.width, p.cells.back().size());
    }
    std::string out = "tensor(";
    if (ir::numel(shape) == 0) out += "[]";
    else p.print(out, 0, 0, 7);
    out += ", shape=" + ir::shape_str(shape) + ", dtype=" + dtype_name(buf->dtype()) + ")";
    return os << out;
}

}  // namespace kiln
