// Creation functions. Data from the host (tensor, randn, rand) becomes a buffer at once;
// constant-valued and index-valued tensors (zeros, full, arange, eye) stay lazy IR.
#include <cmath>
#include <mutex>
#include <numbers>
#include <random>

#include <fmt/format.h>

#include "frontend/checks.h"
#include "frontend/graph_builder.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"

namespace kiln {
namespace {

using ir::NodeRef;
using ir::Op;

void check_device(const char* op, const TensorOptions& opts, const std::source_location& loc) {
    kiln::check_device(op, opts.device(), loc);
}

Tensor finish(NodeRef n, const TensorOptions& opts, const std::source_location& loc) {
    Tensor t = make_tensor(std::move(n), opts.device());
    if (opts.requires_grad()) t.requires_grad_(true, loc);
    return t;
}

/// Writes double values into a fresh buffer of `dtype`.
template <class Get>
Tensor from_host(const char* op, int64_t n, Get get, const std::vector<int64_t>& shape,
                 DType dtype, const TensorOptions& opts, const std::source_location& loc) {
    check_shape(op, shape, dtype, loc);
    check_device(op, opts, loc);
    if (ir::numel(shape) != n) {
        fail<ShapeError>(op, std::to_string(n) + " values cannot have shape " +
                                 ir::ints_str(shape) + " (" + std::to_string(ir::numel(shape)) +
                                 " elements)", loc);
    }
    std::shared_ptr<runtime::Buffer> buf;
    try {
        buf = runtime::Buffer::allocate(dtype, n);
    } catch (const OutOfMemoryError& e) {
        fail<OutOfMemoryError>(op, e.what(), loc);
    }
    void* p = buf->data();
    for (int64_t i = 0; i < n; ++i) {
        auto v = get(i);
        switch (dtype) {
        case DType::Float32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
        case DType::Float64: static_cast<double*>(p)[i] = static_cast<double>(v); break;
        case DType::Int32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
        case DType::Int64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
        case DType::Bool: static_cast<uint8_t*>(p)[i] = v != 0 ? 1 : 0; break;
        }
    }
    if (opts.device().is_cuda()) buf = runtime::copy_to_device(*buf, opts.device());
    return finish(detail::input_node(buf, shape), opts, loc);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const std::vector<int64_t>& shape,
                   DType natural, const TensorOptions& opts, const std::source_location& loc) {
    return from_host("tensor", static_cast<int64_t>(values.size()),
                     [&](int64_t i) { return values[i]; }, shape, opts.dtype_or(natural), opts,
                     loc);
}

}  // namespace

Tensor tensor(std::vector<float> v, std::vector<int64_t> s, TensorOptions o, std::source_location l) {
    return from_vector(v, s, DType::Float32, o, l);
}
Tensor tensor(std::vector<double> v, std::vector<int64_t> s, TensorOptions o, std::source_location l) {
    return from_vector(v, s, DType::Float64, o, l);
}
Tensor tensor(std::vector<int32_t> v, std::vector<int64_t> s, TensorOptions o, std::source_location l) {
    return from_vector(v, s, DType::Int32, o, l);
}
Tensor tensor(std::vector<int64_t> v, std::vector<int64_t> s, TensorOptions o, std::source_location l) {
    return from_vector(v, s, DType::Int64, o, l);
}
Tensor tensor(std::vector<bool> v, std::vector<int64_t> s, TensorOptions o, std::source_location l) {
    return from_host("tensor", static_cast<int64_t>(v.size()),
                     [&](int64_t i) { return v[i] ? 1 : 0; }, s, o.dtype_or(DType::Bool), o, l);
}

namespace {
Tensor constant(const char* op, const std::vector<int64_t>& shape, double value,
                const TensorOptions& opts, const std::source_location& loc) {
    DType dtype = opts.dtype_or(DType::Float32);
    check_shape(op, shape, dtype, loc);
    check_device(op, opts, loc);
    return finish(ir::make_const(value, dtype, shape), opts, loc);
}
}  // namespace

Tensor full(std::vector<int64_t> shape, double value, TensorOptions opts, std::source_location loc) {
    return constant("full", shape, value, opts, loc);
}
Tensor zeros(std::vector<int64_t> shape, TensorOptions opts, std::source_location loc) {
    return constant("zeros", shape, 0.0, opts, loc);
}
Tensor ones(std::vector<int64_t> shape, TensorOptions opts, std::source_location loc) {
    return constant("ones", shape, 1.0, opts, loc);
}

Tensor arange(Scalar end, TensorOptions opts, std::source_location loc) {
    return arange(Scalar(0), end, Scalar(1), opts, loc);
}

Tensor arange(Scalar start, Scalar end, Scalar step, TensorOptions opts, std::source_location loc) {
    check_device("arange", opts, loc);
    bool integral = !start.is_floating() && !end.is_floating() && !step.is_floating();
    DType dtype = opts.dtype_or(integral ? DType::Int64 : DType::Float32);
    if (step.to_double() == 0) fail<ValueError>("arange", "step must be nonzero", loc);
    double span = (end.to_double() - start.to_double()) / step.to_double();
    if (!std::isfinite(span)) fail<ValueError>("arange", "start and end must be finite", loc);
    // The element count, computed without overflow (PyTorch raises here too).
    auto too_many = [&](const std::string& count) {
        fail<ValueError>("arange",
                         "start " + scalar_str(start) + ", end " + scalar_str(end) + " and step " +
                             scalar_str(step) + " give " + count +
                             " elements, more than a tensor can hold",
                         loc);
    };
    int64_t n = 0;
    if (integral) {
        __int128 a = start.to_int(), b = end.to_int(), d = step.to_int();
        __int128 count = (b - a + d + (d > 0 ? -1 : 1)) / d;
        if (count > INT64_MAX) too_many(fmt::format("{:.6g}", static_cast<double>(count)));
        n = std::max<int64_t>(0, static_cast<int64_t>(count));
    } else {
        double count = std::ceil(span);
        if (count >= 9223372036854775807.0) too_many(fmt::format("{:.6g}", count));
        n = std::max<int64_t>(0, static_cast<int64_t>(count));
    }
    check_shape("arange", {n}, dtype, loc);
    // value_i = start + i * step, computed in f64 (or i64) and cast once.
    DType work = integral ? DType::Int64 : DType::Float64;
    NodeRef i = build::cast(ir::Node::make(Op::Iota, DType::Int64, {n}, {}, ir::AxisAttr{0}), work);
    auto c = [&](const Scalar& s) {
        return integral ? ir::make_int_const(s.to_int(), work, {n})
                        : ir::make_const(s.to_double(), work, {n});
    };
    NodeRef v = build::binary(Op::Add, c(start), build::binary(Op::Mul, i, c(step)));
    return finish(build::cast(v, dtype), opts, loc);
}

Tensor eye(int64_t n, TensorOptions opts, std::source_location loc) {
    if (n < 0) fail<ValueError>("eye", "n must be non-negative, got " + std::to_string(n), loc);
    check_shape("eye", {n, n}, opts.dtype_or(DType::Float32), loc);
    check_device("eye", opts, loc);
    NodeRef r = ir::Node::make(Op::Iota, DType::Int64, {n, n}, {}, ir::AxisAttr{0});
    NodeRef c = ir::Node::make(Op::Iota, DType::Int64, {n, n}, {}, ir::AxisAttr{1});
    return finish(build::cast(build::binary(Op::Eq, r, c), opts.dtype_or(DType::Float32)), opts, loc);
}

}  // namespace kiln
