#pragma once
/// Fusion: decides which nodes get their own buffer ("materialized"); everything else is
/// computed inside the kernels of its consumers. Elementwise and movement ops always fuse into
/// their consumers; a reduction becomes a stage of its consumer's kernel (softmax, layernorm:
/// one row kernel) unless it is shared by several kernels or needed inside another reduction's
/// loop. Each decision carries a reason and a byte estimate for `kiln fuse` / explain.
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

/// Most ops one kernel's fused expression may hold before fusion cuts it (see plan_fusion).
/// Counted ops are the non-buffer, non-constant nodes a kernel computes, each once.
inline constexpr int64_t kMaxKernelOps = 256;

struct FusionDecision {
    std::string reason;
    int64_t bytes = 0;  ///< size of the buffer this decision creates
};

struct FusionPlan {
    std::vector<ir::NodeRef> roots;
    /// Every node under the roots, inputs first (topo_order(roots), computed once), and each
    /// node's position in it.
    std::vector<const ir::Node*> order;
    std::unordered_map<const ir::Node*, size_t> position;
    /// The kernel size bound the plan was made with (lowering enforces it too).
    int64_t max_kernel_ops = kMaxKernelOps;
    /// Materialized nodes (graph inputs are buffers already and are not listed).
    std::unordered_map<const ir::Node*, FusionDecision> materialized;

    bool is_buffer(const ir::Node* n) const;
    void materialize(const ir::Node* n, std::string reason);
    /// Materialized non-input nodes in topological order: the kernels and extern calls to run.
    /// Kept up to date by materialize() (lowering adds kernels one at a time).
    const std::vector<const ir::Node*>& schedule() const { return schedule_; }

private:
    std::vector<const ir::Node*> schedule_;
};

/// The initial plan: graph outputs, extern ops and their operands, and reductions consumed by
/// more than one kernel are materialized. An expression past `max_kernel_ops` ops is cut: the
/// node where it crosses the bound is materialized ("kernel size bound"), so a kernel holds at
/// most 1 + 3 * max_kernel_ops ops, compile time stays linear in the graph's size and no pass
/// below recurses deeper than a kernel. Lowering may materialize more (with a reason).
FusionPlan plan_fusion(const std::vector<ir::NodeRef>& roots,
                       int64_t max_kernel_ops = kMaxKernelOps);
/// The plan with fusion disabled: besides what plan_fusion materializes, every node that
/// computes values (elementwise, reduction, random, iota) gets its own buffer; views still fold
/// into their consumers' indexing and constants are inlined. The baseline `kiln bench` measures
/// fusion against: one kernel per op, as an eager framework runs the graph.
FusionPlan plan_unfused(const std::vector<ir::NodeRef>& roots);
/// Re-applies the "reduction shared by several kernels" rule after the plan changed.
void materialize_shared_reductions(FusionPlan& plan);

/// The node under a chain of reshapes: an extern operand that is a reshape of it reads the
/// same contiguous bytes, so it needs that node's buffer, not a copy.
const ir::Node* strip_reshapes(const ir::Node* operand);

/// For a matmul operand that is a transpose of its input's last two dims (batch dims kept), that
/// input: BLAS reads it in place with a transpose flag, so the transposed view needs no copy.
/// nullptr for any other operand.
const ir::Node* transposed_source(const ir::Node* operand);

/// Text listing of the partition: one line per kernel or extern call with its reason.
std::string print_fusion(const FusionPlan& plan);

}  // namespace kiln::passes
