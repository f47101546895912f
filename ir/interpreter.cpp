#include "ir/interpreter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "ir/conv.h"
#include "ir/philox.h"
#include "ir/verify.h"
#include "kiln/error.h"

namespace kiln::ir {
namespace {

using Index = std::vector<int64_t>;

// ---- integer helpers: integer values live in doubles, arithmetic happens in 64-bit unsigned
// (two's complement wrap for free) and is narrowed to the node's width at the end.

/// The stored integer value of `v` (integral already); saturates where double lost range.
int64_t as_int(double v) {
    if (std::isnan(v)) return 0;
    if (v >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
    if (v <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(v);
}

/// Two's complement value `v` narrowed to `t`'s width (bool: != 0).
double wrap(uint64_t v, DType t) {
    switch (t) {
    case DType::Int32: return static_cast<int32_t>(static_cast<uint32_t>(v));
    case DType::Bool: return v != 0 ? 1.0 : 0.0;
    default: return static_cast<double>(static_cast<int64_t>(v));
    }
}

double int_min(DType t) {
    return t == DType::Int32 ? std::numeric_limits<int32_t>::min()
                             : static_cast<double>(std::numeric_limits<int64_t>::min());
}
double int_max(DType t) {
    return t == DType::Int32 ? std::numeric_limits<int32_t>::max()
                             : static_cast<double>(std::numeric_limits<int64_t>::max());
}

/// Calls fn(index) for every multi-index of `shape` in row-major order.
template <class F>
void for_each_index(const Shape& shape, F&& fn) {
    if (numel(shape) == 0) return;
    Index idx(shape.size(), 0);
    for (;;) {
        fn(idx);
        size_t d = shape.size();
        while (d > 0) {
            --d;
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
            if (d == 0) return;
        }
        if (shape.empty()) return;
    }
}

int64_t flat(const Index& idx, const std::vector<int64_t>& strides) {
    int64_t f = 0;
    for (size_t d = 0; d < idx.size(); ++d) f += idx[d] * strides[d];
    return f;
}

double cast_value(double x, DType from, DType to) {
    switch (to) {
    case DType::Float32: return static_cast<double>(static_cast<float>(x));
    case DType::Float64: return x;
    case DType::Bool: return x != 0 ? 1.0 : 0.0;  // NaN != 0, so NaN -> true
    default: break;
    }
    if (is_floating(from)) {
        // Truncate toward zero; out-of-range values are unspecified (here: 0 beyond int64).
        double t = std::trunc(x);
        if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) return 0;
        return wrap(static_cast<uint64_t>(static_cast<int64_t>(t)), to);
    }
    return wrap(static_cast<uint64_t>(as_int(x)), to);
}

double unary(Op op, DType in_t, DType out_t, double x) {
    bool fl = is_floating(out_t);
    switch (op) {
    case Op::Neg: return fl ? -x : wrap(0 - static_cast<uint64_t>(as_int(x)), out_t);
    case Op::Abs: {
        if (fl) return std::fabs(x);
        int64_t v = as_int(x);
        return wrap(v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v), out_t);
    }
    case Op::Exp: return std::exp(x);
    case Op::Log: return std::log(x);
    case Op::Sqrt: return std::sqrt(x);
    case Op::Sin: return std::sin(x);
    case Op::Cos: return std::cos(x);
    case Op::Tanh: return std::tanh(x);
    case Op::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Op::Erf: return std::erf(x);
    case Op::Reciprocal: return 1.0 / x;
    case Op::Not: return x != 0 ? 0.0 : 1.0;
    case Op::Cast: return cast_value(x, in_t, out_t);
    case Op::Detach:
    case Op::Leaf: return x;
    default: break;
    }
    KILN_CHECK(false, "interpret: not a unary op: " + std::string(op_name(op)));
    return 0;
}

/// a^b for integers, wrapping; negative exponents give trunc(1 / a^-b).
double int_pow(int64_t a, int64_t b, DType t) {
    if (b < 0) {
        if (a == 1) return 1;
        if (a == -1) return (b % 2 == 0) ? 1 : -1;
        return 0;
    }
    uint64_t result = 1, base = static_cast<uint64_t>(a);
    for (uint64_t e = static_cast<uint64_t>(b); e; e >>= 1) {
        if (e & 1) result *= base;
        base *= base;
    }
    return wrap(result, t);
}

double binary(Op op, DType in_t, double x, double y) {
    switch (op) {
    case Op::Eq: return x == y;
    case Op::Ne: return x != y;
    case Op::Lt: return x < y;
    case Op::Le: return x <= y;
    case Op::And: return (x != 0 && y != 0) ? 1.0 : 0.0;
    case Op::Or: return (x != 0 || y != 0) ? 1.0 : 0.0;
    default: break;
    }
    if (is_floating(in_t)) {
        switch (op) {
        case Op::Add: return x + y;
        case Op::Sub: return x - y;
        case Op::Mul: return x * y;
        case Op::Div: return x / y;
        case Op::Mod: return std::fmod(x, y);
        case Op::Max: return std::isnan(x) || std::isnan(y) ? std::nan("") : std::max(x, y);
        case Op::Min: return std::isnan(x) || std::isnan(y) ? std::nan("") : std::min(x, y);
        case Op::Pow: return std::pow(x, y);
        default: break;
        }
    } else {
        int64_t a = as_int(x), b = as_int(y);
        uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
        switch (op) {
        case Op::Add: return wrap(ua + ub, in_t);
        case Op::Sub: return wrap(ua - ub, in_t);
        case Op::Mul: return wrap(ua * ub, in_t);
        // By zero: 0 (no trap). By -1: negate with wrap (INT_MIN / -1 overflows in C).
        case Op::Div: return b == 0 ? 0 : b == -1 ? wrap(0 - ua, in_t) : wrap(a / b, in_t);
        case Op::Mod: return (b == 0 || b == -1) ? 0 : wrap(a % b, in_t);
        case Op::Max: return std::max(x, y);
        case Op::Min: return std::min(x, y);
        case Op::Pow: return int_pow(a, b, in_t);
        default: break;
        }
    }
    KILN_CHECK(false, "interpret: not a binary op: " + std::string(op_name(op)));
    return 0;
}

class Interpreter {
public:
    explicit Interpreter(const std::function<RefTensor(const Node&)>& input_value)
        : input_value_(input_value) {}

