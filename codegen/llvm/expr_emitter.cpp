#include "codegen/llvm/expr_emitter.h"

#include <functional>
#include <string>

#include <llvm/IR/Intrinsics.h>

#include "codegen/llvm/math_calls.h"
#include "codegen/llvm/vector_math.h"
#include "ir/philox.h"
#include "codegen/expr_error.h"
#include "kiln/error.h"

namespace kiln::codegen {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

[[noreturn]] void fail(const NodeRef& n, const std::string& what) {
    expr_error("cpu", n, what);
}

std::string dtype_str(DType t) { return dtype_name(t); }

}  // namespace

llvm::Type* register_type(llvm::LLVMContext& ctx, DType dtype) {
    switch (dtype) {
    case DType::Float32: return llvm::Type::getFloatTy(ctx);
    case DType::Float64: return llvm::Type::getDoubleTy(ctx);
    case DType::Int32: return llvm::Type::getInt32Ty(ctx);
    case DType::Int64: return llvm::Type::getInt64Ty(ctx);
    case DType::Bool: return llvm::Type::getInt1Ty(ctx);
    }
    throw InternalError("cpu codegen: unknown dtype");
}

llvm::Type* memory_type(llvm::LLVMContext& ctx, DType dtype) {
    return dtype == DType::Bool ? llvm::Type::getInt8Ty(ctx) : register_type(ctx, dtype);
}

ExprEmitter::ExprEmitter(llvm::IRBuilder<>& builder, const ir::LoopKernel& kernel,
                         std::vector<llvm::Value*> buffers)
    : b_(builder), kernel_(kernel), buffers_(std::move(buffers)) {
    open_scope();
}

void ExprEmitter::open_scope() {
    scopes_.emplace_back();
    scope_vars_.emplace_back();
}

void ExprEmitter::close_scope() {
    KILN_CHECK(scopes_.size() > 1, "closing the outermost codegen scope");
    for (int64_t v : scope_vars_.back()) vars_[static_cast<size_t>(v)] = nullptr;
    scopes_.pop_back();
    scope_vars_.pop_back();
}

void ExprEmitter::bind_var(int64_t index, llvm::Value* value) {
    KILN_CHECK(index >= 0, "negative loop variable");
    if (vars_.size() <= static_cast<size_t>(index)) vars_.resize(static_cast<size_t>(index) + 1);
    vars_[static_cast<size_t>(index)] = value;
    scope_vars_.back().push_back(index);
}

void ExprEmitter::bind_stage(int64_t stage, llvm::Value* value) {
    if (stages_.size() <= static_cast<size_t>(stage))
        stages_.resize(static_cast<size_t>(stage) + 1);
    stages_[static_cast<size_t>(stage)] = value;
}

void ExprEmitter::forget_loads_of(int64_t buffer) {
    // Values computed from a buffer before a store into it would be stale afterwards.
    std::unordered_map<const Node*, bool> reads;
    std::function<bool(const Node*)> depends = [&](const Node* n) {
        auto it = reads.find(n);
        if (it != reads.end()) return it->second;
        bool r = n->op() == Op::Load && n->attr_as<ir::LoadAttr>().buffer == buffer;
        for (const NodeRef& in : n->inputs()) r = depends(in.get()) || r;
        reads.emplace(n, r);
        return r;
    };
    for (auto& scope : scopes_)
        std::erase_if(scope, [&](const auto& e) { return depends(e.first); });
}

llvm::Value* ExprEmitter::to_memory(DType dtype, llvm::Value* value) {
    if (dtype != DType::Bool) return value;
    return b_.CreateZExt(value, b_.getInt8Ty());
}

llvm::Value* ExprEmitter::from_memory(DType dtype, llvm::Value* value) {
    if (dtype != DType::Bool) return value;
    // Any nonzero byte is true, so bool buffers written by other code read as expected.
    return b_.CreateICmpNE(value, b_.getInt8(0));
}

llvm::Value* ExprEmitter::emit(const NodeRef& expr) {
    const Node* key = expr.get();
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        auto found = it->find(key);
        if (found != it->end()) return found->second;
    }
    if (!expr->shape().empty())
        fail(expr, "non-scalar node (shape " + ir::shape_str(expr->shape()) + ")");
    llvm::Value* v = emit_node(expr);
    // Leaves are free to rebuild; variables and stage results must not outlive their binding.
    if (expr->op() != Op::LoopVar && expr->op() != Op::StageResult && expr->op() != Op::Const)
        scopes_.back().emplace(key, v);
    return v;
}

