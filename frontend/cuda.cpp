// kiln::cuda: what the CUDA driver probe found (runtime/cuda/driver.h).
#include "kiln/cuda.h"

#include "runtime/cuda/driver.h"

namespace kiln::cuda {

bool is_available() { return runtime::cuda_driver_status().available; }
int device_count() { return runtime::cuda_driver_status().device_count; }

}  // namespace kiln::cuda
