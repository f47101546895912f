#include "codegen/llvm/host_target.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include "kiln/error.h"

namespace kiln::codegen {

void init_native_target() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
    });
}

HostCpu detect_host_cpu() {
    init_native_target();
    HostCpu cpu;
    cpu.triple = llvm::sys::getProcessTriple();
    cpu.name = llvm::sys::getHostCPUName().str();
    // Sorted, so the string (part of every cache key) does not depend on hash-map order.
    std::vector<std::string> all, enabled;
    for (const auto& f : llvm::sys::getHostCPUFeatures()) {
        all.push_back(fmt::format("{}{}", f.second ? '+' : '-', f.first().str()));
        if (f.second) enabled.push_back(fmt::format("+{}", f.first().str()));
    }
    std::sort(all.begin(), all.end());
    std::sort(enabled.begin(), enabled.end());
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
        return s;
    };
    cpu.features = join(all);
    cpu.enabled_features = join(enabled);
    return cpu;
}

std::unique_ptr<llvm::TargetMachine> create_target_machine(const HostCpu& cpu) {
    init_native_target();
    std::string error;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(cpu.triple, error);
    if (!target) throw InternalError("no LLVM target for " + cpu.triple + ": " + error);
    llvm::TargetOptions options;  // strict IEEE: fast-math only where the IR says so
    // PIC + small code model: the JIT linker places each object's sections together and reaches
    // libm and libc through its own stubs, so objects work wherever they are loaded.
    std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
        cpu.triple, cpu.name, cpu.features, options, llvm::Reloc::PIC_, llvm::CodeModel::Small,
        llvm::CodeGenOptLevel::Default, /*JIT=*/true));
    if (!tm) throw InternalError("LLVM could not create a target machine for " + cpu.triple);
    return tm;
}

void optimize_module(llvm::Module& module, llvm::TargetMachine& tm) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions tuning;
    tuning.LoopVectorization = true;
    tuning.SLPVectorization = true;
    tuning.LoopUnrolling = true;
    tuning.LoopInterleaving = true;
    llvm::PassBuilder pb(&tm, tuning);
    // The library info for the module's triple: tells the optimizer which libm calls exist.
    llvm::TargetLibraryInfoImpl tlii(llvm::Triple(module.getTargetTriple()));
    fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
    mpm.run(module, mam);
}

namespace {
llvm::SmallVector<char, 0> emit_file(llvm::Module& module, llvm::TargetMachine& tm,
                                     llvm::CodeGenFileType type) {
    llvm::SmallVector<char, 0> bytes;
    llvm::raw_svector_ostream os(bytes);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, type))
        throw InternalError("LLVM target " + module.getTargetTriple() + " cannot emit " +
                            (type == llvm::CodeGenFileType::ObjectFile ? "objects" : "assembly"));
    pm.run(module);
    return bytes;
}
}  // namespace

llvm::SmallVector<char, 0> emit_object(llvm::Module& module, llvm::TargetMachine& tm) {
    return emit_file(module, tm, llvm::CodeGenFileType::ObjectFile);
}

std::string emit_assembly(llvm::Module& module, llvm::TargetMachine& tm) {
    llvm::SmallVector<char, 0> text = emit_file(module, tm, llvm::CodeGenFileType::AssemblyFile);
    return std::string(text.data(), text.size());
}

}  // namespace kiln::codegen
