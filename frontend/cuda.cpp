// kiln::cuda: the driver probe (runtime/cuda/driver.h), the device runtime and the CUDA
// compiler's counters.
#include "kiln/cuda.h"

#include "codegen/cuda/cuda_compiler.h"
#include "frontend/index_sites.h"
#include "kiln/error.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/cuda_allocator.h"
#include "runtime/cuda/device.h"
#include "runtime/indexing.h"

namespace kiln::cuda {

bool is_available() { return runtime::cuda_driver_status().available; }
int device_count() { return runtime::cuda_driver_status().device_count; }
std::string unavailable_reason() { return runtime::cuda_driver_status().reason; }

void synchronize(int index) {
    try {
        runtime::cuda_synchronize(index);
    } catch (const runtime::IndexOutOfRange& e) {
        throw IndexError(detail::index_error_message(e.site, e.value, e.bound));
    }
}

std::string device_name(int index) { return runtime::cuda_device(index).name; }

void allow_tf32(bool allow) { runtime::cuda_tf32_allowed().store(allow); }
bool tf32_allowed() { return runtime::cuda_tf32_allowed().load(); }

MemoryStats memory_stats(int index) {
    runtime::CudaAllocatorStats s = runtime::cuda_allocator_stats(index);
    return {s.bytes_in_use, s.bytes_cached, s.driver_allocations, s.driver_frees};
}

void empty_cache(int index) { runtime::cuda_empty_cache(index); }

CompileStats compile_stats() { return codegen::CudaCompiler::global().stats(); }

}  // namespace kiln::cuda
