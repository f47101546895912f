#pragma once
// The tests/cuda harness: loop kernels from IR text or from frontend tensors (through the real
// pass pipeline), rendered as CUDA C and compiled to PTX by NVRTC, with compile times recorded.
// Without NVRTC the compile tests skip loudly (Catch2 v2 has no SKIP: a WARN and a return).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/cuda/nvrtc.h"
#include "ir/loop_kernel.h"
#include "kiln/kiln.h"

namespace kiln::test {

/// The loop kernels (in program order) the pipeline makes of a graph in .kir text.
std::vector<ir::LoopKernel> kernels_of_text(const std::string& text);
/// The loop kernels the pipeline makes of the pending graphs of `tensors` (nothing runs).
std::vector<ir::LoopKernel> kernels_of(const std::vector<Tensor>& tensors);

/// The symbol a kernel gets here: its name plus a hash of its printed text (what a kernel cache
/// would key it by), so equal kernels have equal sources.
std::string symbol_of(const ir::LoopKernel& kernel);

/// Renders and compiles every kernel to PTX (kernels compiled before in this process are
/// skipped), checking that the PTX defines the kernel's entry point. Returns how many kernels
/// were compiled now. `what` names the graph in failure messages.
int compile_all(const std::vector<ir::LoopKernel>& kernels, const std::string& what);

/// Kernels compiled so far in this process and the NVRTC time of each, in milliseconds.
const std::vector<double>& compile_times_ms();
/// "N kernels, NVRTC ms per kernel: first X, median Y, max Z".
std::string compile_summary();

}  // namespace kiln::test

/// Returns from the test case with a visible warning when NVRTC cannot be loaded (the test
/// "NVRTC loads or says where it looked" prints where it was looked for).
#define KILN_REQUIRE_NVRTC_OR_SKIP()                                                               \
    do {                                                                                           \
        if (!::kiln::codegen::nvrtc_available()) {                                                 \
            WARN("SKIPPED: NVRTC (libnvrtc) is not available on this machine, nothing was "        \
                 "compiled");                                                                      \
            return;                                                                                \
        }                                                                                          \
    } while (0)
