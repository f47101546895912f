#pragma once
/// What frontend ops are written with: the IR's node builders (as `build::`) and the user-facing
/// broadcast rule, which reports impossible shapes with the caller's file:line.
#include <source_location>
#include <string>

#include "ir/build.h"

namespace kiln {

namespace build = ir::build;

/// The broadcast of two shapes (numpy rules); throws ShapeError naming `op` when impossible.
ir::Shape broadcast_shapes(const std::string& op, const ir::Shape& a, const ir::Shape& b,
                           const std::source_location& loc);

}  // namespace kiln
