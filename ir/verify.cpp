#include "ir/verify.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "ir/conv.h"
#include "kiln/error.h"

namespace kiln::ir {
namespace {

// Names of the Attr alternatives, in variant order, as messages spell them.
constexpr const char* kAttrKindNames[] = {"none",  "input", "const", "axis",   "axes", "perm",
                                          "slice", "pad",   "index", "buffer", "stage", "leaf", "gather", "word", "window",
                                          "conv"};
static_assert(std::size(kAttrKindNames) == std::variant_size_v<Attr>);

std::string shp(const Shape& s) { return shape_str(s); }
std::string dt(DType t) { return dtype_name(t); }
bool is_numeric(DType t) { return t != DType::Bool; }

/// Builds check messages: every message starts with the op's name.
struct Checker {
    const Node& n;
    std::string name = std::string(op_name(n.op()));

    std::string err(const std::string& what) const { return name + ": " + what; }

    const Node& in(size_t i) const { return *n.input(i); }

    // Axes sorted ascending, unique and in [0, rank).
    std::string check_axes(const std::vector<int64_t>& axes, int64_t rank) const {
        for (size_t i = 0; i < axes.size(); ++i) {
            if (axes[i] < 0 || axes[i] >= rank)
                return err(fmt::format("axis {} out of range for input rank {}", axes[i], rank));
            if (i > 0 && axes[i] <= axes[i - 1])
                return err(fmt::format("axes {} must be sorted and unique", ints_str(axes)));
        }
        return "";
    }

    std::string same_dtype_as_input() const {
        if (n.dtype() != in(0).dtype())
            return err(fmt::format("result dtype {} differs from input dtype {}", dt(n.dtype()),
                                   dt(in(0).dtype())));
        return "";
    }

    std::string source() const {
        switch (n.op()) {
        case Op::Const: return constant();
        case Op::Iota: {
            int64_t axis = n.attr_as<AxisAttr>().axis;
            if (axis < 0 || axis >= n.rank())
                return err(fmt::format("axis {} out of range for shape {}", axis, shp(n.shape())));
            if (!is_numeric(n.dtype())) return err("dtype bool is not numeric");
            return "";
        }
        case Op::Random: return random();
        default: return "";  // input: any dtype and shape
        }
    }

    // random and philox: float result, i64 seed and offset/counter, a word that fits.
    std::string random() const {
        if (!is_floating(n.dtype()))
            return err(fmt::format("needs a float dtype, got {}", dt(n.dtype())));
        for (size_t i = 0; i < 2; ++i)
            if (in(i).dtype() != DType::Int64 || !in(i).shape().empty())
                return err(fmt::format("input {} must be i64[], got {}{}", i, dt(in(i).dtype()),
                                       shp(in(i).shape())));
        int64_t word = n.attr_as<RandomAttr>().word;
        int64_t last = n.dtype() == DType::Float32 ? 3 : 2;
        if (word < 0 || word > last)
            return err(fmt::format("word {} out of range [0, {}] for {}", word, last,
                                   dt(n.dtype())));
        return "";
    }

    // The printer and parser round-trip constants exactly only when the unused field is zero
    // and the value fits the dtype, so these are invariants (make_const maintains them).
    std::string constant() const {
        const ConstAttr& c = n.attr_as<ConstAttr>();
        DType t = n.dtype();
        if (is_floating(t)) {
            if (c.i != 0)
                return err(fmt::format("{} constant has nonzero integer field {}", dt(t), c.i));
            if (t == DType::Float32 && !std::isnan(c.f) &&
                static_cast<double>(static_cast<float>(c.f)) != c.f)
                return err(fmt::format("value {} is not exactly representable in f32", c.f));
            if (t == DType::Float32 && std::isnan(c.f) &&
                std::bit_cast<uint64_t>(static_cast<double>(static_cast<float>(c.f))) !=
                    std::bit_cast<uint64_t>(c.f))
                return err("NaN payload is not representable in f32");
            return "";
        }
        if (std::bit_cast<uint64_t>(c.f) != 0)
            return err(fmt::format("{} constant has nonzero float field {}", dt(t), c.f));
        if (t == DType::Bool && c.i != 0 && c.i != 1)
            return err(fmt::format("bool value {} is not 0 or 1", c.i));
        if (t == DType::Int32 && (c.i < std::numeric_limits<int32_t>::min() ||
                                  c.i > std::numeric_limits<int32_t>::max()))
            return err(fmt::format("value {} out of range for i32", c.i));
        return "";
    }