llvm::Value* ExprEmitter::emit_node(const NodeRef& np) {
    const Node& n = *np;
    llvm::LLVMContext& ctx = b_.getContext();
    switch (n.op()) {
    case Op::Const: {
        if (is_floating(n.dtype()))
            return llvm::ConstantFP::get(register_type(ctx, n.dtype()), ir::const_value(n));
        if (n.dtype() == DType::Bool) return b_.getInt1(ir::const_int(n) != 0);
        return llvm::ConstantInt::get(register_type(ctx, n.dtype()),
                                      static_cast<uint64_t>(ir::const_int(n)), true);
    }
    case Op::LoopVar: {
        int64_t i = n.attr_as<ir::VarAttr>().index;
        if (i < 0 || static_cast<size_t>(i) >= vars_.size() || !vars_[static_cast<size_t>(i)])
            fail(np, "loop variable " + std::to_string(i) + " is not bound here");
        if (n.dtype() == DType::Int64) return vars_[static_cast<size_t>(i)];
        if (n.dtype() == DType::Int32)
            return b_.CreateTrunc(vars_[static_cast<size_t>(i)], b_.getInt32Ty());
        fail(np, "loop variable of dtype " + dtype_str(n.dtype()));
    }
    case Op::StageResult: {
        int64_t s = n.attr_as<ir::StageAttr>().stage;
        if (s < 0 || static_cast<size_t>(s) >= stages_.size() || !stages_[static_cast<size_t>(s)])
            fail(np, "stage " + std::to_string(s) + " is not an earlier reduce stage");
        llvm::Value* v = stages_[static_cast<size_t>(s)];
        if (v->getType() != register_type(ctx, n.dtype())) fail(np, "stage result dtype mismatch");
        return v;
    }
    case Op::Load: return emit_load(np);
    case Op::Philox: return emit_philox(np);
    default: break;
    }
    switch (ir::op_category(n.op())) {
    case ir::OpCategory::Unary: {
        llvm::Value* x = emit(n.input(0));
        DType in = n.input(0)->dtype();
        if (n.op() == Op::Cast) return emit_cast(in, n.dtype(), x);
        if (n.op() == Op::Not) {
            if (n.dtype() != DType::Bool) fail(np, "not must produce bool");
            return b_.CreateNot(to_bool(in, x));
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
        llvm::Value* a = emit(n.input(0));
        llvm::Value* c = emit(n.input(1));
        return emit_binary(np, a, c);
    }
    case ir::OpCategory::Ternary: {
        if (n.input(0)->dtype() != DType::Bool || n.input(1)->dtype() != n.dtype() ||
            n.input(2)->dtype() != n.dtype())
            fail(np, "where needs a bool condition and two values of the result dtype");
        llvm::Value* cond = emit(n.input(0));
        llvm::Value* a = emit(n.input(1));
        llvm::Value* c = emit(n.input(2));
        return b_.CreateSelect(cond, a, c);
    }
    default: break;
    }
    fail(np, "op '" + std::string(ir::op_name(n.op())) + "' cannot appear in a loop kernel");
}

// ir::philox_uniform in 32-bit integer arithmetic (the products in 64 bits, as in the
// reference), so the loop vectorizer turns it into vector multiplies.
llvm::Value* ExprEmitter::emit_philox(const NodeRef& np) {
    const Node& n = *np;
    if (n.input(0)->dtype() != DType::Int64 || n.input(1)->dtype() != DType::Int64)
        fail(np, "philox needs i64 seed and counter");
    llvm::Value* seed = emit(n.input(0));
    llvm::Value* counter = emit(n.input(1));
    llvm::Type* i32 = b_.getInt32Ty();
    llvm::Type* i64 = b_.getInt64Ty();
    auto lo = [&](llvm::Value* v) { return b_.CreateTrunc(v, i32); };
    auto hi = [&](llvm::Value* v) { return b_.CreateTrunc(b_.CreateLShr(v, 32), i32); };
    llvm::Value* c[4] = {lo(counter), hi(counter), b_.getInt32(0), b_.getInt32(0)};
    llvm::Value* k[2] = {lo(seed), hi(seed)};
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k[0] = b_.CreateAdd(k[0], b_.getInt32(ir::kPhiloxW0));
            k[1] = b_.CreateAdd(k[1], b_.getInt32(ir::kPhiloxW1));
        }
        llvm::Value* p0 = b_.CreateMul(b_.CreateZExt(c[0], i64), b_.getInt64(ir::kPhiloxM0));
        llvm::Value* p1 = b_.CreateMul(b_.CreateZExt(c[2], i64), b_.getInt64(ir::kPhiloxM1));
        llvm::Value* next[4] = {b_.CreateXor(b_.CreateXor(hi(p1), c[1]), k[0]), lo(p1),
                                b_.CreateXor(b_.CreateXor(hi(p0), c[3]), k[1]), lo(p0)};
        for (int i = 0; i < 4; ++i) c[i] = next[i];
    }
    int64_t word = n.attr_as<ir::RandomAttr>().word;
    if (n.dtype() == DType::Float32) {
        llvm::Value* bits = b_.CreateLShr(c[word], 8);
        return b_.CreateFMul(b_.CreateUIToFP(bits, b_.getFloatTy()),
                             llvm::ConstantFP::get(b_.getFloatTy(), 0x1p-24));
    }
    if (n.dtype() != DType::Float64 || word > 2) fail(np, "philox result must be f32 or f64");
    llvm::Value* bits = b_.CreateOr(b_.CreateShl(b_.CreateZExt(c[word + 1], i64), 32),
                                    b_.CreateZExt(c[word], i64));
    return b_.CreateFMul(b_.CreateUIToFP(b_.CreateLShr(bits, 11), b_.getDoubleTy()),
                         llvm::ConstantFP::get(b_.getDoubleTy(), 0x1p-53));
}

