// Scalar expressions as CUDA C. The rules follow codegen/llvm/expr_emitter.cpp case by case, so
// both backends compute the same function of every op (ops.def); where C would leave a case
// undefined (signed overflow, division by zero, out-of-range float->int), the text spells out
// what ops.def wants instead.
#include "codegen/cuda/cuda_expr.h"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "codegen/expr_error.h"
#include "kiln/error.h"

namespace kiln::codegen::cuda {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

[[noreturn]] void fail(const NodeRef& n, const std::string& what) { expr_error("cuda", n, what); }

std::string dtype_str(DType t) { return dtype_name(t); }

/// "f32" / "f64" / "i32" / "i64": the suffix of a helper's name.
std::string suffix(DType t) { return dtype_name(t); }

/// Shortest digits that read back as `v` (std::to_chars), always with a '.' or an exponent so
/// that C reads a floating literal.
template <class F>
std::string shortest(F v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    KILN_CHECK(ec == std::errc(), "float literal does not fit");
    std::string s(buf, end);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

}  // namespace

const char* register_type(DType dtype) {
    switch (dtype) {
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    case DType::Int32: return "int";
    case DType::Int64: return "long long";
    case DType::Bool: return "bool";
    }
    throw InternalError("cuda codegen: unknown dtype");
}

const char* memory_type(DType dtype) {
    return dtype == DType::Bool ? "unsigned char" : register_type(dtype);
}

std::string float_literal(double value, DType dtype) {
    bool f32 = dtype == DType::Float32;
    // NaN and infinities have no literal without <math.h>: build them from their bits.
    if (std::isnan(value))
        return f32 ? "__int_as_float(0x7fc00000)" : "__longlong_as_double(0x7ff8000000000000LL)";
    if (std::isinf(value)) {
        if (f32)
            return value > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float((int)0xff800000u)";
        return value > 0 ? "__longlong_as_double(0x7ff0000000000000LL)"
                         : "__longlong_as_double((long long)0xfff0000000000000ULL)";
    }
    std::string s = f32 ? shortest(static_cast<float>(value)) + "f" : shortest(value);
    return s[0] == '-' ? fmt::format("({})", s) : s;
}

std::string literal(const Node& n) {
    DType t = n.dtype();
    if (is_floating(t)) return float_literal(ir::const_value(n), t);
    int64_t v = ir::const_int(n);
    if (t == DType::Bool) return v != 0 ? "true" : "false";
    if (t == DType::Int32) {
        auto i = static_cast<int32_t>(v);
        if (i == std::numeric_limits<int32_t>::min()) return "(-2147483647 - 1)";
        return i < 0 ? fmt::format("({})", i) : fmt::format("{}", i);
    }
    if (v == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807LL - 1LL)";
    return v < 0 ? fmt::format("({}LL)", v) : fmt::format("{}LL", v);
}

std::string zero_literal(DType dtype) {
    switch (dtype) {
    case DType::Float32: return "0.0f";
    case DType::Float64: return "0.0";
    case DType::Int32: return "0";
    case DType::Int64: return "0LL";
    case DType::Bool: return "false";
    }
    throw InternalError("cuda codegen: unknown dtype");
}

ExprRenderer::ExprRenderer(const ir::LoopKernel& kernel, CudaWriter& out)
    : kernel_(kernel), out_(out) {
    open_scope();
    // Index arithmetic is affine in loop variables with divisions by constants: it stays near
    // the buffer sizes, so plain signed C (which the compiler may strength-reduce) is exact.
    std::vector<const Node*> stack;
    std::unordered_set<const Node*> seen;
    auto mark = [&](const NodeRef& root) {
        if (root && index_nodes_.insert(root.get()).second) stack.push_back(root.get());
    };
    auto visit_all = [&](const NodeRef& root) {
        std::vector<const Node*> todo{root.get()};
        while (!todo.empty()) {
            const Node* n = todo.back();
            todo.pop_back();
            if (!n || !seen.insert(n).second) continue;
            if (n->op() == Op::Load)
                for (const NodeRef& in : n->inputs()) mark(in);
            for (const NodeRef& in : n->inputs()) todo.push_back(in.get());
        }
    };
    for (const ir::Stage& st : kernel.stages) {
        if (st.value) visit_all(st.value);
        if (st.index) {
            mark(st.index);
            visit_all(st.index);
        }
    }
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        for (const NodeRef& in : n->inputs())
            if (index_nodes_.insert(in.get()).second) stack.push_back(in.get());
    }
}