    std::string unary() const {
        const Node& x = in(0);
        if (x.shape() != n.shape())
            return err(fmt::format("input shape {} differs from result {}", shp(x.shape()),
                                   shp(n.shape())));
        switch (n.op()) {
        case Op::Cast: return "";
        case Op::Detach:
        case Op::Leaf: return same_dtype_as_input();
        case Op::Not:
            if (x.dtype() != DType::Bool || n.dtype() != DType::Bool)
                return err(fmt::format("needs bool input and result, got {} -> {}", dt(x.dtype()),
                                       dt(n.dtype())));
            return "";
        default: break;
        }
        if (std::string e = same_dtype_as_input(); !e.empty()) return e;
        if (n.op() == Op::Neg || n.op() == Op::Abs) {
            if (!is_numeric(n.dtype())) return err("needs a numeric dtype, got bool");
        } else if (!is_floating(n.dtype())) {
            return err(fmt::format("needs a float dtype, got {}", dt(n.dtype())));
        }
        return "";
    }

    std::string binary() const {
        const Node& a = in(0);
        const Node& b = in(1);
        if (a.shape() != n.shape() || b.shape() != n.shape())
            return err(fmt::format("input shapes {} and {} differ from result {}", shp(a.shape()),
                                   shp(b.shape()), shp(n.shape())));
        if (a.dtype() != b.dtype())
            return err(fmt::format("input dtypes {} and {} differ", dt(a.dtype()), dt(b.dtype())));
        switch (n.op()) {
        case Op::Eq:
        case Op::Ne:
        case Op::Lt:
        case Op::Le:
            if (n.dtype() != DType::Bool)
                return err(fmt::format("result dtype must be bool, got {}", dt(n.dtype())));
            return "";
        case Op::And:
        case Op::Or:
            if (a.dtype() != DType::Bool || n.dtype() != DType::Bool)
                return err(fmt::format("needs bool inputs and result, got {} -> {}", dt(a.dtype()),
                                       dt(n.dtype())));
            return "";
        default:
            if (n.dtype() != a.dtype())
                return err(fmt::format("result dtype {} differs from input dtype {}", dt(n.dtype()),
                                       dt(a.dtype())));
            if (!is_numeric(n.dtype())) return err("needs a numeric dtype, got bool");
            return "";
        }
    }

    std::string ternary() const {
        const Node& c = in(0);
        const Node& a = in(1);
        const Node& b = in(2);
        if (c.shape() != n.shape() || a.shape() != n.shape() || b.shape() != n.shape())
            return err(fmt::format("input shapes {}, {} and {} differ from result {}",
                                   shp(c.shape()), shp(a.shape()), shp(b.shape()), shp(n.shape())));
        if (c.dtype() != DType::Bool)
            return err(fmt::format("condition dtype must be bool, got {}", dt(c.dtype())));
        if (a.dtype() != n.dtype() || b.dtype() != n.dtype())
            return err(fmt::format("branch dtypes {} and {} differ from result {}", dt(a.dtype()),
                                   dt(b.dtype()), dt(n.dtype())));
        return "";
    }

    std::string reduce() const {
        const Node& x = in(0);
        const std::vector<int64_t>& axes = n.attr_as<AxesAttr>().axes;
        if (std::string e = check_axes(axes, x.rank()); !e.empty()) return e;
        Shape want = x.shape();
        for (int64_t a : axes) want[a] = 1;
        if (n.shape() != want)
            return err(fmt::format("result shape {} should be {} (input {}, axes {})",
                                   shp(n.shape()), shp(want), shp(x.shape()), ints_str(axes)));
        if (std::string e = same_dtype_as_input(); !e.empty()) return e;
        if (!is_numeric(n.dtype())) return err("needs a numeric dtype, got bool");
        return "";
    }

