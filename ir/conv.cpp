#include "ir/conv.h"

#include <fmt/format.h>

#include "kiln/error.h"

namespace kiln::ir {

ConvGeometry conv_geometry(const Shape& x, const Shape& weight, const ConvAttr& a,
                           std::string& problem) {
    ConvGeometry g;
    problem.clear();
    if (x.size() != 4 || weight.size() != 4) {
        problem = fmt::format("input {} and weight {} must both have rank 4", shape_str(x),
                              shape_str(weight));
        return g;
    }
    if (a.stride.size() != 2 || a.padding.size() != 2 || a.dilation.size() != 2) {
        problem = "stride, padding and dilation need two values each";
        return g;
    }
    if (a.stride[0] < 1 || a.stride[1] < 1 || a.dilation[0] < 1 || a.dilation[1] < 1 ||
        a.padding[0] < 0 || a.padding[1] < 0 || a.groups < 1) {
        problem = fmt::format("stride {} and dilation {} must be >= 1, padding {} >= 0, groups {} >= 1",
                              ints_str(a.stride), ints_str(a.dilation), ints_str(a.padding),
                              a.groups);
        return g;
    }
    g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
    g.o = weight[0], g.kh = weight[2], g.kw = weight[3];
    g.sh = a.stride[0], g.sw = a.stride[1];
    g.ph = a.padding[0], g.pw = a.padding[1];
    g.dh = a.dilation[0], g.dw = a.dilation[1];
    g.groups = a.groups;
    int64_t channels = 0;  // weight[1] * groups, which a huge `groups` overflows
    if (__builtin_mul_overflow(weight[1], a.groups, &channels) || channels != g.c ||
        g.o % a.groups != 0) {
        problem = fmt::format("weight {} does not fit input {} with groups={}", shape_str(weight),
                              shape_str(x), a.groups);
        return g;
    }
    // The dilated kernel's extent and the padded input's size, computed without overflow: a
    // kernel or input too large to compute does not fit.
    int64_t eh = 0, ew = 0, hp = 0, wp = 0;
    bool overflow =
        __builtin_mul_overflow(g.dh, g.kh - 1, &eh) || __builtin_add_overflow(eh, 1, &eh) ||
        __builtin_mul_overflow(g.dw, g.kw - 1, &ew) || __builtin_add_overflow(ew, 1, &ew) ||
        __builtin_mul_overflow(g.ph, 2, &hp) || __builtin_add_overflow(hp, g.h, &hp) ||
        __builtin_mul_overflow(g.pw, 2, &wp) || __builtin_add_overflow(wp, g.w, &wp);
    if (overflow || g.kh < 1 || g.kw < 1 || hp < eh || wp < ew) {
        problem = fmt::format("kernel {}x{} (dilation {}) does not fit input {} padded by {}", g.kh,
                              g.kw, ints_str(a.dilation), shape_str(x), ints_str(a.padding));
        return g;
    }
    g.ho = (hp - eh) / g.sh + 1;
    g.wo = (wp - ew) / g.sw + 1;
    return g;
}

ConvOperands conv_operands(const Node& n) {
    switch (n.op()) {
    case Op::Conv2d: return {n.input(0).get(), n.input(1).get(), &n};
    case Op::Conv2dGradInput: return {&n, n.input(1).get(), n.input(0).get()};
    case Op::Conv2dGradWeight: return {n.input(0).get(), &n, n.input(1).get()};
    default: KILN_CHECK(false, "conv_operands: not a conv node: " + std::string(op_name(n.op())));
    }
    return {};
}

ConvGeometry conv_geometry(const Node& n) {
    ConvOperands t = conv_operands(n);
    std::string problem;
    ConvGeometry g = conv_geometry(t.x->shape(), t.w->shape(), n.attr_as<ConvAttr>(), problem);
    KILN_CHECK(problem.empty(), "conv_geometry: " + problem);
    return g;
}

}  // namespace kiln::ir
