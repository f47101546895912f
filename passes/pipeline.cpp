#include "passes/pipeline.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <functional>

#include "ir/printer.h"
#include "ir/verify.h"
#include "passes/column_sums.h"
#include "passes/lower.h"
#include "passes/merge_kernels.h"
#include "passes/simplify.h"
#include "passes/split_reductions.h"
#include "support/debug.h"
#include "support/profiler.h"

namespace kiln::passes {
namespace {

/// KILN_DEBUG (support/debug.h documents the levels).
int debug_level() { return support::debug_level(); }

/// Times a pass: a "pass NAME" span for the profiler and, at KILN_DEBUG >= 1, a line on
/// stderr; at KILN_DEBUG >= 2 also the pass's result.
template <class F, class Dump>
auto timed(const char* name, F&& pass, Dump&& dump) {
    support::profiler::Span span("pass", name);
    if (span) span.set_name(std::string("pass ") + name);
    auto t0 = std::chrono::steady_clock::now();
    auto result = pass();
    span.finish();
    if (debug_level() >= 1) {
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::string text = fmt::format("[kiln] pass {:<9} {:8.3f} ms\n", name, ms);
        if (debug_level() >= 2) text += dump(result) + "\n";
        support::debug_print(text);
    }
    return result;
}

#ifndef NDEBUG
constexpr bool kVerify = true;
#else
constexpr bool kVerify = false;
#endif

}  // namespace

PipelineResult run_pipeline(const std::vector<ir::NodeRef>& roots,
                            const PipelineOptions& options) {
    PipelineResult r;
    if (kVerify) ir::verify_graph(roots);
    // Each pass's result as text, for KILN_DEBUG=2 and for options.after_pass.
    auto graph_text = [](const std::vector<ir::NodeRef>& g) { return ir::print_graph(g); };
    auto kernels_text = [](const ir::Program& p) {
        std::string s;
        for (const ir::Step& st : p.steps)
            if (const auto* k = std::get_if<ir::KernelStep>(&st)) s += ir::print_loop_kernel(k->kernel);
        return s;
    };
    auto observe = [&](const char* pass, const std::function<std::string()>& text) {
        if (options.after_pass) options.after_pass(pass, text());
    };
    r.simplified = timed("simplify", [&] { return simplify(roots); }, graph_text);
    observe("simplify", [&] { return graph_text(r.simplified); });
    r.simplified = timed("split", [&] { return split_reductions(r.simplified); }, graph_text);
    observe("split", [&] { return graph_text(r.simplified); });
    r.simplified = timed("colsums", [&] { return column_sums(r.simplified); }, graph_text);
    observe("colsums", [&] { return graph_text(r.simplified); });
    if (kVerify) ir::verify_graph(r.simplified);
    r.plan = timed("fusion",
                   [&] { return options.fuse ? plan_fusion(r.simplified)
                                             : plan_unfused(r.simplified); },
                   [](const auto& p) { return print_fusion(p); });
    observe("fusion", [&] { return print_fusion(r.plan); });
    r.program = timed("lower", [&] { return lower(r.plan, &r.buffer_nodes); }, kernels_text);
    // Lowering may materialize more nodes: the plan's final form, then the kernels.
    observe("lower", [&] { return print_fusion(r.plan) + kernels_text(r.program); });
    if (options.fuse) {
        r.merges = timed("merge", [&] { return merge_kernels(r.program); }, print_merges);
        observe("merge", [&] { return print_merges(r.merges) + kernels_text(r.program); });
    }
    // Simplification may drop an input the caller still binds: keep the numbering whole, with
    // an (unused) buffer for each dropped placeholder.
    std::vector<bool> bound;
    for (const ir::ProgramBuffer& b : r.program.buffers)
        if (b.kind == ir::BufferKind::Input) {
            if (bound.size() <= static_cast<size_t>(b.index)) bound.resize(b.index + 1);
            bound[b.index] = true;
        }
    for (const ir::Node* n : ir::topo_order(roots)) {
        if (n->op() != ir::Op::Input) continue;
        int64_t id = n->attr_as<ir::InputAttr>().id;
        if (static_cast<size_t>(id) < bound.size() && bound[id]) continue;
        if (bound.size() <= static_cast<size_t>(id)) bound.resize(id + 1);
        bound[id] = true;
        r.program.buffers.push_back({n->dtype(), n->shape(), ir::BufferKind::Input, id});
        r.buffer_nodes.push_back(nullptr);
        r.program.num_inputs = std::max(r.program.num_inputs, id + 1);
    }
    return r;
}

ir::Program compile_graph(const std::vector<ir::NodeRef>& roots) {
    return run_pipeline(roots).program;
}

}  // namespace kiln::passes
