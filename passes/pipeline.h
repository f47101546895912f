#pragma once
/// The pass pipeline, top to bottom: simplify -> split_reductions -> column_sums -> fusion
/// -> lower -> merge_kernels. With KILN_DEBUG=1 each pass
/// prints its time; KILN_DEBUG=2 also prints the graph / plan / kernels after each pass.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/program.h"
#include "passes/fusion.h"
#include "passes/merge_kernels.h"

namespace kiln::passes {

/// Compiles a canonical graph (inputs are placeholders 0..n-1) into a program.
ir::Program compile_graph(const std::vector<ir::NodeRef>& roots);

struct PipelineOptions {
    /// false: every op gets its own kernel (plan_unfused) and no kernels merge, the baseline
    /// that shows what fusion gains.
    bool fuse = true;
    /// Called after each pass (simplify, split, colsums, fusion, lower, merge) with its name
    /// and its result as text (`kiln dump --after`).
    std::function<void(std::string_view pass, const std::string& text)> after_pass;
};
/// The passes after_pass names, in pipeline order.
inline constexpr const char* kPassNames[] = {"simplify", "split",  "colsums",
                                             "fusion",   "lower", "merge"};

/// The intermediate results, for tools and tests.
struct PipelineResult {
    std::vector<ir::NodeRef> simplified;
    FusionPlan plan;
    ir::Program program;
    std::vector<KernelMerge> merges;
    /// The node each program buffer holds (a node of `simplified`); nullptr for an input
    /// placeholder that simplification dropped.
    std::vector<const ir::Node*> buffer_nodes;
};
PipelineResult run_pipeline(const std::vector<ir::NodeRef>& roots,
                            const PipelineOptions& options = {});

}  // namespace kiln::passes
