#pragma once
// Small builders for hand-written loop kernels in the CPU backend tests.
#include <cstdint>
#include <vector>

#include "codegen/cpu_compiler.h"
#include "ir/loop_kernel.h"
#include "ir/node.h"

namespace kiln::test {

using ir::Node;
using ir::NodeRef;
using ir::Op;

inline NodeRef var(int64_t i) { return Node::make(Op::LoopVar, kInt64, {}, {}, ir::VarAttr{i}); }
inline NodeRef idx(int64_t v) { return ir::make_int_const(v, kInt64); }
inline NodeRef cst(double v, DType t) { return ir::make_const(v, t); }
inline NodeRef icst(int64_t v, DType t) { return ir::make_int_const(v, t); }
inline NodeRef load(int64_t buffer, DType t, NodeRef index, NodeRef valid = nullptr) {
    std::vector<NodeRef> in{std::move(index)};
    if (valid) in.push_back(std::move(valid));
    return Node::make(Op::Load, t, {}, std::move(in), ir::LoadAttr{buffer});
}
inline NodeRef stage(int64_t k, DType t) {
    return Node::make(Op::StageResult, t, {}, {}, ir::StageAttr{k});
}
inline NodeRef un(Op op, NodeRef a) {
    DType t = op == Op::Not ? kBool : a->dtype();
    return Node::make(op, t, {}, {std::move(a)});
}
inline NodeRef cast(NodeRef a, DType t) { return Node::make(Op::Cast, t, {}, {std::move(a)}); }
inline NodeRef bin(Op op, NodeRef a, NodeRef b) {
    DType t = ir::is_comparison(op) ? kBool : a->dtype();
    return Node::make(op, t, {}, {std::move(a), std::move(b)});
}
inline NodeRef where(NodeRef c, NodeRef a, NodeRef b) {
    DType t = a->dtype();
    return Node::make(Op::Where, t, {}, {std::move(c), std::move(a), std::move(b)});
}
inline NodeRef add(NodeRef a, NodeRef b) { return bin(Op::Add, std::move(a), std::move(b)); }
inline NodeRef mul(NodeRef a, NodeRef b) { return bin(Op::Mul, std::move(a), std::move(b)); }
inline NodeRef sub(NodeRef a, NodeRef b) { return bin(Op::Sub, std::move(a), std::move(b)); }

inline ir::Stage store(int64_t buffer, NodeRef index, NodeRef value, ir::Shape loops = {}) {
    ir::Stage s;
    s.kind = ir::StageKind::Store;
    s.buffer = buffer;
    s.index = std::move(index);
    s.value = std::move(value);
    s.loops = std::move(loops);
    return s;
}
inline ir::Stage reduce(Op op, NodeRef value, ir::Shape loops) {
    ir::Stage s;
    s.kind = ir::StageKind::Reduce;
    s.reduce_op = op;
    s.value = std::move(value);
    s.loops = std::move(loops);
    return s;
}

/// An elementwise kernel over `n` elements: out (last buffer) [i] = f(inputs [i]).
inline ir::LoopKernel elementwise(const char* name, std::vector<DType> inputs, DType out, int64_t n,
                                  NodeRef value) {
    ir::LoopKernel k;
    k.name = name;
    for (DType t : inputs) k.buffers.push_back({t, n, false});
    k.buffers.push_back({out, n, true});
    k.outer = {n};
    k.stages.push_back(store(static_cast<int64_t>(inputs.size()), var(0), std::move(value)));
    return k;
}

/// Runs `fn` over [begin, end) with the given buffers.
inline void run(runtime::KernelFn fn, std::vector<void*> buffers, int64_t begin, int64_t end) {
    fn(buffers.data(), nullptr, begin, end);
}

/// A compiler without a disk cache, shared by the semantics tests.
inline codegen::CpuCompiler& test_compiler() {
    static codegen::CpuCompiler compiler{std::filesystem::path{}};
    return compiler;
}

}  // namespace kiln::test
