// The explanation behind `kiln explain`, `kiln dot` and `kiln bench`: the program's steps mapped
// back to the graph's nodes, with bytes, FLOPs and the fusion rule behind every buffer.
#include "tools/explain.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "ir/conv.h"

namespace kiln::cli {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;
using ir::OpCategory;

int64_t bytes_of(const Node* n) {
    return ir::numel(n->shape()) * static_cast<int64_t>(dtype_size(n->dtype()));
}

/// The arithmetic a node costs when its step computes it (see ExplainedStep::flops).
int64_t flops_of(const Node* n) {
    switch (ir::op_category(n->op())) {
    case OpCategory::Unary:
    case OpCategory::Binary:
    case OpCategory::Ternary:
        if (n->op() == Op::Cast || n->op() == Op::Detach || n->op() == Op::Leaf ||
            n->op() == Op::Where)
            return 0;
        return ir::numel(n->shape());
    case OpCategory::Reduce: return ir::numel(n->input(0)->shape());
    case OpCategory::Extern: break;
    default: return 0;
    }
    if (n->op() == Op::Matmul) {
        const ir::Shape& a = n->input(0)->shape();
        return 2 * ir::numel(n->shape()) * a.back();
    }
    if (n->op() == Op::Conv2d || n->op() == Op::Conv2dGradInput ||
        n->op() == Op::Conv2dGradWeight) {
        ir::ConvGeometry g = ir::conv_geometry(*n);
        return 2 * g.n * g.o * g.ho * g.wo * (g.c / g.groups) * g.kh * g.kw;
    }
    if (n->op() == Op::ScatterAdd) return ir::numel(n->input(1)->shape());
    return 0;
}

/// The nodes a kernel computes to produce `outputs`: everything reachable without crossing a
/// buffer (the outputs themselves included), constants and inputs left out; inputs first.
std::vector<const Node*> region_of(const passes::FusionPlan& plan,
                                   const std::vector<const Node*>& outputs) {
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> stack;
    for (const Node* o : outputs)
        if (seen.insert(o).second) stack.push_back(o);
    std::vector<const Node*> region;
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (n->op() != Op::Const && n->op() != Op::Input) region.push_back(n);
        for (const NodeRef& in : n->inputs())
            if (!plan.is_buffer(in.get()) && seen.insert(in.get()).second) stack.push_back(in.get());
    }
    std::sort(region.begin(), region.end(), [&](const Node* a, const Node* b) {
        return plan.position.at(a) < plan.position.at(b);
    });
    return region;
}

std::string extern_name(const ir::Step& step) {
    if (std::holds_alternative<ir::MatmulStep>(step)) return "matmul";
    if (const auto* x = std::get_if<ir::IndexStep>(&step)) return x->scatter ? "scatter_add" : "gather";
    switch (std::get<ir::ConvStep>(step).pass) {
    case ir::ConvPass::Forward: return "conv2d";
    case ir::ConvPass::InputGrad: return "conv2d_grad_input";
    case ir::ConvPass::WeightGrad: return "conv2d_grad_weight";
    }
    return "extern";
}

std::string ids_text(const Explanation& e, const std::vector<const Node*>& nodes,
                     bool with_ops) {
    std::string s;
    for (const Node* n : nodes) {
        if (!s.empty()) s += ", ";
        s += fmt::format("%{}", e.id.at(n));
        if (with_ops) s += fmt::format(" {}", ir::op_name(n->op()));
    }
    return s;
}

}  // namespace

int64_t Explanation::kernels() const {
    return std::count_if(steps.begin(), steps.end(),
                         [](const ExplainedStep& s) { return s.is_kernel; });
}

int64_t Explanation::compute_ops() const {
    return std::count_if(nodes.begin(), nodes.end(), [](const Node* n) {
        OpCategory c = ir::op_category(n->op());
        return c != OpCategory::Source && c != OpCategory::Movement;
    });
}