    std::vector<RefTensor> run(const std::vector<NodeRef>& roots) {
        for (const NodeRef& r : roots) KILN_CHECK(r != nullptr, "interpret: null root");
        std::vector<const Node*> order = topo_order(roots);
        // Count uses so intermediate values can be dropped once their last user has run.
        std::unordered_map<const Node*, size_t> uses;
        for (const Node* n : order)
            for (const NodeRef& in : n->inputs()) ++uses[in.get()];
        for (const NodeRef& r : roots) ++uses[r.get()];
        for (const Node* n : order) {
            RefTensor& v = values_[n] = eval(*n);
            // Each f32 node's value is what an f32 computation can hold: an overflow is inf, as
            // in a kernel, not a large double that a later op would bring back into range.
            if (n->dtype() == DType::Float32)
                for (double& x : v.values) x = static_cast<double>(static_cast<float>(x));
            for (const NodeRef& in : n->inputs())
                if (--uses[in.get()] == 0) values_.erase(in.get());
        }
        std::vector<RefTensor> out;
        out.reserve(roots.size());
        for (const NodeRef& r : roots) out.push_back(values_.at(r.get()));
        return out;
    }

private:
    const RefTensor& value(const Node& n, size_t i) const { return values_.at(n.input(i).get()); }

    RefTensor eval(const Node& n) {
        if (op_category(n.op()) == OpCategory::Loop)
            throw InternalError(fmt::format("interpret: loop-level op '{}' has no tensor meaning",
                                            op_name(n.op())));
        if (std::string msg = check_node(n); !msg.empty())
            throw InternalError("interpret: ill-formed node: " + msg);
        RefTensor out{n.dtype(), n.shape(), {}};
        size_t count = static_cast<size_t>(numel(n.shape()));
        switch (op_category(n.op())) {
        case OpCategory::Source: source(n, out); break;
        case OpCategory::Unary: {
            const RefTensor& x = value(n, 0);
            out.values.resize(count);
            for (size_t i = 0; i < count; ++i)
                out.values[i] = unary(n.op(), x.dtype, n.dtype(), x.values[i]);
            break;
        }
        case OpCategory::Binary: {
            const RefTensor& a = value(n, 0);
            const RefTensor& b = value(n, 1);
            out.values.resize(count);
            for (size_t i = 0; i < count; ++i)
                out.values[i] = binary(n.op(), a.dtype, a.values[i], b.values[i]);
            break;
        }
        case OpCategory::Ternary: {
            const RefTensor& c = value(n, 0);
            const RefTensor& a = value(n, 1);
            const RefTensor& b = value(n, 2);
            out.values.resize(count);
            for (size_t i = 0; i < count; ++i)
                out.values[i] = c.values[i] != 0 ? a.values[i] : b.values[i];
            break;
        }
        case OpCategory::Reduce: reduce(n, out); break;
        case OpCategory::Movement: movement(n, out); break;
        case OpCategory::Extern:
            if (n.op() == Op::Matmul) matmul(n, out);
            else if (n.op() == Op::Gather || n.op() == Op::ScatterAdd) indexing(n, out);
            else conv(n, out);
            break;
        case OpCategory::Loop: break;
        }
        KILN_CHECK(out.values.size() == count, "interpret: wrong result size");
        return out;
    }

