#include "codegen/llvm/kernel_emitter.h"

#include <cmath>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>

#include "codegen/llvm/expr_emitter.h"
#include "codegen/llvm/math_calls.h"
#include "codegen/llvm/vector_math.h"
#include "kiln/error.h"

namespace kiln::codegen {
namespace {

using ir::Op;

/// Emits one kernel's `impl` body: the outer loop nest, then the stages at each outer point.
class KernelBuilder {
public:
    KernelBuilder(const ir::LoopKernel& kernel, llvm::Function* impl, const KernelTarget& target)
        : kernel_(kernel), fn_(impl), b_(impl->getContext()),
          entry_(llvm::BasicBlock::Create(impl->getContext(), "entry", impl)),
          ex_(b_, kernel, buffer_args(impl, kernel.buffers.size())) {
        b_.SetInsertPoint(entry_);
        if (!math_calls_of(kernel).empty()) ex_.call_math(target);
        size_t nargs = kernel.buffers.size();
        begin_ = impl->getArg(static_cast<unsigned>(nargs));
        end_ = impl->getArg(static_cast<unsigned>(nargs + 1));
    }

    void build() {
        emit_outer(0);
        b_.CreateRetVoid();
    }

private:
    static std::vector<llvm::Value*> buffer_args(llvm::Function* f, size_t n) {
        std::vector<llvm::Value*> v;
        for (size_t i = 0; i < n; ++i) v.push_back(f->getArg(static_cast<unsigned>(i)));
        return v;
    }

    /// for (var = lo; var < hi; ++var) body(), in the rotated form the loop passes expect:
    /// a guard (only when the loop may be empty), the header/body, and a latch compare.
    void emit_loop(int64_t var, llvm::Value* lo, llvm::Value* hi, bool guard,
                   const std::function<void()>& body) {
        emit_counted(fmt::format("v{}", var), lo, hi, 1, guard, [&](llvm::Value* iv) {
            ex_.open_scope();
            ex_.bind_var(var, iv);
            body();
            ex_.close_scope();
        });
    }

    /// for (iv = lo; iv < hi; iv += step) body(iv).
    void emit_counted(const std::string& name, llvm::Value* lo, llvm::Value* hi, int64_t step,
                      bool guard, const std::function<void(llvm::Value*)>& body) {
        llvm::LLVMContext& ctx = b_.getContext();
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        auto* header = llvm::BasicBlock::Create(ctx, name + ".loop", fn_);
        auto* exit = llvm::BasicBlock::Create(ctx, name + ".end", fn_);
        if (guard)
            b_.CreateCondBr(b_.CreateICmpSLT(lo, hi), header, exit);
        else
            b_.CreateBr(header);
        b_.SetInsertPoint(header);
        llvm::PHINode* iv = b_.CreatePHI(b_.getInt64Ty(), 2, name);
        iv->addIncoming(lo, pre);
        int64_t loops_before = loops_emitted_++;
        body(iv);
        bool has_inner_loop = loops_emitted_ > loops_before + 1;
        llvm::Value* next = b_.CreateAdd(iv, b_.getInt64(step), name + ".next", true, true);
        llvm::BranchInst* br = b_.CreateCondBr(b_.CreateICmpSLT(next, hi), header, exit);
        iv->addIncoming(next, b_.GetInsertBlock());
        // Every kernel loop is finite and side-effect-free apart from its stores.
        llvm::MDNode* progress =
            llvm::MDNode::get(ctx, llvm::MDString::get(ctx, "llvm.loop.mustprogress"));
        std::vector<llvm::Metadata*> properties{nullptr, progress};
        // Only innermost loops are vectorized. A small inner loop that LLVM unrolls fully makes
        // its parent innermost, and vectorizing that across rows (an interleaved access group
        // per store: [256, 10] in the loss's backward) cost 160 ms of instruction selection
        // for a kernel that runs in microseconds; SLP still vectorizes the unrolled body.
        if (has_inner_loop)
            properties.push_back(llvm::MDNode::get(
                ctx, {llvm::MDString::get(ctx, "llvm.loop.vectorize.enable"),
                      llvm::ConstantAsMetadata::get(b_.getFalse())}));
        llvm::MDNode* loop_id = llvm::MDNode::getDistinct(ctx, properties);
        loop_id->replaceOperandWith(0, loop_id);
        br->setMetadata(llvm::LLVMContext::MD_loop, loop_id);
        b_.SetInsertPoint(exit);
    }

