#include "passes/pipeline.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "ir/printer.h"
#include "ir/verify.h"
#include "passes/column_sums.h"
#include "passes/lower.h"
#include "passes/merge_kernels.h"
#include "passes/simplify.h"
#include "passes/split_reductions.h"

namespace kiln::passes {
namespace {

int debug_level() {
    static int level = [] {
        const char* v = std::getenv("KILN_DEBUG");
        return v ? std::atoi(v) : 0;
    }();
    return level;
}

/// Times a pass and, at KILN_DEBUG >= 2, dumps its result.
template <class F, class Dump>
auto timed(const char* name, F&& pass, Dump&& dump) {
    auto t0 = std::chrono::steady_clock::now();
    auto result = pass();
    if (debug_level() >= 1) {
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        fmt::print(stderr, "[kiln] pass {:<9} {:8.3f} ms\n", name, ms);
        if (debug_level() >= 2) fmt::print(stderr, "{}\n", dump(result));
    }
    return result;
}

#ifndef NDEBUG
constexpr bool kVerify = true;
#else
constexpr bool kVerify = false;
#endif

}  // namespace

PipelineResult run_pipeline(const std::vector<ir::NodeRef>& roots) {
    PipelineResult r;
    if (kVerify) ir::verify_graph(roots);
    r.simplified = timed("simplify", [&] { return simplify(roots); },
                         [](const auto& g) { return ir::print_graph(g); });
    r.simplified = timed("split", [&] { return split_reductions(r.simplified); },
                         [](const auto& g) { return ir::print_graph(g); });
    r.simplified = timed("colsums", [&] { return column_sums(r.simplified); },
                         [](const auto& g) { return ir::print_graph(g); });
    if (kVerify) ir::verify_graph(r.simplified);
    r.plan = timed("fusion", [&] { return plan_fusion(r.simplified); },
                   [](const auto& p) { return print_fusion(p); });
    r.program = timed("lower", [&] { return lower(r.plan); }, [](const ir::Program& p) {
        std::string s;
        for (const ir::Step& st : p.steps)
            if (const auto* k = std::get_if<ir::KernelStep>(&st)) s += ir::print_loop_kernel(k->kernel);
        return s;
    });
    r.merges = timed("merge", [&] { return merge_kernels(r.program); }, print_merges);
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
        r.program.num_inputs = std::max(r.program.num_inputs, id + 1);
    }
    return r;
}

ir::Program compile_graph(const std::vector<ir::NodeRef>& roots) {
    return run_pipeline(roots).program;
}

}  // namespace kiln::passes