    void source(const Node& n, RefTensor& out) {
        size_t count = static_cast<size_t>(numel(n.shape()));
        if (n.op() == Op::Input) {
            out = input_value_(n);
            KILN_CHECK(
                out.dtype == n.dtype() && out.shape == n.shape() && out.values.size() == count,
                fmt::format("interpret: value for input {} is {}{} with {} values, "
                            "expected {}{}",
                            n.attr_as<InputAttr>().id, dtype_name(out.dtype), shape_str(out.shape),
                            out.values.size(), dtype_name(n.dtype()), shape_str(n.shape())));
        } else if (n.op() == Op::Const) {
            out.values.assign(count, const_value(n));
        } else if (n.op() == Op::Random) {
            auto seed = static_cast<uint64_t>(as_int(value(n, 0).values[0]));
            auto offset = static_cast<uint64_t>(as_int(value(n, 1).values[0]));
            int64_t word = n.attr_as<RandomAttr>().word;
            out.values.resize(count);
            for (size_t e = 0; e < count; ++e)
                out.values[e] = philox_uniform(n.dtype(), seed, offset + e, word);
        } else {  // iota
            int64_t axis = n.attr_as<AxisAttr>().axis;
            out.values.reserve(count);
            for_each_index(n.shape(), [&](const Index& i) {
                out.values.push_back(static_cast<double>(i[axis]));
            });
        }
    }

    void reduce(const Node& n, RefTensor& out) {
        const RefTensor& x = value(n, 0);
        DType t = n.dtype();
        bool fl = is_floating(t);
        double init = 0;
        if (n.op() == Op::ReduceMax) init = fl ? -INFINITY : int_min(t);
        if (n.op() == Op::ReduceMin) init = fl ? INFINITY : int_max(t);
        size_t count = static_cast<size_t>(numel(n.shape()));
        out.values.assign(count, init);
        std::vector<uint64_t> int_sums(n.op() == Op::ReduceSum && !fl ? count : 0, 0);
        std::vector<int64_t> out_strides = contiguous_strides(n.shape());
        for (int64_t a : n.attr_as<AxesAttr>().axes) out_strides[a] = 0;  // reduced: size 1
        int64_t src = 0;
        for_each_index(x.shape, [&](const Index& i) {
            double v = x.values[src++];
            double& acc = out.values[flat(i, out_strides)];
            switch (n.op()) {
            case Op::ReduceSum:
                if (fl)
                    acc += v;
                else
                    int_sums[flat(i, out_strides)] += static_cast<uint64_t>(as_int(v));
                break;
            case Op::ReduceMax:
                if (std::isnan(v) || std::isnan(acc))
                    acc = NAN;
                else
                    acc = std::max(acc, v);
                break;
            default:
                if (std::isnan(v) || std::isnan(acc))
                    acc = NAN;
                else
                    acc = std::min(acc, v);
                break;
            }
        });
        for (size_t k = 0; k < int_sums.size(); ++k) out.values[k] = wrap(int_sums[k], t);
    }

