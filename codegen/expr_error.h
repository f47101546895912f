#pragma once
/// The error both backends raise for a malformed scalar expression in a loop kernel (a bug in
/// lowering, never a user mistake): "BACKEND codegen: WHAT in EXPR", the expression cut to 400
/// characters.
#include <string>
#include <string_view>

#include "ir/loop_kernel.h"
#include "kiln/error.h"

namespace kiln::codegen {

[[noreturn]] inline void expr_error(std::string_view backend, const ir::NodeRef& n,
                                    const std::string& what) {
    std::string text = ir::print_expr(n);
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    throw InternalError(std::string(backend) + " codegen: " + what + " in " + text);
}

}  // namespace kiln::codegen
