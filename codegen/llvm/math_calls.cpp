// Out-of-line math: the library functions and the calls kernels make to them.
//
// The loop vectorizer widens a call only when it knows a vector variant of the callee: the call
// site's "vector-function-abi-variant" attribute lists them in VFABI form
// (`_ZGV_LLVM_N8v_kiln_math_sin_f32(kiln_math_sin_f32_v8)`), and the variants must be declared in
// the module. Unused declarations would be deleted by the optimizer before the vectorizer runs,
// so they are kept in llvm.compiler.used. The vectorizer picks its width by cost, so every width
// it may consider has a variant (2 lanes up to two registers' worth).
#include "codegen/llvm/math_calls.h"

#include <set>

#include <fmt/format.h>

#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/ModuleUtils.h>

#include "codegen/llvm/expr_emitter.h"
#include "codegen/llvm/vector_math.h"
#include "kiln/error.h"

namespace kiln::codegen {
namespace {

using ir::Op;

/// Lane counts with a vector variant: 2 up to two of the widest registers the kernels use.
std::vector<int> vector_lanes(DType dtype, const KernelTarget& target) {
    bool avx512 =
        target.features.find("+avx512f") != std::string::npos && target.prefer_vector_width >= 512;
    int register_bits = avx512 ? 512 : 256;
    int max_lanes = 2 * register_bits / (dtype == DType::Float64 ? 64 : 32);
    std::vector<int> lanes;
    for (int n = 2; n <= max_lanes; n *= 2) lanes.push_back(n);
    return lanes;
}

int arity(Op op) { return op == Op::Pow ? 2 : 1; }

/// A declaration (or the to-be-defined function) `name` of type t(t[, t]) that reads and writes
/// no memory, so calls to it can be vectorized, hoisted and removed when unused.
llvm::Function* math_function(llvm::Module& m, const std::string& name, llvm::Type* t, int n) {
    if (llvm::Function* f = m.getFunction(name)) return f;
    std::vector<llvm::Type*> params(static_cast<size_t>(n), t);
    auto* type = llvm::FunctionType::get(t, params, false);
    llvm::Function* f = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, m);
    f->setDoesNotAccessMemory();
    f->setDoesNotThrow();
    f->setWillReturn();
    f->addFnAttr(llvm::Attribute::NoSync);
    f->addFnAttr(llvm::Attribute::NoFree);
    return f;
}

}  // namespace

std::vector<MathFunction> math_calls_of(const ir::LoopKernel& kernel) {
    std::set<const ir::Node*> seen;
    std::set<std::pair<int, int>> functions;
    int count = 0;
    std::vector<const ir::Node*> stack;
    auto visit = [&](const ir::NodeRef& root) {
        if (!root) return;
        stack.push_back(root.get());
        while (!stack.empty()) {
            const ir::Node* n = stack.back();
            stack.pop_back();
            if (!seen.insert(n).second) continue;
            if (ir::is_transcendental(n->op()) && is_floating(n->dtype())) {
                ++count;
                functions.insert({static_cast<int>(n->op()), static_cast<int>(n->dtype())});
            }
            for (const ir::NodeRef& in : n->inputs()) stack.push_back(in.get());
        }
    };
    for (const ir::Stage& st : kernel.stages) {
        visit(st.value);
        visit(st.index);
    }
    std::vector<MathFunction> out;
    if (count <= kMaxInlineMath) return out;
    for (auto [op, dtype] : functions)
        out.push_back(MathFunction{static_cast<Op>(op), static_cast<DType>(dtype)});
    return out;
}

std::string math_symbol(const MathFunction& f, int lanes) {
    std::string name = fmt::format("kiln_math_{}_{}", ir::op_name(f.op), dtype_name(f.dtype));
    if (lanes > 0) name += fmt::format("_v{}", lanes);
    return name;
}

std::unique_ptr<llvm::Module> emit_math_module(const MathFunction& f, llvm::LLVMContext& ctx,
                                               const llvm::TargetMachine& tm,
                                               const KernelTarget& target) {
    KILN_CHECK(ir::is_transcendental(f.op) && is_floating(f.dtype),
               "emit_math_module: not a math function");
    auto module = std::make_unique<llvm::Module>(math_symbol(f), ctx);
    module->setTargetTriple(tm.getTargetTriple().str());
    module->setDataLayout(tm.createDataLayout());
    llvm::Type* scalar = register_type(ctx, f.dtype);
    std::vector<int> lanes = vector_lanes(f.dtype, target);
    lanes.insert(lanes.begin(), 0);
    for (int n : lanes) {
        llvm::Type* t = n ? llvm::FixedVectorType::get(scalar, static_cast<unsigned>(n)) : scalar;
        llvm::Function* fn = math_function(*module, math_symbol(f, n), t, arity(f.op));
        set_target_attributes(fn, target);
        llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
        llvm::Value* r = f.op == Op::Pow ? emit_pow(b, fn->getArg(0), fn->getArg(1))
                                         : emit_math(b, f.op, fn->getArg(0));
        b.CreateRet(r);
    }
    std::string errors;
    llvm::raw_string_ostream os(errors);
    if (llvm::verifyModule(*module, &os))
        throw InternalError("cpu codegen: invalid math library " + math_symbol(f) + ": " +
                            os.str());
    return module;
}

llvm::Value* emit_math_call(llvm::IRBuilder<>& b, Op op, const std::vector<llvm::Value*>& args,
                            const KernelTarget& target) {
    KILN_CHECK(static_cast<int>(args.size()) == arity(op), "emit_math_call: wrong arity");
    llvm::Type* t = args[0]->getType();
    MathFunction f{op, t->isDoubleTy() ? DType::Float64 : DType::Float32};
    llvm::Module& m = *b.GetInsertBlock()->getModule();
    llvm::Function* scalar = math_function(m, math_symbol(f), t, arity(op));
    std::string params(static_cast<size_t>(arity(op)), 'v');
    std::string mappings;
    std::vector<llvm::GlobalValue*> variants;
    for (int n : vector_lanes(f.dtype, target)) {
        llvm::Type* vt = llvm::FixedVectorType::get(t, static_cast<unsigned>(n));
        llvm::Function* v = math_function(m, math_symbol(f, n), vt, arity(op));
        variants.push_back(v);
        if (!mappings.empty()) mappings += ',';
        mappings += fmt::format("_ZGV_LLVM_N{}{}_{}({})", n, params, scalar->getName().str(),
                                v->getName().str());
    }
    // Kept in llvm.compiler.used once per module (the first call declares them).
    if (scalar->getNumUses() == 0) llvm::appendToCompilerUsed(m, variants);
    llvm::CallInst* call = b.CreateCall(scalar, args);
    call->addFnAttr(llvm::Attribute::get(b.getContext(), "vector-function-abi-variant", mappings));
    return call;
}

}  // namespace kiln::codegen
