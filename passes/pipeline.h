#pragma once
/// The pass pipeline, top to bottom: simplify -> split_reductions -> column_sums -> fusion
/// -> lower -> merge_kernels. With KILN_DEBUG=1 each pass
/// prints its time; KILN_DEBUG=2 also prints the graph / plan / kernels after each pass.
#include <string>
#include <vector>

#include "ir/program.h"
#include "passes/fusion.h"
#include "passes/merge_kernels.h"

namespace kiln::passes {

/// Compiles a canonical graph (inputs are placeholders 0..n-1) into a program.
ir::Program compile_graph(const std::vector<ir::NodeRef>& roots);

/// The intermediate results, for tools and tests.
struct PipelineResult {
    std::vector<ir::NodeRef> simplified;
    FusionPlan plan;
    ir::Program program;
    std::vector<KernelMerge> merges;
};
PipelineResult run_pipeline(const std::vector<ir::NodeRef>& roots);

}  // namespace kiln::passes