llvm::Value* ExprEmitter::emit_load(const NodeRef& np) {
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

    llvm::Type* rt = register_type(b_.getContext(), n.dtype());
    llvm::Value* zero = llvm::Constant::getNullValue(rt);
    // An empty buffer has no element to read: every (necessarily masked) load is 0.
    if (kb.numel == 0) return zero;
    llvm::Value* index = b_.CreateSExt(emit(n.input(0)), b_.getInt64Ty());
    llvm::Value* valid = n.inputs().size() == 2 ? emit(n.input(1)) : nullptr;
    if (auto* c = llvm::dyn_cast_or_null<llvm::ConstantInt>(valid)) {
        if (c->isZero()) return zero;
        valid = nullptr;
    }
    llvm::Type* mt = memory_type(b_.getContext(), n.dtype());
    auto load = [&] {
        llvm::Value* ptr = b_.CreateInBoundsGEP(mt, buffers_[static_cast<size_t>(buf)], index);
        return from_memory(n.dtype(), b_.CreateLoad(mt, ptr));
    };
    if (!valid) return load();
    // Branch around the load so masked-off elements are never touched; the loop vectorizer
    // if-converts this into a masked load (AVX-512) when the addresses are consecutive.
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    llvm::BasicBlock* from = b_.GetInsertBlock();
    auto* do_load = llvm::BasicBlock::Create(b_.getContext(), "masked.load", fn);
    auto* merge = llvm::BasicBlock::Create(b_.getContext(), "masked.merge", fn);
    b_.CreateCondBr(valid, do_load, merge);
    b_.SetInsertPoint(do_load);
    llvm::Value* loaded = load();
    llvm::BasicBlock* loaded_in = b_.GetInsertBlock();
    b_.CreateBr(merge);
    b_.SetInsertPoint(merge);
    llvm::PHINode* phi = b_.CreatePHI(rt, 2);
    phi->addIncoming(loaded, loaded_in);
    phi->addIncoming(zero, from);
    return phi;
}

llvm::Value* ExprEmitter::intrinsic(unsigned id, llvm::Value* a, llvm::Value* c) {
    auto iid = static_cast<llvm::Intrinsic::ID>(id);
    if (!c) return b_.CreateUnaryIntrinsic(iid, a);
    return b_.CreateBinaryIntrinsic(iid, a, c);
}

