#pragma once
/// The geometry of a 2-d convolution (ops conv2d, conv2d_grad_input, conv2d_grad_weight), shared
/// by the verifier, the reference interpreter, lowering and the runtime's conv steps.
#include <string>

#include "ir/node.h"

namespace kiln::ir {

/// Input x [n, c, h, w], weight [o, c / groups, kh, kw], output [n, o, ho, wo]. Output position
/// (i, j) with kernel offset (ki, kj) reads x at (i*sh - ph + ki*dh, j*sw - pw + kj*dw), zero
/// outside the input.
struct ConvGeometry {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t o = 0, kh = 0, kw = 0;
    int64_t ho = 0, wo = 0;
    int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
    int64_t groups = 1;
    bool operator==(const ConvGeometry&) const = default;

    int64_t group_channels() const { return c / groups; }       ///< input channels per group
    int64_t group_outputs() const { return o / groups; }        ///< output channels per group
    int64_t taps() const { return group_channels() * kh * kw; } ///< one output's inputs (im2col rows)
    int64_t positions() const { return ho * wo; }               ///< output positions per image
    Shape input_shape() const { return {n, c, h, w}; }
    Shape weight_shape() const { return {o, c / groups, kh, kw}; }
    Shape output_shape() const { return {n, o, ho, wo}; }
};

/// The geometry of convolving x by a weight of these shapes, or an explanation in `problem`
/// (ranks, channels vs groups, attribute lists of two values, a kernel larger than the padded
/// input). The output size is PyTorch's: (h + 2*ph - dh*(kh-1) - 1) / sh + 1.
ConvGeometry conv_geometry(const Shape& x, const Shape& weight, const ConvAttr& attr,
                           std::string& problem);

/// The geometry of a conv node: conv2d reads x and w from its inputs, conv2d_grad_input takes x's
/// shape from its own and w from input 1, conv2d_grad_weight w's shape from its own and x from
/// input 0. Assumes a verified node.
ConvGeometry conv_geometry(const Node& n);

}  // namespace kiln::ir