    std::string movement() const {
        const Node& x = in(0);
        if (std::string e = same_dtype_as_input(); !e.empty()) return e;
        const Shape& is = x.shape();
        const Shape& os = n.shape();
        switch (n.op()) {
        case Op::Window: {
            const WindowAttr& a = n.attr_as<WindowAttr>();
            if (a.axis < 0 || a.axis >= x.rank() || a.size < 1 || a.stride < 1 || a.dilation < 1)
                return err(fmt::format("bad window (axis {}, size {}, stride {}, dilation {}) "
                                       "for {}", a.axis, a.size, a.stride, a.dilation, shp(is)));
            Shape want = is;
            want.insert(want.begin() + a.axis, a.size);
            int64_t count = os.size() == want.size() ? os[a.axis + 1] : -1;
            want[a.axis + 1] = count;
            if (os != want || count < 0)
                return err(fmt::format("result {} does not fit windows of {}", shp(os), shp(is)));
            // The last window's last element, (size-1)*dilation + (count-1)*stride, computed
            // without overflow: one that overflows is past the end anyway.
            int64_t span = 0, offset = 0;
            bool overflow = __builtin_mul_overflow(a.size - 1, a.dilation, &span) ||
                            __builtin_mul_overflow(count - 1, a.stride, &offset) ||
                            __builtin_add_overflow(span, offset, &span);
            if (count > 0 && (overflow || span >= is[a.axis]))
                return err(fmt::format("{} windows of size {} (stride {}, dilation {}) overrun "
                                       "{} elements", count, a.size, a.stride, a.dilation,
                                       is[a.axis]));
            return "";
        }
        case Op::Reshape:
            if (numel(is) != numel(os))
                return err(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)",
                                       shp(is), numel(is), shp(os), numel(os)));
            return "";
        case Op::Permute: {
            const std::vector<int64_t>& perm = n.attr_as<PermuteAttr>().perm;
            std::vector<bool> seen(is.size(), false);
            bool ok = perm.size() == is.size();
            for (size_t i = 0; ok && i < perm.size(); ++i) {
                ok = perm[i] >= 0 && perm[i] < x.rank() && !seen[perm[i]];
                if (ok) seen[perm[i]] = true;
            }
            if (!ok)
                return err(fmt::format("perm {} is not a permutation of the {} axes of {}",
                                       ints_str(perm), is.size(), shp(is)));
            Shape want(perm.size());
            for (size_t i = 0; i < perm.size(); ++i) want[i] = is[perm[i]];
            if (os != want)
                return err(fmt::format("result shape {} should be {} (input {}, perm {})", shp(os),
                                       shp(want), shp(is), ints_str(perm)));
            return "";
        }
        case Op::Expand:
            if (is.size() != os.size())
                return err(
                    fmt::format("rank of input {} differs from result {}", shp(is), shp(os)));
            for (size_t d = 0; d < is.size(); ++d)
                if (is[d] != os[d] && is[d] != 1)
                    return err(
                        fmt::format("cannot expand {} to {} (dim {}: {} is neither {} nor 1)",
                                    shp(is), shp(os), d, is[d], os[d]));
            return "";
        case Op::Slice: return slice();
        case Op::Pad: return pad();
        case Op::Flip:
            if (std::string e = check_axes(n.attr_as<AxesAttr>().axes, x.rank()); !e.empty())
                return e;
            if (os != is)
                return err(fmt::format("result shape {} differs from input {}", shp(os), shp(is)));
            return "";
        default: return "";
        }
    }

