// JIT-compiled loops around emit_math / emit_pow, for tests and benchmarks of the vector math
// (see vector_math_selftest.h). Mirrors the CPU backend's path: IRBuilder -> O3 with the host
// target machine -> ORC LLJIT, with "prefer-vector-width"="512" so AVX-512 hosts get zmm code.
#include "codegen/llvm/vector_math_selftest.h"

#include <map>
#include <memory>
#include <mutex>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include "codegen/llvm/vector_math.h"
#include "kiln/error.h"

namespace kiln::codegen {
namespace {

std::string error_text(llvm::Error e) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << e;
    return s;
}

template <typename T>
T check_expected(llvm::Expected<T> v, const char* what) {
    if (!v) KILN_CHECK(false, std::string(what) + ": " + error_text(v.takeError()));
    return std::move(*v);
}

// One JIT for all self-test kernels, plus the cache of compiled loops.
class MathJit {
public:
    MathJit() {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        auto jtmb = check_expected(llvm::orc::JITTargetMachineBuilder::detectHost(), "host");
        cpu_ = jtmb.getCPU();
        features_ = jtmb.getFeatures().getString();
        jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
        tm_ = check_expected(jtmb.createTargetMachine(), "target machine");
        jit_ = check_expected(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(),
                              "LLJIT");
    }

    const MathKernel& get(ir::Op op, bool f64) {
        std::lock_guard<std::mutex> lock(mu_);
        auto key = std::make_pair(static_cast<int>(op), f64);
        auto it = cache_.find(key);
        if (it != cache_.end()) return it->second;
        return cache_[key] = compile(op, f64);
    }

private:
    MathKernel compile(ir::Op op, bool f64) {
        auto ctx = std::make_unique<llvm::LLVMContext>();
        std::string name =
            std::string("kiln_math_") + std::string(ir::op_name(op)) + (f64 ? "_f64" : "_f32");
        auto mod = std::make_unique<llvm::Module>(name, *ctx);
        mod->setDataLayout(tm_->createDataLayout());
        mod->setTargetTriple(tm_->getTargetTriple().str());
        build_loop(*mod, name, op, f64);
        KILN_CHECK(!llvm::verifyModule(*mod, &llvm::errs()), "self-test module does not verify");
        optimize(*mod);

        MathKernel k;
        llvm::raw_string_ostream os(k.optimized_ir);
        mod->print(os, nullptr);
        os.flush();
        llvm::cantFail(
            jit_->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))));
        auto addr = check_expected(jit_->lookup(name), "lookup");
        k.fn = addr.toPtr<MathKernel::Fn>();
        return k;
    }

    // void name(ptr x, ptr y, ptr out, i64 n) { for (i = 0; i < n; ++i) out[i] = f(x[i]...); }
    void build_loop(llvm::Module& mod, const std::string& name, ir::Op op, bool f64) {
        llvm::LLVMContext& c = mod.getContext();
        llvm::Type* ptr = llvm::PointerType::getUnqual(c);
        llvm::Type* i64 = llvm::Type::getInt64Ty(c);
        llvm::Type* ft = f64 ? llvm::Type::getDoubleTy(c) : llvm::Type::getFloatTy(c);
        auto* fty = llvm::FunctionType::get(llvm::Type::getVoidTy(c), {ptr, ptr, ptr, i64}, false);
        auto* fn = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, mod);
        for (unsigned i = 0; i < 3; ++i) fn->addParamAttr(i, llvm::Attribute::NoAlias);
        fn->addFnAttr(llvm::Attribute::NoUnwind);
        fn->addFnAttr("target-cpu", cpu_);
        fn->addFnAttr("target-features", features_);
        fn->addFnAttr("prefer-vector-width", "512");

        auto* entry = llvm::BasicBlock::Create(c, "entry", fn);
        auto* loop = llvm::BasicBlock::Create(c, "loop", fn);
        auto* exit = llvm::BasicBlock::Create(c, "exit", fn);
        llvm::IRBuilder<> b(entry);
        llvm::Value* n = fn->getArg(3);
        b.CreateCondBr(b.CreateICmpSGT(n, b.getInt64(0)), loop, exit);

        b.SetInsertPoint(loop);
        llvm::PHINode* i = b.CreatePHI(i64, 2, "i");
        i->addIncoming(b.getInt64(0), entry);
        llvm::Value* x = b.CreateLoad(ft, b.CreateGEP(ft, fn->getArg(0), i));
        llvm::Value* r;
        if (op == ir::Op::Pow) {
            llvm::Value* y = b.CreateLoad(ft, b.CreateGEP(ft, fn->getArg(1), i));
            r = emit_pow(b, x, y);
        } else {
            r = emit_math(b, op, x);
        }
        b.CreateStore(r, b.CreateGEP(ft, fn->getArg(2), i));
        llvm::Value* next = b.CreateAdd(i, b.getInt64(1), "next", true, true);
        i->addIncoming(next, loop);
        b.CreateCondBr(b.CreateICmpSLT(next, n), loop, exit);
        b.SetInsertPoint(exit);
        b.CreateRetVoid();
    }

    void optimize(llvm::Module& mod) {
        llvm::LoopAnalysisManager lam;
        llvm::FunctionAnalysisManager fam;
        llvm::CGSCCAnalysisManager cgam;
        llvm::ModuleAnalysisManager mam;
        llvm::PassBuilder pb(tm_.get());
        pb.registerModuleAnalyses(mam);
        pb.registerCGSCCAnalyses(cgam);
        pb.registerFunctionAnalyses(fam);
        pb.registerLoopAnalyses(lam);
        pb.crossRegisterProxies(lam, fam, cgam, mam);
        pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(mod, mam);
    }

    std::string cpu_, features_;
    std::unique_ptr<llvm::TargetMachine> tm_;
    std::unique_ptr<llvm::orc::LLJIT> jit_;
    std::mutex mu_;
    std::map<std::pair<int, bool>, MathKernel> cache_;
};