llvm::Value* ExprEmitter::emit_unary(const NodeRef& np, llvm::Value* x) {
    const Node& n = *np;
    DType t = n.dtype();
    if (t == DType::Bool) {
        // bool arithmetic on 0/1, read back as "!= 0": -b = b, |b| = b, 1/b = b.
        if (n.op() == Op::Neg || n.op() == Op::Abs || n.op() == Op::Reciprocal) return x;
        fail(np, "op '" + std::string(ir::op_name(n.op())) + "' on bool");
    }
    if (is_integral(t)) {
        switch (n.op()) {
        case Op::Neg: return b_.CreateSub(llvm::Constant::getNullValue(x->getType()), x);
        case Op::Abs: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b_.getFalse());
        case Op::Reciprocal: return emit_int_div(llvm::ConstantInt::get(x->getType(), 1), x, false);
        default: fail(np, "op '" + std::string(ir::op_name(n.op())) + "' on an integer dtype");
        }
    }
    switch (n.op()) {
    case Op::Neg: return b_.CreateFNeg(x);
    case Op::Abs: return intrinsic(llvm::Intrinsic::fabs, x);
    case Op::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, x);
    case Op::Reciprocal: return b_.CreateFDiv(llvm::ConstantFP::get(x->getType(), 1.0), x);
    case Op::Exp:
    case Op::Log:
    case Op::Sin:
    case Op::Cos:
    case Op::Tanh:
    case Op::Sigmoid:
    case Op::Erf:
        if (math_target_) return emit_math_call(b_, n.op(), {x}, *math_target_);
        return emit_math(b_, n.op(), x);
    default: break;
    }
    fail(np, "unsupported unary op");
}

llvm::Value* ExprEmitter::emit_binary(const NodeRef& np, llvm::Value* a, llvm::Value* c) {
    const Node& n = *np;
    DType t = n.input(0)->dtype();
    Op op = n.op();
    if (op == Op::And || op == Op::Or) {
        a = to_bool(t, a);
        c = to_bool(t, c);
        return op == Op::And ? b_.CreateAnd(a, c) : b_.CreateOr(a, c);
    }
    if (t == DType::Bool) {
        switch (op) {  // 0/1 arithmetic, result read as "!= 0"
        case Op::Add:
        case Op::Max: return b_.CreateOr(a, c);
        case Op::Sub: return b_.CreateXor(a, c);
        case Op::Mul:
        case Op::Div:
        case Op::Min: return b_.CreateAnd(a, c);
        case Op::Mod: return b_.getFalse();  // x % 1 = 0 and x % 0 = 0
        case Op::Pow: return b_.CreateOr(a, b_.CreateNot(c));
        case Op::Eq: return b_.CreateICmpEQ(a, c);
        case Op::Ne: return b_.CreateICmpNE(a, c);
        case Op::Lt: return b_.CreateICmpULT(a, c);
        case Op::Le: return b_.CreateICmpULE(a, c);
        default: break;
        }
    } else if (is_integral(t)) {
        switch (op) {  // two's complement wrap: no nsw/nuw flags
        case Op::Add: return b_.CreateAdd(a, c);
        case Op::Sub: return b_.CreateSub(a, c);
        case Op::Mul: return b_.CreateMul(a, c);
        case Op::Div: return emit_int_div(a, c, false);
        case Op::Mod: return emit_int_div(a, c, true);
        case Op::Max: return intrinsic(llvm::Intrinsic::smax, a, c);
        case Op::Min: return intrinsic(llvm::Intrinsic::smin, a, c);
        case Op::Pow: return emit_int_pow(a, c);
        case Op::Eq: return b_.CreateICmpEQ(a, c);
        case Op::Ne: return b_.CreateICmpNE(a, c);
        case Op::Lt: return b_.CreateICmpSLT(a, c);
        case Op::Le: return b_.CreateICmpSLE(a, c);
        default: break;
        }
    } else {
        switch (op) {  // IEEE, no fast-math flags; comparisons ordered except ne
        case Op::Add: return b_.CreateFAdd(a, c);
        case Op::Sub: return b_.CreateFSub(a, c);
        case Op::Mul: return b_.CreateFMul(a, c);
        case Op::Div: return b_.CreateFDiv(a, c);
        case Op::Mod: return b_.CreateFRem(a, c);     // C's fmod: sign of the dividend
        case Op::Max: return b_.CreateMaximum(a, c);  // NaN-propagating
        case Op::Min: return b_.CreateMinimum(a, c);
        case Op::Pow:
            if (math_target_) return emit_math_call(b_, op, {a, c}, *math_target_);
            return emit_pow(b_, a, c);
        case Op::Eq: return b_.CreateFCmpOEQ(a, c);
        case Op::Ne: return b_.CreateFCmpUNE(a, c);
        case Op::Lt: return b_.CreateFCmpOLT(a, c);
        case Op::Le: return b_.CreateFCmpOLE(a, c);
        default: break;
        }
    }
    fail(np, "unsupported binary op on " + dtype_str(t));
}