    std::string slice() const {
        const Shape& is = in(0).shape();
        const Shape& os = n.shape();
        const SliceAttr& a = n.attr_as<SliceAttr>();
        if (is.size() != os.size())
            return err(fmt::format("rank of input {} differs from result {}", shp(is), shp(os)));
        if (a.start.size() != is.size() || a.step.size() != is.size())
            return err(fmt::format("start {} and step {} need {} entries (rank of {})",
                                   ints_str(a.start), ints_str(a.step), is.size(), shp(is)));
        for (size_t d = 0; d < is.size(); ++d) {
            if (a.step[d] == 0) return err(fmt::format("step 0 in dim {}", d));
            if (os[d] == 0) continue;
            // start + (n-1)*step, computed without overflow.
            int64_t last;
            bool overflow = __builtin_mul_overflow(os[d] - 1, a.step[d], &last) ||
                            __builtin_add_overflow(last, a.start[d], &last);
            for (int64_t idx : {a.start[d], last}) {
                if (overflow || idx < 0 || idx >= is[d])
                    return err(fmt::format(
                        "dim {} reads index {} outside [0,{}) (start {}, step {}, size {})", d,
                        overflow ? std::string("(overflow)") : std::to_string(idx), is[d],
                        a.start[d], a.step[d], os[d]));
            }
        }
        return "";
    }

    std::string pad() const {
        const Shape& is = in(0).shape();
        const Shape& os = n.shape();
        const PadAttr& a = n.attr_as<PadAttr>();
        if (a.before.size() != is.size() || a.after.size() != is.size() || os.size() != is.size())
            return err(fmt::format("before {} and after {} need {} entries (rank of {}), result {}",
                                   ints_str(a.before), ints_str(a.after), is.size(), shp(is),
                                   shp(os)));
        Shape want(is.size());
        for (size_t d = 0; d < is.size(); ++d) {
            if (a.before[d] < 0 || a.after[d] < 0)
                return err(fmt::format("negative padding in dim {} (before {}, after {})", d,
                                       ints_str(a.before), ints_str(a.after)));
            if (__builtin_add_overflow(a.before[d], is[d], &want[d]) ||
                __builtin_add_overflow(want[d], a.after[d], &want[d]))
                return err(fmt::format("padding overflows dim {} (input {}, before {}, after {})",
                                       d, shp(is), ints_str(a.before), ints_str(a.after)));
        }
        if (os != want)
            return err(fmt::format("result shape {} should be {} (input {}, before {}, after {})",
                                   shp(os), shp(want), shp(is), ints_str(a.before),
                                   ints_str(a.after)));
        return "";
    }

    std::string matmul() const {
        const Node& a = in(0);
        const Node& b = in(1);
        const Shape& as = a.shape();
        const Shape& bs = b.shape();
        if (as.size() < 2 || bs.size() < 2)
            return err(fmt::format("inputs need rank >= 2, got {} and {}", shp(as), shp(bs)));
        if (as.size() != bs.size())
            return err(fmt::format("input ranks differ: {} and {}", shp(as), shp(bs)));
        size_t r = as.size();
        if (!std::equal(as.begin(), as.end() - 2, bs.begin()))
            return err(fmt::format("batch dims of {} and {} differ", shp(as), shp(bs)));
        if (as[r - 1] != bs[r - 2])
            return err(fmt::format("inner dims differ: {} x {}", shp(as), shp(bs)));
        Shape want = as;
        want[r - 1] = bs[r - 1];
        if (n.shape() != want)
            return err(fmt::format("result shape {} should be {} ({} x {})", shp(n.shape()),
                                   shp(want), shp(as), shp(bs)));
        if (a.dtype() != n.dtype() || b.dtype() != n.dtype())
            return err(fmt::format("input dtypes {} and {} differ from result {}", dt(a.dtype()),
                                   dt(b.dtype()), dt(n.dtype())));
        if (!is_floating(n.dtype()))
            return err(fmt::format("needs a float dtype, got {}", dt(n.dtype())));
        return "";
    }

