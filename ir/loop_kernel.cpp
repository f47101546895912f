#include "ir/loop_kernel.h"

#include <fmt/format.h>

#include <unordered_map>

namespace kiln::ir {
namespace {

/// Prints expressions as trees, except that a compound node used more than once is printed once
/// as a numbered `%k` line and referred to by name: expressions are DAGs, and a tree print of a
/// DAG can be exponentially long.
class ExprPrinter {
public:
    void count(const NodeRef& e) {
        if (++uses_[e.get()] > 1) return;
        for (const NodeRef& in : e->inputs()) count(in);
    }
    /// Lines defining the shared nodes under `e` not printed yet (inputs first).
    void define_shared(const NodeRef& e, std::string& out) {
        if (!visited_.insert({e.get(), true}).second) return;
        for (const NodeRef& in : e->inputs()) define_shared(in, out);
        if (shared(e.get())) {
            std::string text = inline_text(e);
            names_[e.get()] = fmt::format("%{}", names_.size());
            out += fmt::format("  {} = {}\n", names_[e.get()], text);
        }
    }
    std::string text(const NodeRef& e) {
        auto it = names_.find(e.get());
        return it != names_.end() ? it->second : inline_text(e);
    }

private:
    bool shared(const Node* n) const {
        auto c = op_category(n->op());
        return uses_.at(n) > 1 && c != OpCategory::Source && n->op() != Op::LoopVar &&
               n->op() != Op::StageResult;
    }

    std::string inline_text(const NodeRef& e) {
        switch (e->op()) {
        case Op::LoopVar: return fmt::format("var{}", e->attr_as<VarAttr>().index);
        case Op::StageResult: return fmt::format("stage{}", e->attr_as<StageAttr>().stage);
        case Op::Const:
            if (is_floating(e->dtype()))
                return fmt::format("{}:{}", const_value(*e), dtype_name(e->dtype()));
            return fmt::format("{}:{}", const_int(*e), dtype_name(e->dtype()));
        case Op::Load: {
            std::string s = fmt::format("load[{}]({}", e->attr_as<LoadAttr>().buffer,
                                        text(e->input(0)));
            if (e->inputs().size() > 1) s += ", if " + text(e->input(1));
            return s + ")";
        }
        case Op::Cast:
            return fmt::format("cast<{}>({})", dtype_name(e->dtype()), text(e->input(0)));
        default: break;
        }
        std::string s(op_name(e->op()));
        s += "(";
        for (size_t i = 0; i < e->inputs().size(); ++i) {
            if (i) s += ", ";
            s += text(e->input(i));
        }
        return s + ")";
    }

    std::unordered_map<const Node*, int> uses_;
    std::unordered_map<const Node*, bool> visited_;
    std::unordered_map<const Node*, std::string> names_;
};

}  // namespace

std::string print_expr(const NodeRef& e) {
    ExprPrinter p;
    p.count(e);
    std::string lets;
    p.define_shared(e, lets);
    return lets.empty() ? p.text(e) : "{\n" + lets + "  " + p.text(e) + "\n}";
}

std::string print_loop_kernel(const LoopKernel& k) {
    std::string s = "kernel " + k.name + "(";
    for (size_t i = 0; i < k.buffers.size(); ++i) {
        const KernelBuffer& b = k.buffers[i];
        if (i) s += ", ";
        s += fmt::format("buf{}: {}[{}]{}", i, dtype_name(b.dtype), b.numel, b.output ? " out" : "");
    }
    s += ")\n  outer " + shape_str(k.outer) + (k.tile ? fmt::format(" tile {}", k.tile) : "") + "\n";
    ExprPrinter p;
    for (const Stage& st : k.stages) {
        p.count(st.value);
        if (st.index) p.count(st.index);
    }
    for (size_t i = 0; i < k.stages.size(); ++i) {
        const Stage& st = k.stages[i];
        if (st.index) p.define_shared(st.index, s);
        p.define_shared(st.value, s);
        std::string loops = st.loops.empty() ? "" : " over " + shape_str(st.loops);
        if (st.kind == StageKind::Reduce) {
            s += fmt::format("  stage{} = {}{}: {}\n", i, op_name(st.reduce_op), loops,
                             p.text(st.value));
        } else {
            s += fmt::format("  store{} buf{}[{}] = {}\n", loops, st.buffer, p.text(st.index),
                             p.text(st.value));
        }
    }
    return s;
}

}  // namespace kiln::ir