llvm::Value* ExprEmitter::emit_int_div(llvm::Value* a, llvm::Value* c, bool remainder) {
    // x / 0 = 0 and x % 0 = 0 (ops.def); x / -1 = -x (wrapping, so INT_MIN / -1 = INT_MIN) and
    // x % -1 = 0 without executing the trapping sdiv/srem.
    llvm::Type* t = a->getType();
    llvm::Value* zero = llvm::Constant::getNullValue(t);
    llvm::Value* is_zero = b_.CreateICmpEQ(c, zero);
    llvm::Value* is_m1 = b_.CreateICmpEQ(c, llvm::Constant::getAllOnesValue(t));
    llvm::Value* special = b_.CreateOr(is_zero, is_m1);
    llvm::Value* safe = b_.CreateSelect(special, llvm::ConstantInt::get(t, 1), c);
    if (remainder) return b_.CreateSelect(special, zero, b_.CreateSRem(a, safe));
    llvm::Value* q = b_.CreateSelect(is_m1, b_.CreateSub(zero, a), b_.CreateSDiv(a, safe));
    return b_.CreateSelect(is_zero, zero, q);
}

llvm::Value* ExprEmitter::emit_int_pow(llvm::Value* base, llvm::Value* e) {
    // Square-and-multiply over the exponent's bits, unrolled (straight-line, so it vectorizes).
    // Negative exponents: 1 ** e = 1, (-1) ** e = +-1, anything else truncates to 0.
    llvm::Type* t = base->getType();
    unsigned bits = t->getIntegerBitWidth();
    llvm::Value* one = llvm::ConstantInt::get(t, 1);
    llvm::Value* r = one;
    llvm::Value* p = base;
    for (unsigned k = 0; k + 1 < bits; ++k) {
        llvm::Value* bit = b_.CreateTrunc(b_.CreateLShr(e, k), b_.getInt1Ty());
        r = b_.CreateSelect(bit, b_.CreateMul(r, p), r);
        if (k + 2 < bits) p = b_.CreateMul(p, p);
    }
    llvm::Value* zero = llvm::Constant::getNullValue(t);
    llvm::Value* minus1 = llvm::Constant::getAllOnesValue(t);
    llvm::Value* odd = b_.CreateTrunc(e, b_.getInt1Ty());
    llvm::Value* neg = b_.CreateSelect(
        b_.CreateICmpEQ(base, one), one,
        b_.CreateSelect(b_.CreateICmpEQ(base, minus1), b_.CreateSelect(odd, minus1, one), zero));
    return b_.CreateSelect(b_.CreateICmpSLT(e, zero), neg, r);
}

llvm::Value* ExprEmitter::to_bool(DType dtype, llvm::Value* x) {
    if (dtype == DType::Bool) return x;
    if (is_floating(dtype))  // NaN != 0, so NaN is true (as in C and PyTorch)
        return b_.CreateFCmpUNE(x, llvm::ConstantFP::get(x->getType(), 0.0));
    return b_.CreateICmpNE(x, llvm::Constant::getNullValue(x->getType()));
}

llvm::Value* ExprEmitter::emit_cast(DType from, DType to, llvm::Value* x) {
    if (from == to) return x;
    llvm::Type* rt = register_type(b_.getContext(), to);
    if (to == DType::Bool) return to_bool(from, x);
    if (from == DType::Bool) return is_floating(to) ? b_.CreateUIToFP(x, rt) : b_.CreateZExt(x, rt);
    if (is_floating(from) && is_floating(to)) return b_.CreateFPCast(x, rt);
    if (is_floating(from))  // truncates toward zero; saturates (and NaN -> 0) instead of poison
        return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {rt, x->getType()}, {x});
    if (is_floating(to)) return b_.CreateSIToFP(x, rt);
    return b_.CreateSExtOrTrunc(x, rt);
}

}  // namespace kiln::codegen
