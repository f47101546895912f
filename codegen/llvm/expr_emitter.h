#pragma once
/// Scalar expressions of a loop kernel (IR nodes of shape []) as LLVM IR, with the exact
/// semantics of ir/ops.def. Values are memoized per node within nested scopes that follow the
/// loop nest, so a shared subexpression is emitted once per scope and a value is only reused
/// where its definition dominates the use.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <llvm/IR/IRBuilder.h>

#include "codegen/llvm/kernel_emitter.h"
#include "ir/loop_kernel.h"

namespace kiln::codegen {

/// The type of `dtype` in registers (bool: i1).
llvm::Type* register_type(llvm::LLVMContext& ctx, DType dtype);
/// The type of `dtype` in memory (bool: i8).
llvm::Type* memory_type(llvm::LLVMContext& ctx, DType dtype);

/// Emits expressions at the builder's insertion point. Borrowed references: the builder and the
/// kernel must outlive the emitter.
class ExprEmitter {
public:
    /// `buffers[i]` is the pointer to kernel buffer i (the `impl` function's arguments).
    ExprEmitter(llvm::IRBuilder<>& builder, const ir::LoopKernel& kernel,
                std::vector<llvm::Value*> buffers);

    /// The value of `expr` (register type of its dtype). Throws kiln::InternalError for nodes
    /// that cannot appear in a loop kernel or whose dtypes do not fit the op.
    llvm::Value* emit(const ir::NodeRef& expr);

    /// Opens a scope: values memoized from now on are forgotten by the matching close_scope().
    /// Open one per loop body (the body's blocks are dominated by the loop header).
    void open_scope();
    void close_scope();

    /// Binds loop variable `index` (an i64) for the current scope and below.
    void bind_var(int64_t index, llvm::Value* value);
    /// Binds the result of reduce stage `stage` (register type) for later stages.
    void bind_stage(int64_t stage, llvm::Value* value);

    /// From now on, transcendental functions are calls of the math library for `target`
    /// (math_calls.h) instead of inline code. `target` must outlive the emitter.
    void call_math(const KernelTarget& target) { math_target_ = &target; }

    /// Forgets memoized values computed from loads of `buffer` (call after storing into it, so
    /// later stages read what was stored).
    void forget_loads_of(int64_t buffer);

    /// Converts between register and memory representation (only bool differs).
    llvm::Value* to_memory(DType dtype, llvm::Value* value);
    llvm::Value* from_memory(DType dtype, llvm::Value* value);

private:
    llvm::Value* emit_node(const ir::NodeRef& n);
    llvm::Value* emit_load(const ir::NodeRef& n);
    llvm::Value* emit_philox(const ir::NodeRef& n);
    llvm::Value* emit_unary(const ir::NodeRef& n, llvm::Value* x);
    llvm::Value* emit_binary(const ir::NodeRef& n, llvm::Value* a, llvm::Value* b);
    llvm::Value* emit_cast(DType from, DType to, llvm::Value* x);
    llvm::Value* emit_int_div(llvm::Value* a, llvm::Value* b, bool remainder);
    llvm::Value* emit_int_pow(llvm::Value* base, llvm::Value* exponent);
    llvm::Value* to_bool(DType dtype, llvm::Value* x);
    llvm::Value* intrinsic(unsigned id, llvm::Value* a, llvm::Value* b = nullptr);

    llvm::IRBuilder<>& b_;
    const ir::LoopKernel& kernel_;
    std::vector<llvm::Value*> buffers_;
    /// Innermost scope last; each maps a node to its value in that scope.
    std::vector<std::unordered_map<const ir::Node*, llvm::Value*>> scopes_;
    /// Per scope, the loop variables it bound (restored on close).
    std::vector<std::vector<int64_t>> scope_vars_;
    std::vector<llvm::Value*> vars_;    ///< loop variable index -> current value (or null)
    std::vector<llvm::Value*> stages_;  ///< reduce stage index -> result (or null)
    const KernelTarget* math_target_ = nullptr;  ///< set: math is called, not inlined
};

}  // namespace kiln::codegen