Explanation explain(const passes::PipelineResult& r) {
    Explanation e;
    const passes::FusionPlan& plan = r.plan;
    e.graph = r.simplified;
    e.nodes = plan.order;
    for (size_t i = 0; i < e.nodes.size(); ++i) e.id[e.nodes[i]] = static_cast<int64_t>(i);
    for (const NodeRef& root : r.simplified) e.outputs.push_back(root.get());
    for (const auto& [n, decision] : plan.materialized) e.reasons[n] = decision.reason;

    auto node_of = [&](int64_t buffer) { return r.buffer_nodes.at(static_cast<size_t>(buffer)); };
    std::vector<int64_t> producer(r.program.buffers.size(), -1);
    for (size_t s = 0; s < r.program.steps.size(); ++s) {
        const ir::Step& step = r.program.steps[s];
        ir::StepBuffers io = ir::step_buffers(step);
        ExplainedStep st;
        st.index = static_cast<int64_t>(s);
        for (int64_t b : io.writes) {
            st.outputs.push_back(node_of(b));
            producer[static_cast<size_t>(b)] = st.index;
            st.bytes_written += bytes_of(node_of(b));
        }
        std::set<int64_t> read_set(io.reads.begin(), io.reads.end());
        for (int64_t b : read_set) {
            if (!node_of(b)) continue;  // an input simplification dropped: never read
            st.reads.push_back(node_of(b));
            st.bytes_read += bytes_of(node_of(b));
        }
        if (const auto* k = std::get_if<ir::KernelStep>(&step)) {
            st.name = k->kernel.name;
            st.loops = k->kernel.outer;
            st.ops = region_of(plan, st.outputs);
            for (const passes::KernelMerge& m : r.merges) {
                if (m.writes != io.writes) continue;
                st.merged = m.merged;
                st.merge_reason = m.reason;
            }
        } else {
            st.is_kernel = false;
            st.name = extern_name(step);
            // The extern node itself (a conv's input gradient writes x, named by the node).
            st.ops = st.outputs;
        }
        for (const Node* n : st.ops) st.flops += flops_of(n);
        e.steps.push_back(std::move(st));
    }
    std::unordered_set<const Node*> computed;
    for (ExplainedStep& st : e.steps) {
        for (const Node* n : st.ops) {
            bool view = ir::op_category(n->op()) == OpCategory::Movement;
            if (!computed.insert(n).second && !view) st.recomputed.push_back(n);
        }
    }
    for (const ExplainedStep& st : e.steps) {
        ir::StepBuffers io = ir::step_buffers(r.program.steps[static_cast<size_t>(st.index)]);
        std::set<int64_t> read_set(io.reads.begin(), io.reads.end());
        for (int64_t b : read_set) {
            int64_t from = producer[static_cast<size_t>(b)];
            if (from < 0 || from == st.index) continue;
            const Node* v = node_of(b);
            e.edges.push_back({v, from, st.index, bytes_of(v), e.reasons.at(v)});
        }
    }
    return e;
}

std::string human_bytes(int64_t bytes) {
    if (bytes < 1024) return fmt::format("{} B", bytes);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes) / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) v /= 1024, ++u;
    return fmt::format("{:.1f} {}", v, units[u]);
}

std::string describe_value(const Explanation& e, const Node* n) {
    std::string what(ir::op_name(n->op()));
    if (n->op() == Op::Input) what += fmt::format(" {}", n->attr_as<ir::InputAttr>().id);
    return fmt::format("%{} {} {}{}", e.id.at(n), what, dtype_name(n->dtype()),
                       ir::shape_str(n->shape()));
}