    void movement(const Node& n, RefTensor& out) {
        const RefTensor& x = value(n, 0);
        if (n.op() == Op::Reshape) {
            out.values = x.values;  // row-major order is unchanged
            return;
        }
        const Shape& is = x.shape;
        std::vector<int64_t> in_strides = contiguous_strides(is);
        out.values.reserve(static_cast<size_t>(numel(n.shape())));
        Index src(is.size());
        for_each_index(n.shape(), [&](const Index& o) {
            bool valid = true;
            switch (n.op()) {
            case Op::Permute: {
                const std::vector<int64_t>& perm = n.attr_as<PermuteAttr>().perm;
                for (size_t d = 0; d < o.size(); ++d) src[perm[d]] = o[d];
                break;
            }
            case Op::Expand:
                for (size_t d = 0; d < o.size(); ++d) src[d] = is[d] == 1 ? 0 : o[d];
                break;
            case Op::Slice: {
                const SliceAttr& a = n.attr_as<SliceAttr>();
                for (size_t d = 0; d < o.size(); ++d) src[d] = a.start[d] + o[d] * a.step[d];
                break;
            }
            case Op::Window: {
                const WindowAttr& a = n.attr_as<WindowAttr>();
                auto ax = static_cast<size_t>(a.axis);
                for (size_t d = 0; d < src.size(); ++d) src[d] = o[d < ax ? d : d + 1];
                src[ax] = o[ax + 1] * a.stride + o[ax] * a.dilation;
                break;
            }
            case Op::Pad: {
                const PadAttr& a = n.attr_as<PadAttr>();
                for (size_t d = 0; d < o.size(); ++d) {
                    src[d] = o[d] - a.before[d];
                    if (src[d] < 0 || src[d] >= is[d]) valid = false;
                }
                break;
            }
            case Op::Flip: {
                src = o;
                for (int64_t d : n.attr_as<AxesAttr>().axes) src[d] = is[d] - 1 - o[d];
                break;
            }
            default: KILN_CHECK(false, "interpret: unknown movement op");
            }
            out.values.push_back(valid ? x.values[flat(src, in_strides)] : 0.0);
        });
    }

    void matmul(const Node& n, RefTensor& out) {
        const RefTensor& a = value(n, 0);
        const RefTensor& b = value(n, 1);
        size_t r = a.shape.size();
        int64_t m = a.shape[r - 2], k = a.shape[r - 1], cols = b.shape[r - 1];
        int64_t batch = numel(Shape(a.shape.begin(), a.shape.end() - 2));
        out.values.assign(static_cast<size_t>(batch * m * cols), 0.0);
        for (int64_t bi = 0; bi < batch; ++bi) {
            const double* pa = a.values.data() + bi * m * k;
            const double* pb = b.values.data() + bi * k * cols;
            double* po = out.values.data() + bi * m * cols;
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < cols; ++j) {
                    double s = 0;
                    for (int64_t p = 0; p < k; ++p) s += pa[i * k + p] * pb[p * cols + j];
                    po[i * cols + j] = s;
                }
        }
    }

