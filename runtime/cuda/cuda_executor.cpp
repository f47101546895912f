#include "runtime/cuda/cuda_executor.h"

#include <string>

#include <fmt/format.h>

#include "runtime/cuda/cublas.h"
#include "runtime/cuda/device.h"

namespace kiln::runtime {
namespace {

CUdeviceptr address(const std::shared_ptr<Buffer>& b) {
    return reinterpret_cast<CUdeviceptr>(b->data());
}

void launch(const CudaDevice& device, const CudaLaunchFn& fn, void** params,
            const std::string& what) {
    check_cuda(cuda_api().LaunchKernel(fn.function, fn.grid, 1, 1, fn.block, 1, 1, 0,
                                       device.stream, params, nullptr),
               "cuLaunchKernel of " + what);
}

}  // namespace

CudaStepCounts run_cuda_steps(const CompiledProgram& compiled, const ExecutionPlan& plan,
                              std::vector<std::shared_ptr<Buffer>>& bufs) {
    const ir::Program& program = compiled.program;
    const int index = compiled.device.index;
    const CudaDevice& device = cuda_device(index);
    CudaStepCounts counts;
    // Kernel parameters: cuLaunchKernel reads each through a pointer, during the call only.
    CUdeviceptr error = 0;  // the device's error record, for gather and scatter_add
    std::vector<CUdeviceptr> values;
    std::vector<void*> params;
    auto buffer = [&](int64_t b) -> const std::shared_ptr<Buffer>& {
        return bufs[static_cast<size_t>(b)];
    };
    for (size_t s = 0; s < program.steps.size(); ++s) {
        for (int64_t b : plan.allocate_before[s]) {
            const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
            bufs[static_cast<size_t>(b)] =
                Buffer::allocate(pb.dtype, ir::numel(pb.shape), compiled.device);
        }
        const ir::Step& step = program.steps[s];
        const CudaLaunchFn& fn = compiled.cuda_steps[s];
        if (const auto* ks = std::get_if<ir::KernelStep>(&step)) {
            if (fn.grid > 0) {
                values.clear();
                for (int64_t b : ks->buffers) values.push_back(address(buffer(b)));
                CUdeviceptr no_sizes = 0;
                long long begin = 0, end = ks->kernel.parallel_extent();
                params.clear();
                for (CUdeviceptr& v : values) params.push_back(&v);
                params.push_back(&no_sizes);
                params.push_back(&begin);
                params.push_back(&end);
                launch(device, fn, params.data(), "kernel " + ks->kernel.name);
            }
            counts.kernels++;
        } else if (const auto* ix = std::get_if<ir::IndexStep>(&step)) {
            if (error == 0) error = cuda_error_record(index);  // once per run, when needed
            CUdeviceptr dense = address(buffer(ix->dense)), idx = address(buffer(ix->index)),
                        rows = address(buffer(ix->rows));
            if (ix->scatter)
                check_cuda(cuda_api().MemsetD8Async(dense, 0, buffer(ix->dense)->bytes(),
                                                    device.stream),
                           "clearing the result of " + step_label(step));
            if (fn.grid > 0) {
                void* p[] = {&dense, &idx, &rows, &error};
                launch(device, fn, p, step_label(step));
            }
            counts.externs++;
        } else if (const auto* cv = std::get_if<ir::ConvStep>(&step)) {
            CUdeviceptr x = address(buffer(cv->x)), w = address(buffer(cv->w)),
                        y = address(buffer(cv->y));
            if (fn.grid > 0) {
                void* p[] = {&x, &w, &y};
                launch(device, fn, p, step_label(step));
            }
            counts.externs++;
        } else {
            const auto& mm = std::get<ir::MatmulStep>(step);
            const std::shared_ptr<Buffer>& out = buffer(mm.out);
            if (mm.batch * mm.m * mm.n == 0) {
                // nothing to write
            } else if (mm.k == 0) {  // an empty sum: zeros (cuBLAS would refuse ld = 0)
                check_cuda(cuda_api().MemsetD8Async(address(out), 0, out->bytes(), device.stream),
                           "clearing the result of " + step_label(step));
            } else {
                cuda_gemm(index, mm, address(buffer(mm.a)), address(buffer(mm.b)), address(out));
            }
            counts.externs++;
        }
        for (int64_t b : plan.release_after[s]) bufs[static_cast<size_t>(b)].reset();
    }
    return counts;
}

}  // namespace kiln::runtime
