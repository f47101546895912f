#include "ir/op.h"

#include <array>

namespace kiln::ir {
namespace {

struct OpInfo {
    std::string_view name;
    int arity;
    OpCategory category;
};

constexpr std::array kOps = {
#define KILN_OP(name, text, arity, category) OpInfo{text, arity, OpCategory::category},
#include "ir/ops.def"
#undef KILN_OP
};

const OpInfo& info(Op op) { return kOps[static_cast<size_t>(op)]; }

}  // namespace

std::string_view op_name(Op op) { return info(op).name; }
int op_arity(Op op) { return info(op).arity; }
OpCategory op_category(Op op) { return info(op).category; }

bool parse_op(std::string_view name, Op& out) {
    for (size_t i = 0; i < kOps.size(); ++i) {
        if (kOps[i].name == name) {
            out = static_cast<Op>(i);
            return true;
        }
    }
    return false;
}

bool is_elementwise(Op op) {
    OpCategory c = op_category(op);
    return c == OpCategory::Unary || c == OpCategory::Binary || c == OpCategory::Ternary;
}

bool is_comparison(Op op) {
    return op == Op::Eq || op == Op::Ne || op == Op::Lt || op == Op::Le || op == Op::And ||
           op == Op::Or;
}

bool is_transcendental(Op op) {
    return op == Op::Exp || op == Op::Log || op == Op::Sin || op == Op::Cos || op == Op::Tanh ||
           op == Op::Sigmoid || op == Op::Erf || op == Op::Pow;
}

}  // namespace kiln::ir