    /// Runs `body` inside the loops `extents` (variables first_var, first_var+1, ...). A zero
    /// extent anywhere means the body never runs, so nothing is emitted.
    void emit_nest(const ir::Shape& extents, int64_t first_var, size_t level,
                   const std::function<void()>& body) {
        if (level == extents.size()) return body();
        if (extents[level] < 0) throw InternalError("cpu codegen: negative loop extent");
        if (extents[level] == 0) return;
        emit_loop(first_var + static_cast<int64_t>(level), b_.getInt64(0),
                  b_.getInt64(extents[level]), false,
                  [&] { emit_nest(extents, first_var, level + 1, body); });
    }

    void emit_outer(size_t level) {
        const ir::Shape& outer = kernel_.outer;
        if (outer.empty()) {
            // No outer loops: the stages run once when the range [begin, end) is not empty.
            auto* run = llvm::BasicBlock::Create(b_.getContext(), "once", fn_);
            auto* done = llvm::BasicBlock::Create(b_.getContext(), "once.end", fn_);
            b_.CreateCondBr(b_.CreateICmpSLT(begin_, end_), run, done);
            b_.SetInsertPoint(run);
            emit_stages();
            b_.CreateBr(done);
            b_.SetInsertPoint(done);
            return;
        }
        if (level == outer.size()) return emit_stages();
        if (outer[level] < 0) throw InternalError("cpu codegen: negative outer extent");
        if (kernel_.tile > 0 && level + 2 == outer.size()) return emit_tiled(level);
        if (level == 0) {
            auto [lo, hi] = parallel_range();
            emit_loop(0, lo, hi, true, [&] { emit_outer(1); });
            return;
        }
        if (outer[level] == 0) return;
        emit_loop(static_cast<int64_t>(level), b_.getInt64(0), b_.getInt64(outer[level]), false,
                  [&] { emit_outer(level + 1); });
    }

    /// The caller's [begin, end) of outer loop 0, clamped to the loop so that a bad range cannot
    /// write out of bounds.
    std::pair<llvm::Value*, llvm::Value*> parallel_range() {
        return {b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, begin_, b_.getInt64(0)),
                b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, end_,
                                         b_.getInt64(kernel_.outer[0]))};
    }