std::string explain_text(const Explanation& e) {
    int64_t read = 0, written = 0, flops = 0;
    for (const ExplainedStep& s : e.steps) read += s.bytes_read, written += s.bytes_written,
                                            flops += s.flops;
    std::string out = fmt::format(
        "graph: {} nodes, {} compute ops -> {} kernel{}, {} extern call{}; {} read, {} written, "
        "{} FLOPs\n",
        e.nodes.size(), e.compute_ops(), e.kernels(), e.kernels() == 1 ? "" : "s", e.externs(),
        e.externs() == 1 ? "" : "s", human_bytes(read), human_bytes(written), flops);
    for (const ExplainedStep& s : e.steps) {
        out += fmt::format("\nstep {}: {} {}", s.index, s.is_kernel ? "kernel" : "extern", s.name);
        if (s.is_kernel) out += fmt::format(" over {}", ir::shape_str(s.loops));
        out += "\n";
        out += fmt::format("  computes  {} ({} op{})\n", ids_text(e, s.ops, true), s.ops.size(),
                           s.ops.size() == 1 ? "" : "s");
        if (!s.recomputed.empty())
            out += fmt::format("  recomputes {} (computed by an earlier step too)\n",
                               ids_text(e, s.recomputed, true));
        for (const Node* n : s.reads)
            out += fmt::format("  reads     {} ({})\n", describe_value(e, n),
                               human_bytes(bytes_of(n)));
        for (const Node* n : s.outputs)
            out += fmt::format("  writes    {} ({}) -- {}\n", describe_value(e, n),
                               human_bytes(bytes_of(n)), e.reasons.at(n));
        double intensity = static_cast<double>(s.flops) /
                           static_cast<double>(std::max<int64_t>(1, s.bytes_read + s.bytes_written));
        out += fmt::format("  traffic   {} read, {} written; {} FLOPs ({:.2f} FLOP/byte)\n",
                           human_bytes(s.bytes_read), human_bytes(s.bytes_written), s.flops,
                           intensity);
        if (!s.merged.empty()) {
            std::string names;
            for (const std::string& m : s.merged) names += (names.empty() ? "" : " + ") + m;
            out += fmt::format("  merged    {} -- {}\n", names, s.merge_reason);
        }
    }
    out += "\nvalues passed between steps through memory (not fused), and why:\n";
    if (e.edges.empty()) out += "  none\n";
    for (const ExplainedEdge& edge : e.edges)
        out += fmt::format("  {}: step {} -> step {}, {} -- {}\n", describe_value(e, edge.value),
                           edge.from, edge.to, human_bytes(edge.bytes), edge.reason);
    return out;
}

nlohmann::json value_json(const Explanation& e, const Node* n) {
    return {{"id", e.id.at(n)},
            {"op", std::string(ir::op_name(n->op()))},
            {"dtype", dtype_name(n->dtype())},
            {"shape", n->shape()},
            {"bytes", bytes_of(n)}};
}

nlohmann::json explain_json(const Explanation& e) {
    using nlohmann::json;
    json nodes = json::array();
    for (const Node* n : e.nodes) {
        json j = value_json(e, n);
        json inputs = json::array();
        for (const NodeRef& in : n->inputs()) inputs.push_back(e.id.at(in.get()));
        j["inputs"] = inputs;
        if (n->op() == Op::Input) j["input"] = n->attr_as<ir::InputAttr>().id;
        nodes.push_back(std::move(j));
    }
    json outputs = json::array();
    for (const Node* n : e.outputs) outputs.push_back(e.id.at(n));
    json steps = json::array();
    int64_t read = 0, written = 0, flops = 0;
    for (const ExplainedStep& s : e.steps) {
        json ops = json::array(), reads = json::array(), writes = json::array(),
             recomputed = json::array();
        for (const Node* n : s.ops) ops.push_back(e.id.at(n));
        for (const Node* n : s.recomputed) recomputed.push_back(e.id.at(n));
        for (const Node* n : s.reads) reads.push_back(value_json(e, n));
        for (const Node* n : s.outputs) {
            json w = value_json(e, n);
            w["reason"] = e.reasons.at(n);
            writes.push_back(std::move(w));
        }
        json st = {{"index", s.index},       {"kind", s.is_kernel ? "kernel" : "extern"},
                   {"name", s.name},         {"ops", ops}, {"recomputed", recomputed},
                   {"reads", reads},         {"writes", writes},
                   {"bytes_read", s.bytes_read}, {"bytes_written", s.bytes_written},
                   {"flops", s.flops}};
        if (s.is_kernel) st["loops"] = s.loops;
        if (!s.merged.empty()) st["merged"] = {{"kernels", s.merged}, {"reason", s.merge_reason}};
        steps.push_back(std::move(st));
        read += s.bytes_read, written += s.bytes_written, flops += s.flops;
    }
    json edges = json::array();
    for (const ExplainedEdge& edge : e.edges)
        edges.push_back({{"value", e.id.at(edge.value)}, {"from", edge.from}, {"to", edge.to},
                         {"bytes", edge.bytes}, {"reason", edge.reason}});
    return {{"schema", "kiln.explain"},
            {"version", kExplainSchemaVersion},
            {"nodes", nodes},
            {"outputs", outputs},
            {"steps", steps},
            {"edges", edges},
            {"totals",
             {{"compute_ops", e.compute_ops()},
              {"kernels", e.kernels()},
              {"externs", e.externs()},
              {"bytes_read", read},
              {"bytes_written", written},
              {"flops", flops}}}};
}

}  // namespace kiln::cli
