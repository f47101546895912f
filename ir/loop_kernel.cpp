#include "ir/loop_kernel.h"

#include <fmt/format.h>

namespace kiln::ir {

std::string print_expr(const NodeRef& e) {
    switch (e->op()) {
    case Op::LoopVar: return fmt::format("var{}", e->attr_as<VarAttr>().index);
    case Op::StageResult: return fmt::format("stage{}", e->attr_as<StageAttr>().stage);
    case Op::Const:
        if (is_floating(e->dtype())) return fmt::format("{}:{}", const_value(*e), dtype_name(e->dtype()));
        return fmt::format("{}:{}", const_int(*e), dtype_name(e->dtype()));
    case Op::Load: {
        std::string s = fmt::format("load[{}]({}", e->attr_as<LoadAttr>().buffer,
                                    print_expr(e->input(0)));
        if (e->inputs().size() > 1) s += ", if " + print_expr(e->input(1));
        return s + ")";
    }
    case Op::Cast: return fmt::format("cast<{}>({})", dtype_name(e->dtype()), print_expr(e->input(0)));
    default: break;
    }
    std::string s(op_name(e->op()));
    s += "(";
    for (size_t i = 0; i < e->inputs().size(); ++i) {
        if (i) s += ", ";
        s += print_expr(e->input(i));
    }
    return s + ")";
}

std::string print_loop_kernel(const LoopKernel& k) {
    std::string s = "kernel " + k.name + "(";
    for (size_t i = 0; i < k.buffers.size(); ++i) {
        const KernelBuffer& b = k.buffers[i];
        if (i) s += ", ";
        s += fmt::format("buf{}: {}[{}]{}", i, dtype_name(b.dtype), b.numel, b.output ? " out" : "");
    }
    s += ")\n  outer " + shape_str(k.outer) + "\n";
    for (size_t i = 0; i < k.stages.size(); ++i) {
        const Stage& st = k.stages[i];
        std::string loops = st.loops.empty() ? "" : " over " + shape_str(st.loops);
        if (st.kind == StageKind::Reduce) {
            s += fmt::format("  stage{} = {}{}: {}\n", i, op_name(st.reduce_op), loops,
                             print_expr(st.value));
        } else {
            s += fmt::format("  store{} buf{}[{}] = {}\n", loops, st.buffer, print_expr(st.index),
                             print_expr(st.value));
        }
    }
    return s;
}

}  // namespace kiln::ir