    // gather(src, index) / scatter_add(index, src): dense [A..., S, B...], index i64 [A..., K],
    // rows (the gathered result / the scattered source) [A..., K, B...].
    std::string indexing() const {
        bool gather = n.op() == Op::Gather;
        const Node& index = gather ? in(1) : in(0);
        const Node& values = gather ? in(0) : in(1);
        const Shape& dense = gather ? in(0).shape() : n.shape();
        const Shape& rows = gather ? n.shape() : in(1).shape();
        int64_t axis = n.attr_as<IndexAttr>().axis;
        if (index.dtype() != DType::Int64)
            return err(fmt::format("index must be i64, got {}", dt(index.dtype())));
        if (values.dtype() != n.dtype())
            return err(fmt::format("input dtype {} differs from result {}", dt(values.dtype()),
                                   dt(n.dtype())));
        if (axis < 0 || axis >= static_cast<int64_t>(dense.size()) || index.rank() != axis + 1)
            return err(fmt::format("axis {} does not fit {} indexed by {}", axis, shp(dense),
                                   shp(index.shape())));
        Shape want(dense.begin(), dense.begin() + axis);
        want.push_back(index.shape()[axis]);
        if (!std::equal(want.begin(), want.end() - 1, index.shape().begin()))
            return err(fmt::format("index {} does not match the leading dims of {}",
                                   shp(index.shape()), shp(dense)));
        want.insert(want.end(), dense.begin() + axis + 1, dense.end());
        if (rows != want)
            return err(fmt::format("rows {} should be {} ({} indexed by {})", shp(rows), shp(want),
                                   shp(dense), shp(index.shape())));
        if (!gather && n.dtype() == DType::Bool) return err("needs a numeric dtype, got bool");
        return "";
    }

    // conv2d(x, w) / conv2d_grad_input(dy, w) / conv2d_grad_weight(x, dy), see ir/conv.h.
    std::string conv() const {
        for (const NodeRef& i : n.inputs())
            if (i->dtype() != n.dtype())
                return err(fmt::format("input dtype {} differs from result {}", dt(i->dtype()),
                                       dt(n.dtype())));
        if (!is_floating(n.dtype()))
            return err(fmt::format("needs a float dtype, got {}", dt(n.dtype())));
        ConvOperands t = conv_operands(n);
        std::string problem;
        ConvGeometry g = conv_geometry(t.x->shape(), t.w->shape(), n.attr_as<ConvAttr>(), problem);
        if (!problem.empty()) return err(problem);
        if (t.y->shape() != g.output_shape())
            return err(fmt::format("{} {} should be {}",
                                   t.y == &n ? "result" : "output gradient", shp(t.y->shape()),
                                   shp(g.output_shape())));
        return "";
    }

    std::string loop() const {
        if (!n.shape().empty())
            return err(fmt::format("result must be a scalar, got {}", shp(n.shape())));
        switch (n.op()) {
        case Op::LoopVar:
            if (n.attr_as<VarAttr>().index < 0)
                return err(fmt::format("negative index {}", n.attr_as<VarAttr>().index));
            if (n.attr_as<VarAttr>().extent < 0)
                return err(fmt::format("negative extent {}", n.attr_as<VarAttr>().extent));
            if (n.dtype() != DType::Int64)
                return err(fmt::format("dtype must be i64, got {}", dt(n.dtype())));
            return "";
        case Op::Load: {
            if (n.inputs().size() != 1 && n.inputs().size() != 2)
                return err(fmt::format("takes 1 or 2 inputs, got {}", n.inputs().size()));
            if (n.attr_as<LoadAttr>().buffer < 0)
                return err(fmt::format("negative buffer {}", n.attr_as<LoadAttr>().buffer));
            const Node& idx = in(0);
            if (idx.dtype() != DType::Int64 || !idx.shape().empty())
                return err(fmt::format("index must be an i64 scalar, got {}{}", dt(idx.dtype()),
                                       shp(idx.shape())));
            if (n.inputs().size() == 2) {
                const Node& valid = in(1);
                if (valid.dtype() != DType::Bool || !valid.shape().empty())
                    return err(fmt::format("mask must be a bool scalar, got {}{}",
                                           dt(valid.dtype()), shp(valid.shape())));
            }
            return "";
        }
        case Op::Philox: return random();
        case Op::StageResult:
            if (n.attr_as<StageAttr>().stage < 0)
                return err(fmt::format("negative stage {}", n.attr_as<StageAttr>().stage));
            return "";
        default: return "";
        }
    }