void ExprRenderer::open_scope() {
    scopes_.emplace_back();
    scope_vars_.emplace_back();
    scope_loads_.emplace_back();
}

void ExprRenderer::close_scope() {
    KILN_CHECK(scopes_.size() > 1, "closing the outermost cuda codegen scope");
    for (int64_t v : scope_vars_.back()) vars_[static_cast<size_t>(v)].clear();
    for (int64_t b : scope_loads_.back()) loads_[static_cast<size_t>(b)].clear();
    scopes_.pop_back();
    scope_vars_.pop_back();
    scope_loads_.pop_back();
}

void ExprRenderer::bind_load(int64_t buffer, const std::string& element) {
    KILN_CHECK(buffer >= 0, "negative buffer");
    if (loads_.size() <= static_cast<size_t>(buffer))
        loads_.resize(static_cast<size_t>(buffer) + 1);
    loads_[static_cast<size_t>(buffer)] = element;
    scope_loads_.back().push_back(buffer);
}

void ExprRenderer::bind_var(int64_t index, const std::string& name) {
    KILN_CHECK(index >= 0, "negative loop variable");
    if (vars_.size() <= static_cast<size_t>(index)) vars_.resize(static_cast<size_t>(index) + 1);
    vars_[static_cast<size_t>(index)] = name;
    scope_vars_.back().push_back(index);
}

void ExprRenderer::bind_stage(int64_t stage, const std::string& name) {
    if (stages_.size() <= static_cast<size_t>(stage))
        stages_.resize(static_cast<size_t>(stage) + 1);
    stages_[static_cast<size_t>(stage)] = name;
}

void ExprRenderer::forget_loads_of(int64_t buffer) {
    // A temporary computed from a buffer before a store into it would be stale afterwards.
    std::unordered_map<const Node*, bool> reads;
    std::vector<const Node*> order;
    auto depends = [&](const Node* root) {
        // Iterative post-order: kernels can be deep expression chains.
        std::vector<std::pair<const Node*, bool>> todo{{root, false}};
        while (!todo.empty()) {
            auto [n, expanded] = todo.back();
            todo.pop_back();
            if (reads.count(n)) continue;
            if (!expanded) {
                todo.push_back({n, true});
                for (const NodeRef& in : n->inputs())
                    if (!reads.count(in.get())) todo.push_back({in.get(), false});
                continue;
            }
            bool r = n->op() == Op::Load && n->attr_as<ir::LoadAttr>().buffer == buffer;
            for (const NodeRef& in : n->inputs()) r = r || reads.at(in.get());
            reads.emplace(n, r);
        }
        return reads.at(root);
    };
    for (auto& scope : scopes_)
        std::erase_if(scope, [&](const auto& e) { return depends(e.first); });
}

std::string ExprRenderer::to_memory(DType dtype, const std::string& value) {
    return dtype == DType::Bool ? fmt::format("(unsigned char){}", value) : value;
}

std::string ExprRenderer::emit(const NodeRef& expr) {
    const Node* key = expr.get();
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        auto found = it->find(key);
        if (found != it->end()) return found->second;
    }
    if (!expr->shape().empty())
        fail(expr, "non-scalar node (shape " + ir::shape_str(expr->shape()) + ")");
    std::string v = emit_node(expr);
    // Leaves are free to rebuild; variables and stage results must not outlive their binding.
    if (expr->op() == Op::LoopVar || expr->op() == Op::StageResult || expr->op() == Op::Const)
        return v;
    std::string name = fmt::format("t{}", temps_++);
    out_.line(fmt::format("const {} {} = {};", register_type(expr->dtype()), name, v));
    scopes_.back().emplace(key, name);
    return name;
}