    // gather reads row 0 for an out-of-range index and scatter_add skips it (the runtime
    // reports both).
    void indexing(const Node& n, RefTensor& out) {
        bool gather = n.op() == Op::Gather;
        const RefTensor& index = value(n, gather ? 1 : 0);
        const RefTensor& src = value(n, gather ? 0 : 1);
        int64_t axis = n.attr_as<IndexAttr>().axis;
        AxisSplit dense = split_at(gather ? src.shape : n.shape(), axis);
        int64_t rows = index.shape[static_cast<size_t>(axis)];
        out.values.assign(static_cast<size_t>(numel(n.shape())), 0.0);
        for (int64_t a = 0; a < dense.outer; ++a)
            for (int64_t k = 0; k < rows; ++k) {
                int64_t j = static_cast<int64_t>(index.values[static_cast<size_t>(a * rows + k)]);
                bool ok = j >= 0 && j < dense.size;
                if (!ok && (!gather || dense.size == 0)) continue;
                if (!ok) j = 0;
                for (int64_t b = 0; b < dense.inner; ++b) {
                    size_t r = static_cast<size_t>((a * rows + k) * dense.inner + b);
                    size_t d = static_cast<size_t>((a * dense.size + j) * dense.inner + b);
                    if (gather) out.values[r] = src.values[d];
                    else out.values[d] += src.values[r];
                }
            }
        if (!gather && !is_floating(n.dtype()))
            for (double& v : out.values) v = wrap(static_cast<uint64_t>(as_int(v)), n.dtype());
    }

    // Every product a convolution forms, as (x, weight, output) element numbers: conv2d sums
    // them into the output, its gradients into the input or the weight.
    template <class F>
    static void for_each_tap(const ConvGeometry& g, F f) {
        int64_t cg = g.group_channels(), og = g.group_outputs();
        for (int64_t b = 0; b < g.n; ++b)
            for (int64_t gr = 0; gr < g.groups; ++gr)
                for (int64_t oc = gr * og; oc < (gr + 1) * og; ++oc)
                    for (int64_t i = 0; i < g.ho; ++i)
                        for (int64_t j = 0; j < g.wo; ++j)
                            for (int64_t c = 0; c < cg; ++c)
                                for (int64_t ki = 0; ki < g.kh; ++ki)
                                    for (int64_t kj = 0; kj < g.kw; ++kj) {
                                        int64_t ih = i * g.sh - g.ph + ki * g.dh;
                                        int64_t iw = j * g.sw - g.pw + kj * g.dw;
                                        if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                                        int64_t xc = gr * cg + c;
                                        f(((b * g.c + xc) * g.h + ih) * g.w + iw,
                                          ((oc * cg + c) * g.kh + ki) * g.kw + kj,
                                          ((b * g.o + oc) * g.ho + i) * g.wo + j);
                                    }
    }

    void conv(const Node& n, RefTensor& out) {
        ConvGeometry g = conv_geometry(n);
        const std::vector<double>& a = value(n, 0).values;
        const std::vector<double>& b = value(n, 1).values;
        std::vector<double>& r = out.values;
        r.assign(static_cast<size_t>(numel(n.shape())), 0.0);
        auto at = [](int64_t i) { return static_cast<size_t>(i); };
        if (n.op() == Op::Conv2d)
            for_each_tap(g, [&](int64_t x, int64_t w, int64_t y) { r[at(y)] += a[at(x)] * b[at(w)]; });
        else if (n.op() == Op::Conv2dGradInput)
            for_each_tap(g, [&](int64_t x, int64_t w, int64_t y) { r[at(x)] += a[at(y)] * b[at(w)]; });
        else
            for_each_tap(g, [&](int64_t x, int64_t w, int64_t y) { r[at(w)] += a[at(x)] * b[at(y)]; });
    }

    const std::function<RefTensor(const Node&)>& input_value_;
    std::unordered_map<const Node*, RefTensor> values_;
};

}  // namespace

std::vector<RefTensor> interpret(const std::vector<NodeRef>& roots,
                                 const std::function<RefTensor(const Node& input)>& input_value) {
    return Interpreter(input_value).run(roots);
}

}  // namespace kiln::ir