MathJit& math_jit() {
    static MathJit jit;
    return jit;
}

template <typename T>
std::vector<T> run(ir::Op op, const std::vector<T>& x, const std::vector<T>* y) {
    std::vector<T> out(x.size());
    const MathKernel& k = math_kernel(op, sizeof(T) == 8);
    k.fn(x.data(), y ? y->data() : nullptr, out.data(), static_cast<int64_t>(x.size()));
    return out;
}

}  // namespace

const MathKernel& math_kernel(ir::Op op, bool f64) {
    switch (op) {
    case ir::Op::Exp:
    case ir::Op::Log:
    case ir::Op::Sin:
    case ir::Op::Cos:
    case ir::Op::Tanh:
    case ir::Op::Sigmoid:
    case ir::Op::Erf:
    case ir::Op::Pow: break;
    default: KILN_CHECK(false, "math_kernel: not a math op: " + std::string(ir::op_name(op)));
    }
    return math_jit().get(op, f64);
}

std::vector<float> eval_math_f32(ir::Op op, const std::vector<float>& x) {
    return run<float>(op, x, nullptr);
}
std::vector<double> eval_math_f64(ir::Op op, const std::vector<double>& x) {
    return run<double>(op, x, nullptr);
}
std::vector<float> eval_pow_f32(const std::vector<float>& x, const std::vector<float>& y) {
    KILN_CHECK(x.size() == y.size(), "eval_pow_f32: sizes differ");
    return run<float>(ir::Op::Pow, x, &y);
}
std::vector<double> eval_pow_f64(const std::vector<double>& x, const std::vector<double>& y) {
    KILN_CHECK(x.size() == y.size(), "eval_pow_f64: sizes differ");
    return run<double>(ir::Op::Pow, x, &y);
}

}  // namespace kiln::codegen
