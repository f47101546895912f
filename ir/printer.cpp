#include "ir/printer.h"

#include <bit>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "kiln/error.h"

namespace kiln::ir {
namespace {

std::string ints(const std::vector<int64_t>& v) { return ints_str(v); }

/// " {key=value, ...}" for attributes with parameters, "" otherwise.
std::string attr_text(const Attr& attr) {
    return std::visit(
        [](const auto& a) -> std::string {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, AxisAttr>) return fmt::format(" {{axis={}}}", a.axis);
            if constexpr (std::is_same_v<T, AxesAttr>) return " {axes=" + ints(a.axes) + "}";
            if constexpr (std::is_same_v<T, PermuteAttr>) return " {perm=" + ints(a.perm) + "}";
            if constexpr (std::is_same_v<T, SliceAttr>)
                return " {start=" + ints(a.start) + ", step=" + ints(a.step) + "}";
            if constexpr (std::is_same_v<T, PadAttr>)
                return " {before=" + ints(a.before) + ", after=" + ints(a.after) + "}";
            if constexpr (std::is_same_v<T, VarAttr>)
                return fmt::format(" {{index={}, extent={}}}", a.index, a.extent);
            if constexpr (std::is_same_v<T, LoadAttr>)
                return fmt::format(" {{buffer={}}}", a.buffer);
            if constexpr (std::is_same_v<T, StageAttr>)
                return fmt::format(" {{stage={}}}", a.stage);
            if constexpr (std::is_same_v<T, LeafAttr>) return fmt::format(" {{id={}}}", a.id);
            if constexpr (std::is_same_v<T, WindowAttr>)
                return fmt::format(" {{axis={}, size={}, stride={}, dilation={}}}", a.axis, a.size,
                                   a.stride, a.dilation);
            if constexpr (std::is_same_v<T, RandomAttr>) return fmt::format(" {{word={}}}", a.word);
            if constexpr (std::is_same_v<T, IndexAttr>)
                return fmt::format(" {{axis={}, site={}}}", a.axis, a.site);
            if constexpr (std::is_same_v<T, ConvAttr>)
                return " {stride=" + ints(a.stride) + ", padding=" + ints(a.padding) +
                       ", dilation=" + ints(a.dilation) + fmt::format(", groups={}}}", a.groups);
            return "";  // NoAttr; input and const print their value after the op name instead
        },
        attr);
}

}  // namespace

std::string print_const_value(const Node& n) {
    const ConstAttr& c = n.attr_as<ConstAttr>();
    if (!is_floating(n.dtype())) return std::to_string(c.i);
    double v = c.f;
    if (std::isnan(v)) {
        // Keep the payload: NaN constants intern bitwise, so `nan` alone would not round-trip.
        uint64_t bits = std::bit_cast<uint64_t>(v);
        uint64_t quiet = std::bit_cast<uint64_t>(std::numeric_limits<double>::quiet_NaN());
        if (bits == quiet) return "nan";
        if (bits == (quiet | (uint64_t{1} << 63))) return "-nan";
        return fmt::format("nan(0x{:016x})", bits);
    }
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    // fmt's "{}" is the shortest text that reads back to the same value. f32 constants hold
    // float values (make_const rounds), so their float text is both shorter and exact.
    float f = static_cast<float>(v);
    if (n.dtype() == DType::Float32 && static_cast<double>(f) == v) return fmt::format("{}", f);
    return fmt::format("{}", v);
}

std::string print_graph(const std::vector<NodeRef>& roots) {
    for (const NodeRef& r : roots) KILN_CHECK(r != nullptr, "print_graph: null root");
    std::vector<const Node*> order = topo_order(roots);
    std::unordered_map<const Node*, size_t> number;
    number.reserve(order.size());
    std::string out;
    for (size_t k = 0; k < order.size(); ++k) {
        const Node& n = *order[k];
        number[&n] = k;
        out += fmt::format("%{} = {}", k, op_name(n.op()));
        if (n.op() == Op::Input && std::holds_alternative<InputAttr>(n.attr())) {
            out += fmt::format(" {}", n.attr_as<InputAttr>().id);
        } else if (n.op() == Op::Const && std::holds_alternative<ConstAttr>(n.attr())) {
            out += fmt::format(" {}", print_const_value(n));
        }
        for (size_t i = 0; i < n.inputs().size(); ++i)
            out += fmt::format("{}%{}", i ? ", " : " ", number.at(n.input(i).get()));
        out += attr_text(n.attr());
        out += fmt::format(" : {}{}\n", dtype_name(n.dtype()), shape_str(n.shape()));
    }
    out += "return";
    for (size_t i = 0; i < roots.size(); ++i)
        out += fmt::format("{}%{}", i ? ", " : " ", number.at(roots[i].get()));
    out += "\n";
    return out;
}

}  // namespace kiln::ir
