#pragma once
/// Scalar expressions of a loop kernel (IR nodes of shape []) as CUDA C, with the semantics of
/// ir/ops.def (internal to codegen/cuda). Like the CPU's ExprEmitter, every node gets one
/// `const` temporary per scope, scopes follow the braces of the loop nest, and the helper
/// functions the expressions call are collected so the translation unit defines only those.
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/loop_kernel.h"

namespace kiln::codegen::cuda {

/// Lines of C with the current indentation.
struct CudaWriter {
    std::string text;
    int indent = 0;
    void line(const std::string& s) {
        text.append(static_cast<size_t>(indent) * 4, ' ');
        text += s;
        text += '\n';
    }
};

/// The C type of `dtype` in registers (bool: bool) and in memory (bool: unsigned char).
const char* register_type(DType dtype);
const char* memory_type(DType dtype);

/// A C literal of `dtype` with the value of constant node `n` (exact: shortest round-trip
/// digits, hex-bit casts for NaN and infinities).
std::string literal(const ir::Node& n);
/// The literal 0 (or false) of `dtype`.
std::string zero_literal(DType dtype);
/// The literal of `value` in `dtype` for float dtypes (exact, as literal()).
std::string float_literal(double value, DType dtype);

/// Renders expressions into a CudaWriter. Borrowed references: the kernel and writer must
/// outlive the renderer.
class ExprRenderer {
public:
    ExprRenderer(const ir::LoopKernel& kernel, CudaWriter& out);

    /// The C expression of `expr`: a temporary declared at the writer's position (or earlier
    /// in an open scope), a literal, or a variable. Throws kiln::InternalError for nodes that
    /// cannot appear in a loop kernel or whose dtypes do not fit the op.
    std::string emit(const ir::NodeRef& expr);

    /// Opens a scope (one per `{`): temporaries declared from now on are forgotten by the
    /// matching close_scope().
    void open_scope();
    void close_scope();
    /// Binds loop variable `index` to the C variable `name` (a long long) in the current scope.
    void bind_var(int64_t index, const std::string& name);
    /// Binds every load from `buffer` to the C expression `element` (a value of the buffer's
    /// memory type, e.g. a vector register's component) in the current scope: the load reads
    /// it instead of `bK[index]` (its mask still applies). The caller vouches that every load
    /// of `buffer` in scope reads that element (the vector path of cuda_source.cpp: all index
    /// the point).
    void bind_load(int64_t buffer, const std::string& element);
    /// Binds reduce stage `stage`'s result to the C variable `name` (its register type).
    void bind_stage(int64_t stage, const std::string& name);
    /// Forgets temporaries computed from loads of `buffer` (call after storing into it, so
    /// later stages read what was stored).
    void forget_loads_of(int64_t buffer);

    /// Asks for helper `name` (see helper_source()) to be defined.
    void need(const std::string& name) { helpers_.insert(name); }
    /// Definitions of the helpers asked for, in dependency order.
    std::string helper_source() const;

    /// Converts a value between register and memory representation (only bool differs).
    static std::string to_memory(DType dtype, const std::string& value);

private:
    std::string emit_node(const ir::NodeRef& n);
    std::string emit_load(const ir::NodeRef& n);
    std::string emit_unary(const ir::NodeRef& n, const std::string& x);
    std::string emit_binary(const ir::NodeRef& n, const std::string& a, const std::string& b);
    std::string emit_int_arith(ir::Op op, DType t, bool index, const std::string& a,
                               const std::string& b);
    std::string emit_cast(DType from, DType to, const std::string& x);
    std::string to_bool(DType dtype, const std::string& x);

    const ir::LoopKernel& kernel_;
    CudaWriter& out_;
    /// Nodes that compute load/store indices and masks: their integer arithmetic is plain C
    /// (it cannot overflow), everything else wraps as ops.def says.
    std::unordered_set<const ir::Node*> index_nodes_;
    std::vector<std::unordered_map<const ir::Node*, std::string>> scopes_;
    std::vector<std::vector<int64_t>> scope_vars_;
    std::vector<std::string> vars_;
    std::vector<std::vector<int64_t>> scope_loads_;
    std::vector<std::string> loads_;
    std::vector<std::string> stages_;
    std::set<std::string> helpers_;
    int64_t temps_ = 0;
};

}  // namespace kiln::codegen::cuda
