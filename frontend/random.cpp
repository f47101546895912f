// rand, randn and manual_seed. Random numbers are lazy IR: a `random` node whose seed and
// offset are 0-d input buffers, so a program that draws numbers (dropout, an initializer) is
// compiled once and draws new ones every run, and the values are Philox's (ir/philox.h): the
// same on every backend.
#include <cmath>
#include <mutex>
#include <numbers>

#include "frontend/checks.h"
#include "frontend/const_lifting.h"
#include "frontend/graph_builder.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

/// Kiln's generator: a seed and the next unused counter. Each draw of n numbers takes the
/// counters [offset, offset + n) (PyTorch's Philox offset scheme).
struct Generator {
    std::mutex mutex;
    uint64_t seed = 0x6b696c6eULL;
    uint64_t offset = 0;
    NodeRef seed_node;  ///< the 0-d buffer holding `seed` (shared by draws)
};
Generator& generator() {
    static Generator* g = new Generator();  // leaked: tensors may draw during exit
    return *g;
}

NodeRef int_input(uint64_t value) {
    NodeRef c = ir::make_int_const(static_cast<int64_t>(value), DType::Int64);
    return detail::input_node(detail::constant_buffer(*c), {});
}

DType random_dtype(const char* op, const std::vector<int64_t>& shape, const TensorOptions& opts,
                   const std::source_location& loc) {
    DType dtype = opts.dtype_or(DType::Float32);
    if (!is_floating(dtype))
        fail<TypeError>(op, std::string("needs a floating dtype, got ") + dtype_name(dtype), loc);
    check_shape(op, shape, dtype, loc);
    check_device(op, opts.device(), loc);
    return dtype;
}

}  // namespace

namespace detail {
/// Uniform [0, 1) numbers of `shape`: one `random` node per requested Philox word, all on the
/// same fresh counters (so they are independent streams of the same draw).
std::vector<NodeRef> draw_uniform(const ir::Shape& shape, DType dtype,
                                  const std::vector<int64_t>& words) {
    Generator& g = generator();
    NodeRef seed, offset;
    {
        std::lock_guard lock(g.mutex);
        if (!g.seed_node) g.seed_node = int_input(g.seed);
        seed = g.seed_node;
        offset = int_input(g.offset);
        g.offset += static_cast<uint64_t>(ir::numel(shape));
    }
    std::vector<NodeRef> out;
    for (int64_t w : words)
        out.push_back(Node::make(Op::Random, dtype, shape, {seed, offset}, ir::RandomAttr{w}));
    return out;
}
}  // namespace detail

Tensor rand(std::vector<int64_t> shape, TensorOptions opts, std::source_location loc) {
    DType dtype = random_dtype("rand", shape, opts, loc);
    Tensor t = make_tensor(detail::draw_uniform(shape, dtype, {0})[0], opts.device());
    if (opts.requires_grad()) t.requires_grad_(true, loc);
    return t;
}

Tensor randn(std::vector<int64_t> shape, TensorOptions opts, std::source_location loc) {
    DType dtype = random_dtype("randn", shape, opts, loc);
    // Box-Muller on two words of each element's counter: sqrt(-2 log(1 - u1)) cos(2 pi u2)
    // (1 - u1 is in (0, 1], so the log is finite).
    std::vector<NodeRef> u = detail::draw_uniform(shape, dtype, {0, dtype == DType::Float32 ? 1 : 2});
    auto c = [&](double v) { return build::scalar_like(v, u[0]); };
    NodeRef r = build::unary(
        Op::Sqrt, build::binary(Op::Mul, c(-2),
                                build::unary(Op::Log, build::binary(Op::Sub, c(1), u[0]))));
    NodeRef angle = build::binary(Op::Mul, c(2 * std::numbers::pi), u[1]);
    Tensor t = make_tensor(build::binary(Op::Mul, r, build::unary(Op::Cos, angle)), opts.device());
    if (opts.requires_grad()) t.requires_grad_(true, loc);
    return t;
}

void manual_seed(uint64_t seed) {
    Generator& g = generator();
    std::lock_guard lock(g.mutex);
    g.seed = seed;
    g.offset = 0;
    g.seed_node = nullptr;
}

}  // namespace kiln