    /// The last two outer loops in tile x tile blocks (see LoopKernel::tile).
    void emit_tiled(size_t level) {
        const ir::Shape& outer = kernel_.outer;
        if (outer[level] == 0 || outer[level + 1] == 0) return;
        int64_t t = kernel_.tile;
        llvm::Value* lo = b_.getInt64(0);
        llvm::Value* hi = b_.getInt64(outer[level]);
        if (level == 0) std::tie(lo, hi) = parallel_range();
        llvm::Value* cols = b_.getInt64(outer[level + 1]);
        auto var = static_cast<int64_t>(level);
        int64_t lanes = block_lanes(t);
        emit_counted("tile_i", lo, hi, t, true, [&](llvm::Value* ib) {
            llvm::Value* ie = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                                       b_.CreateAdd(ib, b_.getInt64(t)), hi);
            emit_counted("tile_j", b_.getInt64(0), cols, t, false, [&](llvm::Value* jb) {
                llvm::Value* je = b_.CreateBinaryIntrinsic(
                    llvm::Intrinsic::smin, b_.CreateAdd(jb, b_.getInt64(t)), cols);
                auto scalar = [&] {
                    emit_loop(var, ib, ie, false,
                              [&] { emit_loop(var + 1, jb, je, false, [&] { emit_stages(); }); });
                };
                if (lanes == 0) return scalar();
                // Whole tiles of a plain transposed copy move lanes x lanes blocks through
                // registers; edge tiles take the scalar loops.
                llvm::Value* whole = b_.CreateAnd(
                    b_.CreateICmpEQ(b_.CreateSub(ie, ib), b_.getInt64(t)),
                    b_.CreateICmpEQ(b_.CreateSub(je, jb), b_.getInt64(t)));
                llvm::LLVMContext& ctx = b_.getContext();
                auto* vec = llvm::BasicBlock::Create(ctx, "tile.vector", fn_);
                auto* edge = llvm::BasicBlock::Create(ctx, "tile.edge", fn_);
                auto* done = llvm::BasicBlock::Create(ctx, "tile.done", fn_);
                b_.CreateCondBr(whole, vec, edge);
                b_.SetInsertPoint(vec);
                emit_counted("blk_i", ib, ie, lanes, false, [&](llvm::Value* bi) {
                    emit_counted("blk_j", jb, je, lanes, false, [&](llvm::Value* bj) {
                        emit_block_transpose(var, bi, bj, lanes);
                    });
                });
                b_.CreateBr(done);
                b_.SetInsertPoint(edge);
                scalar();
                b_.CreateBr(done);
                b_.SetInsertPoint(done);
            });
        });
    }

    /// Lanes of the register-block path for this kernel: a single store of one unmasked load
    /// of the same f32/f64 buffer kind (a materialized transpose), else 0.
    int64_t block_lanes(int64_t tile) const {
        if (kernel_.stages.size() != 1) return 0;
        const ir::Stage& st = kernel_.stages[0];
        const ir::NodeRef& v = st.value;
        if (st.kind != ir::StageKind::Store || v->op() != Op::Load || v->inputs().size() != 1)
            return 0;
        int64_t lanes = v->dtype() == DType::Float32 ? 8 : v->dtype() == DType::Float64 ? 4 : 0;
        return lanes && tile % lanes == 0 ? lanes : 0;
    }

    /// Copies the block of outer points (bi.., bj..) of size lanes x lanes: `lanes` vector loads
    /// along var `var` (the load's contiguous direction), a transpose by log2(lanes) rounds of
    /// interleaving shuffles, and `lanes` vector stores along var + 1.
    void emit_block_transpose(int64_t var, llvm::Value* bi, llvm::Value* bj, int64_t lanes) {
        const ir::Stage& st = kernel_.stages[0];
        const ir::KernelBuffer& out = kernel_.buffers[static_cast<size_t>(st.buffer)];
        int64_t in_buf = st.value->attr_as<ir::LoadAttr>().buffer;
        llvm::Type* et = memory_type(b_.getContext(), out.dtype);
        auto* vt = llvm::FixedVectorType::get(et, static_cast<unsigned>(lanes));
        auto at = [&](const ir::NodeRef& index, llvm::Value* i, llvm::Value* j, int64_t buf) {
            ex_.open_scope();
            ex_.bind_var(var, i);
            ex_.bind_var(var + 1, j);
            llvm::Value* offset = b_.CreateSExt(ex_.emit(index), b_.getInt64Ty());
            ex_.close_scope();
            return b_.CreateInBoundsGEP(et, fn_->getArg(static_cast<unsigned>(buf)), offset);
        };
        // rows[k] = in[(bi .. bi+lanes), bj + k]: contiguous along var.
        std::vector<llvm::Value*> rows;
        for (int64_t k = 0; k < lanes; ++k) {
            llvm::Value* j = b_.CreateAdd(bj, b_.getInt64(k));
            rows.push_back(b_.CreateAlignedLoad(vt, at(st.value->input(0), bi, j, in_buf),
                                                llvm::Align(alignof(float))));
        }
        // Perfect-shuffle rounds: new[2i] = lo(old[i], old[i+n/2]), new[2i+1] = hi(...).
        auto n = static_cast<size_t>(lanes);
        std::vector<int> lo_mask, hi_mask;
        for (int64_t e = 0; e < lanes / 2; ++e) {
            lo_mask.push_back(static_cast<int>(e));
            lo_mask.push_back(static_cast<int>(e + lanes));
            hi_mask.push_back(static_cast<int>(e + lanes / 2));
            hi_mask.push_back(static_cast<int>(e + lanes / 2 + lanes));
        }
        for (int64_t round = 1; round < lanes; round *= 2) {
            std::vector<llvm::Value*> next(n);
            for (size_t i = 0; i < n / 2; ++i) {
                next[2 * i] = b_.CreateShuffleVector(rows[i], rows[i + n / 2], lo_mask);
                next[2 * i + 1] = b_.CreateShuffleVector(rows[i], rows[i + n / 2], hi_mask);
            }
            rows = std::move(next);
        }
        // rows[k] now holds in[bi + k, bj ..]: store it to out[bi + k, bj ..].
        for (int64_t k = 0; k < lanes; ++k) {
            llvm::Value* i = b_.CreateAdd(bi, b_.getInt64(k));
            b_.CreateAlignedStore(rows[static_cast<size_t>(k)], at(st.index, i, bj, st.buffer),
                                  llvm::Align(alignof(float)));
        }
    }

    void emit_stages() {
        for (size_t k = 0; k < kernel_.stages.size(); ++k) {
            const ir::Stage& st = kernel_.stages[k];
            if (!st.value)
                throw InternalError("cpu codegen: stage " + std::to_string(k) + " has no value");
            if (st.kind == ir::StageKind::Reduce)
                emit_reduce(static_cast<int64_t>(k), st);
            else
                emit_store(static_cast<int64_t>(k), st);
        }
    }

    llvm::Value* identity(Op op, DType t) {
        llvm::Type* rt = register_type(b_.getContext(), t);
        bool is_sum = op == Op::ReduceSum, is_max = op == Op::ReduceMax;
        if (t == DType::Bool) return b_.getInt1(op == Op::ReduceMin);
        if (is_floating(t))
            return llvm::ConstantFP::get(rt, is_sum ? 0.0 : is_max ? -INFINITY : INFINITY);
        unsigned bits = rt->getIntegerBitWidth();
        if (is_sum) return llvm::ConstantInt::get(rt, 0);
        return llvm::ConstantInt::get(b_.getContext(), is_max
                                                           ? llvm::APInt::getSignedMinValue(bits)
                                                           : llvm::APInt::getSignedMaxValue(bits));
    }

    llvm::Value* combine(Op op, DType t, llvm::Value* acc, llvm::Value* v) {
        if (t == DType::Bool)
            return op == Op::ReduceMin ? b_.CreateAnd(acc, v) : b_.CreateOr(acc, v);
        if (is_floating(t)) {
            if (op == Op::ReduceMax) return b_.CreateMaximum(acc, v);
            if (op == Op::ReduceMin) return b_.CreateMinimum(acc, v);
            // The only fast-math in Kiln kernels: sums may be reassociated (ops.def), which lets
            // the loop vectorizer keep several partial sums.
            llvm::Value* s = b_.CreateFAdd(acc, v);
            if (auto* inst = llvm::dyn_cast<llvm::Instruction>(s)) {
                llvm::FastMathFlags fmf;
                fmf.setAllowReassoc();
                fmf.setNoSignedZeros();
                inst->setFastMathFlags(fmf);
            }
            return s;
        }
        if (op == Op::ReduceMax) return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, acc, v);
        if (op == Op::ReduceMin) return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, acc, v);
        return b_.CreateAdd(acc, v);
    }

    void emit_reduce(int64_t k, const ir::Stage& st) {
        Op op = st.reduce_op;
        if (op != Op::ReduceSum && op != Op::ReduceMax && op != Op::ReduceMin)
            throw InternalError("cpu codegen: stage " + std::to_string(k) + " reduces with '" +
                                std::string(ir::op_name(op)) + "'");
        DType t = st.value->dtype();
        llvm::Type* rt = register_type(b_.getContext(), t);
        // The accumulator lives in an alloca that SROA turns into loop phis; this keeps nested
        // reduction loops simple to emit.
        llvm::IRBuilder<> entry_builder(entry_, entry_->begin());
        llvm::AllocaInst* acc = entry_builder.CreateAlloca(rt, nullptr, "acc" + std::to_string(k));
        b_.CreateStore(identity(op, t), acc);
        emit_nest(st.loops, static_cast<int64_t>(kernel_.outer.size()), 0, [&] {
            llvm::Value* v = ex_.emit(st.value);
            b_.CreateStore(combine(op, t, b_.CreateLoad(rt, acc), v), acc);
        });
        ex_.bind_stage(k, b_.CreateLoad(rt, acc, "stage" + std::to_string(k)));
    }

    void emit_store(int64_t k, const ir::Stage& st) {
        int64_t buf = st.buffer;
        if (buf < 0 || static_cast<size_t>(buf) >= kernel_.buffers.size())
            throw InternalError("cpu codegen: stage " + std::to_string(k) + " stores to buffer " +
                                std::to_string(buf));
        const ir::KernelBuffer& kb = kernel_.buffers[static_cast<size_t>(buf)];
        if (st.value->dtype() != kb.dtype || !st.index || !is_integral(st.index->dtype()))
            throw InternalError("cpu codegen: stage " + std::to_string(k) + " stores " +
                                dtype_name(st.value->dtype()) + " into a " + dtype_name(kb.dtype) +
                                " buffer (index must be an integer)");
        // Every store into an empty buffer would be out of bounds: the loops cannot run.
        if (kb.numel == 0) return;
        llvm::Type* mt = memory_type(b_.getContext(), kb.dtype);
        emit_nest(st.loops, static_cast<int64_t>(kernel_.outer.size()), 0, [&] {
            llvm::Value* index = b_.CreateSExt(ex_.emit(st.index), b_.getInt64Ty());
            llvm::Value* value = ex_.to_memory(kb.dtype, ex_.emit(st.value));
            llvm::Value* ptr =
                b_.CreateInBoundsGEP(mt, fn_->getArg(static_cast<unsigned>(buf)), index);
            b_.CreateStore(value, ptr);
        });
        ex_.forget_loads_of(buf);
    }

    const ir::LoopKernel& kernel_;
    llvm::Function* fn_;
    llvm::IRBuilder<> b_;
    llvm::BasicBlock* entry_;
    ExprEmitter ex_;
    llvm::Value* begin_ = nullptr;
    llvm::Value* end_ = nullptr;
    int64_t loops_emitted_ = 0;  ///< loops opened so far (tells a loop whether it has inner ones)
};

}  // namespace