std::string ExprRenderer::emit_node(const NodeRef& np) {
    const Node& n = *np;
    switch (n.op()) {
    case Op::Const: return literal(n);
    case Op::LoopVar: {
        int64_t i = n.attr_as<ir::VarAttr>().index;
        if (i < 0 || static_cast<size_t>(i) >= vars_.size() ||
            vars_[static_cast<size_t>(i)].empty())
            fail(np, "loop variable " + std::to_string(i) + " is not bound here");
        const std::string& v = vars_[static_cast<size_t>(i)];
        if (n.dtype() == DType::Int64) return v;
        if (n.dtype() == DType::Int32) return fmt::format("((int){})", v);
        fail(np, "loop variable of dtype " + dtype_str(n.dtype()));
    }
    case Op::StageResult: {
        int64_t s = n.attr_as<ir::StageAttr>().stage;
        if (s < 0 || static_cast<size_t>(s) >= stages_.size() ||
            stages_[static_cast<size_t>(s)].empty())
            fail(np, "stage " + std::to_string(s) + " is not an earlier reduce stage");
        const ir::Stage& st = kernel_.stages[static_cast<size_t>(s)];
        if (st.value->dtype() != n.dtype()) fail(np, "stage result dtype mismatch");
        return stages_[static_cast<size_t>(s)];
    }
    case Op::Load: return emit_load(np);
    case Op::Philox: {
        if (n.input(0)->dtype() != DType::Int64 || n.input(1)->dtype() != DType::Int64)
            fail(np, "philox needs i64 seed and counter");
        int64_t word = n.attr_as<ir::RandomAttr>().word;
        if (!is_floating(n.dtype()) || word < 0 || word > (n.dtype() == DType::Float32 ? 3 : 2))
            fail(np, "philox result must be f32 (word 0..3) or f64 (word 0..2)");
        std::string helper = "kiln_philox_" + suffix(n.dtype());
        need("kiln_philox");
        need(helper);
        std::string seed = emit(n.input(0)), counter = emit(n.input(1));
        return fmt::format("{}({}, {}, {})", helper, seed, counter, word);
    }
    default: break;
    }
    switch (ir::op_category(n.op())) {
    case ir::OpCategory::Unary: {
        std::string x = emit(n.input(0));
        DType in = n.input(0)->dtype();
        if (n.op() == Op::Cast) return emit_cast(in, n.dtype(), x);
        if (n.op() == Op::Not) {
            if (n.dtype() != DType::Bool) fail(np, "not must produce bool");
            return fmt::format("!{}", to_bool(in, x));
        }
        if (in != n.dtype()) fail(np, "input dtype " + dtype_str(in) + " differs from result");
        return emit_unary(np, x);
    }
    case ir::OpCategory::Binary: {
        DType in = n.input(0)->dtype();
        if (n.input(1)->dtype() != in) fail(np, "binary op on different dtypes");
        DType want = ir::is_comparison(n.op()) ? DType::Bool : in;
        if (n.dtype() != want)
            fail(np, "result dtype " + dtype_str(n.dtype()) + " should be " + dtype_str(want));
        std::string a = emit(n.input(0));
        std::string b = emit(n.input(1));
        return emit_binary(np, a, b);
    }
    case ir::OpCategory::Ternary: {
        if (n.input(0)->dtype() != DType::Bool || n.input(1)->dtype() != n.dtype() ||
            n.input(2)->dtype() != n.dtype())
            fail(np, "where needs a bool condition and two values of the result dtype");
        std::string c = emit(n.input(0));
        std::string a = emit(n.input(1));
        std::string b = emit(n.input(2));
        return fmt::format("{} ? {} : {}", c, a, b);
    }
    default: break;
    }
    fail(np, "op '" + std::string(ir::op_name(n.op())) + "' cannot appear in a loop kernel");
}

std::string ExprRenderer::emit_load(const NodeRef& np) {
    const Node& n = *np;
    int64_t buf = n.attr_as<ir::LoadAttr>().buffer;
    if (buf < 0 || static_cast<size_t>(buf) >= kernel_.buffers.size())
        fail(np, "load from buffer " + std::to_string(buf) + " of " +
                     std::to_string(kernel_.buffers.size()));
    const ir::KernelBuffer& kb = kernel_.buffers[static_cast<size_t>(buf)];
    if (kb.dtype != n.dtype())
        fail(np, "load of " + dtype_str(n.dtype()) + " from a " + dtype_str(kb.dtype) + " buffer");
    if (n.inputs().empty() || n.inputs().size() > 2)
        fail(np, "load needs an index and an optional mask");
    if (!is_integral(n.input(0)->dtype())) fail(np, "load index must be an integer");
    if (n.inputs().size() == 2 && n.input(1)->dtype() != DType::Bool)
        fail(np, "load mask must be bool");
    // An empty buffer has no element to read: every (necessarily masked) load is 0.
    if (kb.numel == 0) return zero_literal(n.dtype());
    const NodeRef* mask = n.inputs().size() == 2 ? &n.input(1) : nullptr;
    if (mask && (*mask)->op() == Op::Const) {
        if (ir::const_int(**mask) == 0) return zero_literal(n.dtype());
        mask = nullptr;
    }
    std::string element;
    if (static_cast<size_t>(buf) < loads_.size() && !loads_[static_cast<size_t>(buf)].empty())
        element = loads_[static_cast<size_t>(buf)];  // bind_load(): already in a register
    else
        element = fmt::format("b{}[{}]", buf, emit(n.input(0)));
    if (n.dtype() == DType::Bool)
        element = fmt::format("({} != 0)", element);  // any nonzero byte is true
    if (!mask) return element;
    // The conditional never touches memory where the mask is false (a padded border).
    return fmt::format("{} ? {} : {}", emit(*mask), element, zero_literal(n.dtype()));
}

