#pragma once
/// The convolution steps (ir::ConvStep): conv2d and its input and weight gradients on contiguous
/// f32 / f64 buffers, split over images on the thread pool.
#include "ir/program.h"

namespace kiln::runtime {

/// Runs `step` on its buffers (x, w, y as ir::ConvStep names them): writes the one `step.pass`
/// names (all of it, zeros included) and only reads the other two.
void run_conv_step(const ir::ConvStep& step, void* x, void* w, void* y);

}  // namespace kiln::runtime