    std::string run() const {
        for (int64_t d : n.shape())
            if (d < 0) return err(fmt::format("negative dimension in shape {}", shp(n.shape())));
        if (std::string problem = shape_problem(n.shape(), n.dtype()); !problem.empty())
            return err(problem);
        int arity = op_arity(n.op());
        if (arity >= 0 && n.inputs().size() != static_cast<size_t>(arity))
            return err(fmt::format("takes {} inputs, got {}", arity, n.inputs().size()));
        for (const NodeRef& i : n.inputs())
            if (!i) return err("null input");
        size_t want = expected_attr_index(n.op());
        if (n.attr().index() != want)
            return err(fmt::format("attribute kind is '{}', expected '{}'",
                                   kAttrKindNames[n.attr().index()], kAttrKindNames[want]));
        switch (op_category(n.op())) {
        case OpCategory::Source: return source();
        case OpCategory::Unary: return unary();
        case OpCategory::Binary: return binary();
        case OpCategory::Ternary: return ternary();
        case OpCategory::Reduce: return reduce();
        case OpCategory::Movement: return movement();
        case OpCategory::Extern:
            if (n.op() == Op::Matmul) return matmul();
            return n.op() == Op::Gather || n.op() == Op::ScatterAdd ? indexing() : conv();
        case OpCategory::Loop: return loop();
        }
        return "";
    }
};

// Index of alternative T in std::variant<Ts...>, at compile time.
template <class T, class... Ts>
constexpr size_t variant_index(const std::variant<Ts...>*) {
    size_t i = 0;
    ((std::is_same_v<T, Ts> ? false : (++i, true)) && ...);
    return i;
}

template <class T>
constexpr size_t attr_index() {
    return variant_index<T>(static_cast<const Attr*>(nullptr));
}

}  // namespace

size_t expected_attr_index(Op op) {
    switch (op) {
    case Op::Input: return attr_index<InputAttr>();
    case Op::Const: return attr_index<ConstAttr>();
    case Op::Iota: return attr_index<AxisAttr>();
    case Op::ReduceSum:
    case Op::ReduceMax:
    case Op::ReduceMin:
    case Op::Flip: return attr_index<AxesAttr>();
    case Op::Permute: return attr_index<PermuteAttr>();
    case Op::Slice: return attr_index<SliceAttr>();
    case Op::Pad: return attr_index<PadAttr>();
    case Op::LoopVar: return attr_index<VarAttr>();
    case Op::Load: return attr_index<LoadAttr>();
    case Op::StageResult: return attr_index<StageAttr>();
    case Op::Leaf: return attr_index<LeafAttr>();
    case Op::Gather:
    case Op::ScatterAdd: return attr_index<IndexAttr>();
    case Op::Random:
    case Op::Philox: return attr_index<RandomAttr>();
    case Op::Window: return attr_index<WindowAttr>();
    case Op::Conv2d:
    case Op::Conv2dGradInput:
    case Op::Conv2dGradWeight: return attr_index<ConvAttr>();
    default: return attr_index<NoAttr>();
    }
}

std::string check_node(const Node& n) { return Checker{n}.run(); }

void verify_graph(const std::vector<NodeRef>& roots) {
    std::vector<const Node*> order = topo_order(roots);
    for (size_t i = 0; i < order.size(); ++i) {
        std::string msg = check_node(*order[i]);
        if (!msg.empty())
            throw InternalError(fmt::format("IR verification failed at node %{} ({}): {}", i,
                                            op_name(order[i]->op()), msg));
    }
}

}  // namespace kiln::ir
