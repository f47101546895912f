// The CUDA C of the steps that are not loop kernels (runtime/cuda/extern_kernels.h): gather,
// scatter_add and the three convolution passes compile with NVRTC for every dtype they take and
// for strided, padded, dilated and grouped geometries (skipped without NVRTC). What they compute
// is checked against the CPU by the cuda_emulated and cuda suites.
#include "codegen/cuda/nvrtc.h"
#include "cuda/cuda_util.h"
#include "ir/conv.h"
#include "runtime/cuda/extern_kernels.h"

namespace kiln::test {
namespace {

void compiles(const runtime::CudaExternSource& s) {
    INFO(s.name << "\n" << s.source);
    CHECK(s.threads > 0);
    std::string ptx = codegen::compile_ptx(s.source, s.name, "compute_90");
    CHECK_THAT(ptx, Catch::Contains(".visible .entry " + s.name + "("));
}

}  // namespace

TEST_CASE("gather and scatter_add kernels compile for every dtype (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    for (DType t : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool}) {
        for (bool scatter : {false, true}) {
            if (scatter && t == DType::Bool) continue;  // refused by the verifier
            ir::IndexStep step;
            step.scatter = scatter;
            step.split = {3, 5, 4};  // outer, size, inner
            step.count = 6;
            step.dtype = t;
            step.site = 2;
            compiles(runtime::index_step_source(step));
        }
    }
}

TEST_CASE("convolution kernels compile for each pass and geometry (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    ir::ConvGeometry plain{2, 3, 9, 9, 4, 3, 3, 9, 9, 1, 1, 1, 1, 1, 1, 1};
    ir::ConvGeometry strided{2, 4, 10, 8, 6, 3, 2, 4, 3, 2, 3, 1, 0, 2, 1, 2};
    for (const ir::ConvGeometry& g : {plain, strided}) {
        for (ir::ConvPass pass :
             {ir::ConvPass::Forward, ir::ConvPass::InputGrad, ir::ConvPass::WeightGrad}) {
            for (DType t : {DType::Float32, DType::Float64}) {
                ir::ConvStep step;
                step.pass = pass;
                step.geometry = g;
                step.dtype = t;
                compiles(runtime::conv_step_source(step));
            }
        }
    }
}

}  // namespace kiln::test