std::string ExprRenderer::emit_unary(const NodeRef& np, const std::string& x) {
    const Node& n = *np;
    DType t = n.dtype();
    Op op = n.op();
    if (t == DType::Bool) {
        // bool arithmetic on 0/1, read back as "!= 0": -b = b, |b| = b, 1/b = b.
        if (op == Op::Neg || op == Op::Abs || op == Op::Reciprocal) return x;
        fail(np, "op '" + std::string(ir::op_name(op)) + "' on bool");
    }
    if (is_integral(t)) {
        bool index = index_nodes_.count(np.get()) > 0;
        std::string zero = zero_literal(t);
        switch (op) {
        case Op::Neg: return emit_int_arith(Op::Sub, t, index, zero, x);
        case Op::Abs:
            return fmt::format("{} < {} ? {} : {}", x, zero,
                               emit_int_arith(Op::Sub, t, index, zero, x), x);
        case Op::Reciprocal:
            need("kiln_div_" + suffix(t));
            return fmt::format("kiln_div_{}({}, {})", suffix(t), t == DType::Int32 ? "1" : "1LL",
                               x);
        default: fail(np, "op '" + std::string(ir::op_name(op)) + "' on an integer dtype");
        }
    }
    bool f32 = t == DType::Float32;
    auto call = [&](const char* f) { return fmt::format("{}{}({})", f, f32 ? "f" : "", x); };
    switch (op) {
    case Op::Neg: return fmt::format("-{}", x);
    case Op::Abs: return call("fabs");
    case Op::Sqrt: return call("sqrt");  // IEEE-rounded (NVRTC's default -prec-sqrt=true)
    case Op::Reciprocal: return fmt::format("{} / {}", f32 ? "1.0f" : "1.0", x);
    case Op::Exp:
    case Op::Log:
    case Op::Sin:
    case Op::Cos:
    case Op::Tanh:
    case Op::Erf:
    case Op::Sigmoid: {
        // Kiln's own algorithms, bit-identical to the CPU backend's (cuda_math.h).
        std::string h = fmt::format("kiln_{}_{}", ir::op_name(op), suffix(t));
        need(h);
        return fmt::format("{}({})", h, x);
    }
    default: break;
    }
    fail(np, "unsupported unary op");
}

std::string ExprRenderer::emit_int_arith(Op op, DType t, bool index, const std::string& a,
                                         const std::string& b) {
    const char* sym = op == Op::Add ? "+" : op == Op::Sub ? "-" : "*";
    if (index) return fmt::format("{} {} {}", a, sym, b);
    // Signed overflow is undefined in C; ops.def wants two's complement wrap: go unsigned.
    const char* u = t == DType::Int32 ? "unsigned" : "unsigned long long";
    return fmt::format("({})(({}){} {} ({}){})", register_type(t), u, a, sym, u, b);
}

