#pragma once
/// Lowering: turns a fusion plan into a program of loop kernels and extern calls. Movement ops
/// become index arithmetic (passes/index_expr.h); a reduction fused into a kernel becomes a
/// reduce stage at the kernel's outer loop level. When a reduction cannot be placed there (it is
/// needed per element of another loop), lowering materializes it in the plan and starts over.
#include "ir/program.h"
#include "passes/fusion.h"

namespace kiln::passes {

/// Lowers `plan` (possibly adding materialized nodes to it, with reasons). When `buffer_nodes`
/// is given, it receives the node each program buffer holds (for tools that explain a program).
ir::Program lower(FusionPlan& plan, std::vector<const ir::Node*>* buffer_nodes = nullptr);

}  // namespace kiln::passes
