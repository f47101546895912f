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

/// The three tensors of a conv node, named as in y = conv2d(x, w). The one the node computes is
/// the node itself: y for conv2d(x, w), x for conv2d_grad_input(dy = y, w), w for
/// conv2d_grad_weight(x, dy = y). Needs only the node's arity to be right.
struct ConvOperands {
    const Node* x;
    const Node* w;
    const Node* y;
};
ConvOperands conv_operands(const Node& n);

/// The geometry of a verified conv node (from its operands' shapes).
ConvGeometry conv_geometry(const Node& n);

}  // namespace kiln::ir
