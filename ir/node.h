#pragma once
/// The IR's one node type: immutable and hash-consed. Two nodes built from equal parts are the
/// same object, so structural equality is pointer equality (CSE and cache keys for free).
/// Nodes are shared through `NodeRef` (std::shared_ptr<const Node>); a node owns its inputs.
#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "ir/op.h"
#include "ir/shape.h"
#include "kiln/dtype.h"

namespace kiln::ir {

class Node;
/// Shared ownership of an immutable node.
using NodeRef = std::shared_ptr<const Node>;

// ---- typed attributes: one small struct per kind of op, never strings or untyped ints.

/// Ops without parameters.
struct NoAttr {
    bool operator==(const NoAttr&) const = default;
};
/// A realized buffer. `id` is unique per buffer; `data` keeps the buffer alive and is opaque to
/// the IR (the runtime owns its meaning). Placeholders in canonical graphs have `data == nullptr`
/// and `id` = their position among the graph's inputs.
struct InputAttr {
    int64_t id = 0;
    std::shared_ptr<const void> data;
    bool operator==(const InputAttr& o) const { return id == o.id && data == o.data; }
};
/// A constant: floats use `f`, integers and bool use `i` (the node's dtype says which).
struct ConstAttr {
    double f = 0;
    int64_t i = 0;
    bool operator==(const ConstAttr& o) const;  // bitwise on f, so NaN constants intern
};
/// The axis an iota counts along.
struct AxisAttr {
    int64_t axis = 0;
    bool operator==(const AxisAttr&) const = default;
};
/// Axes of a reduction or flip, sorted ascending, no duplicates.
struct AxesAttr {
    std::vector<int64_t> axes;
    bool operator==(const AxesAttr&) const = default;
};
/// out dim i = in dim perm[i].
struct PermuteAttr {
    std::vector<int64_t> perm;
    bool operator==(const PermuteAttr&) const = default;
};
/// out[i_d] = in[start_d + i_d * step_d]; step may be negative. Out sizes are the node's shape.
struct SliceAttr {
    std::vector<int64_t> start, step;
    bool operator==(const SliceAttr&) const = default;
};
/// Zero padding: out size_d = before_d + in size_d + after_d (before/after >= 0).
struct PadAttr {
    std::vector<int64_t> before, after;
    bool operator==(const PadAttr&) const = default;
};
/// The axis of a gather / scatter_add and the call site it reports bad indices for: `site` is
/// a number the frontend gives each user call (op name, file:line), 0 when unknown.
struct IndexAttr {
    int64_t axis = 0;
    int64_t site = 0;
    bool operator==(const IndexAttr&) const = default;
};
/// Sliding windows along `axis`: `size` elements `dilation` apart, a window every `stride`.
struct WindowAttr {
    int64_t axis = 0, size = 1, stride = 1, dilation = 1;
    bool operator==(const WindowAttr&) const = default;
};
/// A 2-d convolution's geometry besides the shapes (conv2d and its two gradients): per spatial
/// dim (height, width) the stride, the zero padding on both sides and the dilation; `groups`
/// splits the channels into independent convolutions.
struct ConvAttr {
    std::vector<int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
    int64_t groups = 1;
    bool operator==(const ConvAttr&) const = default;
};
/// Which Philox output word(s) a random node uses (0..3; f64 uses word and word + 1), so that
/// several numbers per element (Box-Muller's pair) come from one counter.
struct RandomAttr {
    int64_t word = 0;
    bool operator==(const RandomAttr&) const = default;
};
/// The identity of an autograd leaf (a tensor the user asked gradients for). Leaves with equal
/// values stay distinct variables because ids are unique per process. `owner` is opaque to the IR
/// (the frontend's tensor that accumulates the gradient); it is not part of equality.
struct LeafAttr {
    int64_t id = 0;
    std::weak_ptr<void> owner;
    bool operator==(const LeafAttr& o) const { return id == o.id; }
};
/// Loop variable number `index` of a loop kernel, ranging over [0, extent). The extent is part
/// of the node so that index simplification can use ranges without any context.
struct VarAttr {
    int64_t index = 0;
    int64_t extent = 0;
    bool operator==(const VarAttr&) const = default;
};
/// A load from kernel buffer `buffer` (element index from input 0).
struct LoadAttr {
    int64_t buffer = 0;
    bool operator==(const LoadAttr&) const = default;
};
/// The result of reduce stage `stage` of the enclosing kernel.
struct StageAttr {
    int64_t stage = 0;
    bool operator==(const StageAttr&) const = default;
};

using Attr = std::variant<NoAttr, InputAttr, ConstAttr, AxisAttr, AxesAttr, PermuteAttr, SliceAttr,
                          PadAttr, VarAttr, LoadAttr, StageAttr, LeafAttr, IndexAttr, RandomAttr, WindowAttr,
                          ConvAttr>;

class Node {
public:
    /// Returns the unique node with these parts (creating it if needed). Thread-safe.
    /// Checks only arity; full checks are the verifier's job (ir/verify.h).
    static NodeRef make(Op op, DType dtype, Shape shape, std::vector<NodeRef> inputs = {},
                        Attr attr = NoAttr{});

    Op op() const { return op_; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
    const std::vector<NodeRef>& inputs() const { return inputs_; }
    const NodeRef& input(size_t i) const { return inputs_[i]; }
    const Attr& attr() const { return attr_; }
    /// The attribute as its struct; an internal error if the op has another kind.
    template <class T>
    const T& attr_as() const {
        const T* p = std::get_if<T>(&attr_);
        if (!p) attr_mismatch();
        return *p;
    }
    size_t hash() const { return hash_; }
    /// True when a gradient can flow from this node to a leaf: it is a `leaf`, or a float node
    /// with such an input (a `detach` and non-float results cut the flow). O(1): computed when
    /// the node is made, so asking whether a tensor requires grad costs nothing.
    bool tracks_grad() const { return tracks_grad_; }

    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

private:
    Node(Op op, DType dtype, Shape shape, std::vector<NodeRef> inputs, Attr attr);
    [[noreturn]] void attr_mismatch() const;
    friend struct NodeInterner;

    Op op_;
    DType dtype_;
    Shape shape_;
    std::vector<NodeRef> inputs_;
    Attr attr_;
    size_t hash_;
    bool tracks_grad_ = false;
};

// ---- small constructors used by every layer

/// A constant of `dtype` and `shape` with every element `value` (converted to the dtype).
NodeRef make_const(double value, DType dtype, const Shape& shape = {});
/// A constant from an exact integer (no rounding through double).
NodeRef make_int_const(int64_t value, DType dtype, const Shape& shape = {});
/// The constant's value as double / int64 (for either storage).
double const_value(const Node& n);
int64_t const_int(const Node& n);
bool is_const(const NodeRef& n, double value);

/// A hash of an attribute's value (what node hashes combine).
size_t hash_attr(const Attr& attr);

/// Number of live interned nodes (for tests and leak checks).
size_t live_node_count();

/// All nodes reachable from `roots`, inputs before users (a topological order), each once.
std::vector<const Node*> topo_order(const std::vector<NodeRef>& roots);

}  // namespace kiln::ir