void set_target_attributes(llvm::Function* f, const KernelTarget& target) {
    f->addFnAttr(llvm::Attribute::NoUnwind);
    if (!target.cpu.empty()) f->addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty()) f->addFnAttr("target-features", target.features);
    if (target.prefer_vector_width > 0)
        f->addFnAttr("prefer-vector-width", std::to_string(target.prefer_vector_width));
}

std::unique_ptr<llvm::Module> emit_kernel_module(const ir::LoopKernel& kernel,
                                                 const std::string& symbol, llvm::LLVMContext& ctx,
                                                 const llvm::TargetMachine& tm,
                                                 const KernelTarget& target) {
    auto module = std::make_unique<llvm::Module>(symbol, ctx);
    module->setTargetTriple(tm.getTargetTriple().str());
    module->setDataLayout(tm.createDataLayout());

    llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
    llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
    std::vector<llvm::Type*> impl_params(kernel.buffers.size(), ptr);
    impl_params.push_back(i64);
    impl_params.push_back(i64);
    auto* impl_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), impl_params, false);
    auto* impl = llvm::Function::Create(impl_type, llvm::Function::InternalLinkage,
                                        symbol + ".impl", module.get());
    set_target_attributes(impl, target);
    // The runtime never passes one buffer twice, so each buffer pointer is noalias: this is
    // what lets the vectorizer skip runtime overlap checks.
    for (size_t i = 0; i < kernel.buffers.size(); ++i) {
        impl->addParamAttr(static_cast<unsigned>(i), llvm::Attribute::NoAlias);
        impl->addParamAttr(static_cast<unsigned>(i), llvm::Attribute::NoCapture);
        impl->getArg(static_cast<unsigned>(i))->setName("buf" + std::to_string(i));
    }
    impl->getArg(static_cast<unsigned>(kernel.buffers.size()))->setName("begin");
    impl->getArg(static_cast<unsigned>(kernel.buffers.size() + 1))->setName("end");
    KernelBuilder(kernel, impl, target).build();

    // void symbol(void** buffers, const int64_t* sizes, int64_t begin, int64_t end)
    auto* entry_type =
        llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, i64, i64}, false);
    auto* entry =
        llvm::Function::Create(entry_type, llvm::Function::ExternalLinkage, symbol, module.get());
    set_target_attributes(entry, target);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
    std::vector<llvm::Value*> args;
    for (size_t i = 0; i < kernel.buffers.size(); ++i) {
        llvm::Value* slot = b.CreateConstInBoundsGEP1_64(ptr, entry->getArg(0), i);
        args.push_back(b.CreateLoad(ptr, slot, "buf" + std::to_string(i)));
    }
    args.push_back(entry->getArg(2));
    args.push_back(entry->getArg(3));
    b.CreateCall(impl, args);
    b.CreateRetVoid();

    std::string errors;
    llvm::raw_string_ostream os(errors);
    if (llvm::verifyModule(*module, &os))
        throw InternalError("cpu codegen: invalid LLVM IR for kernel '" + kernel.name +
                            "': " + os.str());
    return module;
}

uint64_t vector_math_fingerprint() {
    llvm::LLVMContext ctx;
    llvm::Module module("kiln_math_fingerprint", ctx);
    llvm::IRBuilder<> b(ctx);
    for (llvm::Type* t : {b.getFloatTy(), b.getDoubleTy()}) {
        auto* type = llvm::FunctionType::get(t, {t, t}, false);
        auto* f = llvm::Function::Create(type, llvm::Function::ExternalLinkage, "f", module);
        b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
        llvm::Value* acc = emit_pow(b, f->getArg(0), f->getArg(1));
        for (Op op : {Op::Exp, Op::Log, Op::Sin, Op::Cos, Op::Tanh, Op::Sigmoid, Op::Erf})
            acc = b.CreateFAdd(acc, emit_math(b, op, f->getArg(0)));
        b.CreateRet(acc);
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os, nullptr);
    return llvm::xxh3_64bits(llvm::StringRef(os.str()));
}

}  // namespace kiln::codegen
