// TEMPORARY stub (scalar libm calls); being replaced by vectorizable polynomial versions.
#include "codegen/llvm/vector_math.h"

#include <llvm/IR/Module.h>

#include "kiln/error.h"

namespace kiln::codegen {
namespace {
llvm::Value* call_libm(llvm::IRBuilder<>& b, const char* f32name, const char* f64name,
                       std::vector<llvm::Value*> args) {
    llvm::Type* t = args[0]->getType();
    KILN_CHECK(!t->isVectorTy(), "stub math is scalar only");
    bool is_f32 = t->isFloatTy();
    llvm::Module* m = b.GetInsertBlock()->getModule();
    std::vector<llvm::Type*> types(args.size(), t);
    auto fn = m->getOrInsertFunction(is_f32 ? f32name : f64name,
                                     llvm::FunctionType::get(t, types, false));
    return b.CreateCall(fn, args);
}
}  // namespace

llvm::Value* emit_math(llvm::IRBuilder<>& b, ir::Op op, llvm::Value* x) {
    switch (op) {
    case ir::Op::Exp: return call_libm(b, "expf", "exp", {x});
    case ir::Op::Log: return call_libm(b, "logf", "log", {x});
    case ir::Op::Sin: return call_libm(b, "sinf", "sin", {x});
    case ir::Op::Cos: return call_libm(b, "cosf", "cos", {x});
    case ir::Op::Tanh: return call_libm(b, "tanhf", "tanh", {x});
    case ir::Op::Erf: return call_libm(b, "erff", "erf", {x});
    case ir::Op::Sigmoid: {
        llvm::Value* one = llvm::ConstantFP::get(x->getType(), 1.0);
        llvm::Value* e = call_libm(b, "expf", "exp", {b.CreateFNeg(x)});
        return b.CreateFDiv(one, b.CreateFAdd(one, e));
    }
    default: KILN_CHECK(false, "emit_math: not a math op");
    }
    return nullptr;
}

llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y) {
    return call_libm(b, "powf", "pow", {x, y});
}

}  // namespace kiln::codegen
