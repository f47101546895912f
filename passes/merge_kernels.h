#pragma once
/// merge_kernels: multi-output fusion after lowering. Fusion gives every materialized node its
/// own kernel, so an optimizer update (a parameter's gradient, its moments and its new value,
/// all outputs of the step) would read the gradient and the old state once per output. Here
/// elementwise kernels over the same loops that share data become one kernel with a store per
/// output: they read a common buffer, or one reads what another writes at the same element
/// (from the store just made at that point, so no thread sees another's unfinished element).
#include <string>
#include <vector>

#include "ir/program.h"

namespace kiln::passes {

/// One merged kernel: the kernels it replaced (their names, in run order) and why they merged.
struct KernelMerge {
    std::string kernel;               ///< name of the merged kernel
    std::vector<std::string> merged;  ///< names of the kernels it replaced
    std::string reason;
    std::vector<int64_t> writes;      ///< the program buffers it stores (tells equal names apart)
};

/// Merges elementwise kernels (a single store over all-outer loops, equal loops and store
/// index) that share a buffer, when no other step runs between them in the dependency order,
/// and reorders the steps so that every step still follows what it reads. Returns the merges.
std::vector<KernelMerge> merge_kernels(ir::Program& program);

/// Text listing of the merges, one line per merged kernel.
std::string print_merges(const std::vector<KernelMerge>& merges);

}  // namespace kiln::passes