std::string ExprRenderer::emit_binary(const NodeRef& np, const std::string& a,
                                      const std::string& b) {
    const Node& n = *np;
    DType t = n.input(0)->dtype();
    Op op = n.op();
    if (op == Op::And || op == Op::Or)
        return fmt::format("{} {} {}", to_bool(t, a), op == Op::And ? "&&" : "||", to_bool(t, b));
    auto infix = [&](const char* sym) { return fmt::format("{} {} {}", a, sym, b); };
    if (t == DType::Bool) {
        switch (op) {  // 0/1 arithmetic, result read as "!= 0"
        case Op::Add:
        case Op::Max: return infix("||");
        case Op::Sub:
        case Op::Ne: return infix("!=");
        case Op::Mul:
        case Op::Div:
        case Op::Min: return infix("&&");
        case Op::Mod: return "false";  // x % 1 = 0 and x % 0 = 0
        case Op::Pow: return fmt::format("{} || !{}", a, b);
        case Op::Eq: return infix("==");
        case Op::Lt: return fmt::format("!{} && {}", a, b);
        case Op::Le: return fmt::format("!{} || {}", a, b);
        default: break;
        }
    } else if (is_integral(t)) {
        bool index = index_nodes_.count(np.get()) > 0;
        switch (op) {
        case Op::Add:
        case Op::Sub:
        case Op::Mul: return emit_int_arith(op, t, index, a, b);
        case Op::Div:
        case Op::Mod: {
            // A constant divisor other than 0 and -1 is plain C (and a multiply by the
            // compiler); anything else goes through the helper with ops.def's x / 0 = 0.
            const Node& d = *n.input(1);
            if (d.op() == Op::Const && ir::const_int(d) != 0 && ir::const_int(d) != -1)
                return infix(op == Op::Div ? "/" : "%");
            std::string h = fmt::format("kiln_{}_{}", op == Op::Div ? "div" : "mod", suffix(t));
            need(h);
            return fmt::format("{}({}, {})", h, a, b);
        }
        case Op::Max: return fmt::format("{} > {} ? {} : {}", a, b, a, b);
        case Op::Min: return fmt::format("{} < {} ? {} : {}", a, b, a, b);
        case Op::Pow:
            need("kiln_pow_" + suffix(t));
            return fmt::format("kiln_pow_{}({}, {})", suffix(t), a, b);
        case Op::Eq: return infix("==");
        case Op::Ne: return infix("!=");
        case Op::Lt: return infix("<");
        case Op::Le: return infix("<=");
        default: break;
        }
    } else {
        bool f32 = t == DType::Float32;
        auto call = [&](const char* f) {
            return fmt::format("{}{}({}, {})", f, f32 ? "f" : "", a, b);
        };
        switch (op) {  // IEEE; C's comparisons are ordered except != (NaN != x is true)
        case Op::Add: return infix("+");
        case Op::Sub: return infix("-");
        case Op::Mul: return infix("*");
        case Op::Div: return infix("/");    // IEEE-rounded (NVRTC's default -prec-div=true)
        case Op::Mod: return call("fmod");  // C's fmod: sign of the dividend
        case Op::Max:
        case Op::Min: {
            std::string h = fmt::format("kiln_{}_{}", op == Op::Max ? "max" : "min", suffix(t));
            need(h);
            return fmt::format("{}({}, {})", h, a, b);
        }
        case Op::Pow: {  // Kiln's pow (cuda_math.h), bit-identical to the CPU's
            std::string h = "kiln_pow_" + suffix(t);
            need(h);
            return fmt::format("{}({}, {})", h, a, b);
        }
        case Op::Eq: return infix("==");
        case Op::Ne: return infix("!=");
        case Op::Lt: return infix("<");
        case Op::Le: return infix("<=");
        default: break;
        }
    }
    fail(np, "unsupported binary op on " + dtype_str(t));
}

std::string ExprRenderer::to_bool(DType dtype, const std::string& x) {
    if (dtype == DType::Bool) return x;
    // NaN != 0, so NaN is true (as in C and PyTorch).
    return fmt::format("({} != {})", x, zero_literal(dtype));
}

std::string ExprRenderer::emit_cast(DType from, DType to, const std::string& x) {
    if (from == to) return x;
    if (to == DType::Bool) return to_bool(from, x);
    if (is_floating(from) && is_integral(to)) {
        // Round toward zero, saturating, NaN -> 0 (PTX cvt.rzi): the CPU's fptosi.sat. A C
        // cast would be undefined out of range.
        return fmt::format("__{}2{}_rz({})", from == DType::Float32 ? "float" : "double",
                           to == DType::Int32 ? "int" : "ll", x);
    }
    // bool -> number is 0/1; int -> int truncates or sign-extends; the rest round to nearest.
    return fmt::format("({}){}", register_type(to), x);
}

}  // namespace kiln::codegen::cuda
