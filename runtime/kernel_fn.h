#pragma once
/// The CPU kernel ABI shared by codegen and the executor (see ir/loop_kernel.h).
#include <cstdint>

namespace kiln::runtime {

/// Runs outer loop 0 of a compiled loop kernel over [begin, end).
using KernelFn = void (*)(void** buffers, const int64_t* sizes, int64_t begin, int64_t end);

}  // namespace kiln::runtime
