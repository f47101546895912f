// Exact error messages for user mistakes (MLIR's invalid.mlir style): the full text, the
// exception type, and the caller's file:line. Every EXPECT_ERROR stays on one line (the expected
// line is __LINE__ of the line of the call), so the tables below are exempt from clang-format and
// from the 100-column limit: one line per mistake reads better than wrapped ones.
#include "runtime/cuda/driver.h"
#include <cmath>
#include <limits>
#include <type_traits>

#include <catch2/catch.hpp>

#include "kiln/kiln.h"

using namespace kiln;

namespace {

/// Runs `f`, which must throw exactly an `E` whose what() is `want` + " at errors_test.cpp:LINE".
template <class E, class F>
void expect_error(F&& f, const std::string& want, int line, const char* expr) {
    static_assert(std::is_base_of_v<Error, E>, "user mistakes are kiln::Error subclasses");
    std::string full = want + " at errors_test.cpp:" + std::to_string(line);
    try {
        f();
    } catch (const E& e) {
        INFO(expr);
        CHECK(std::string(e.what()) == full);
        return;
    } catch (const std::exception& e) {
        FAIL_CHECK(expr << " threw the wrong exception type, with message: " << e.what());
        return;
    }
    FAIL_CHECK(expr << " did not throw; expected: " << full);
}

#define EXPECT_ERROR(E, expr, want) expect_error<E>([&] { (void)(expr); }, want, __LINE__, #expr)

Tensor f32(std::vector<int64_t> shape) { return zeros(std::move(shape)); }

}  // namespace

// clang-format off

TEST_CASE("errors: the exception hierarchy", "[errors]") {
    static_assert(std::is_base_of_v<Error, ShapeError>);
    static_assert(std::is_base_of_v<Error, TypeError>);
    static_assert(std::is_base_of_v<Error, ValueError>);
    static_assert(std::is_base_of_v<std::runtime_error, Error>);
    // Internal faults are not user errors.
    static_assert(!std::is_base_of_v<Error, InternalError>);
    // The harness itself must notice a wrong line or text: the location is part of the text.
    Tensor a = f32({2, 3}), b = f32({4});
    try {
        (void)(a + b);
        FAIL("no exception");
    } catch (const ShapeError& e) {
        CHECK(std::string(e.what()).find(" at errors_test.cpp:") != std::string::npos);
    }
}

TEST_CASE("errors: broadcasting shape mismatch", "[errors][shape]") {
    Tensor a = f32({2, 3}), b = f32({4}), c = f32({2, 1, 4}), d = f32({3, 5});
    EXPECT_ERROR(ShapeError, a + b, "add: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    EXPECT_ERROR(ShapeError, b - a, "sub: shapes [4] and [2,3] cannot be broadcast (dim 1: 4 vs 3)");
    EXPECT_ERROR(ShapeError, a * b, "mul: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    EXPECT_ERROR(ShapeError, a / b, "div: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    EXPECT_ERROR(ShapeError, c + d, "add: shapes [2,1,4] and [3,5] cannot be broadcast (dim 2: 4 vs 5)");
    EXPECT_ERROR(ShapeError, a > b, "gt: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    EXPECT_ERROR(ShapeError, a == b, "eq: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    EXPECT_ERROR(ShapeError, maximum(a, b), "maximum: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    EXPECT_ERROR(ShapeError, pow(a, b), "pow: shapes [2,3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    Tensor cond = zeros({2}, kBool);
    EXPECT_ERROR(ShapeError, where(cond, a, a), "where: shapes [2] and [2,3] cannot be broadcast (dim 1: 2 vs 3)");
}

TEST_CASE("errors: matmul, mm, bmm shapes", "[errors][shape]") {
    Tensor a = f32({2, 3}), b = f32({4, 5});
    EXPECT_ERROR(ShapeError, matmul(a, b), "matmul: shapes [2,3] and [4,5] cannot be multiplied (3 != 4)");
    EXPECT_ERROR(ShapeError, a.matmul(b), "matmul: shapes [2,3] and [4,5] cannot be multiplied (3 != 4)");
    EXPECT_ERROR(ShapeError, matmul(f32({3}), f32({4})), "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)");
    EXPECT_ERROR(ShapeError, matmul(f32({2, 3}), f32({2})), "matmul: shapes [2,3] and [2] cannot be multiplied (3 != 2)");
    EXPECT_ERROR(ShapeError, matmul(f32({}), f32({3})), "matmul: both arguments need at least 1 dim, got shapes [] and [3]");
    EXPECT_ERROR(ShapeError, mm(a, b), "mm: shapes [2,3] and [4,5] cannot be multiplied (3 != 4)");
    EXPECT_ERROR(ShapeError, mm(f32({3}), b), "mm: expects 2-D tensors, got shapes [3] and [4,5]");
    EXPECT_ERROR(ShapeError, bmm(f32({2, 3, 4}), f32({3, 4, 5})), "bmm: batch sizes differ: shapes [2,3,4] and [3,4,5]");
    EXPECT_ERROR(ShapeError, bmm(f32({2, 3, 4}), f32({2, 5, 5})), "bmm: shapes [2,3,4] and [2,5,5] cannot be multiplied (4 != 5)");
    EXPECT_ERROR(ShapeError, bmm(a, b), "bmm: expects 3-D tensors, got shapes [2,3] and [4,5]");
}

TEST_CASE("errors: matmul batch dims that do not broadcast", "[errors][shape]") {
    Tensor a = f32({2, 3, 4}), b = f32({3, 4, 5});
    EXPECT_ERROR(ShapeError, matmul(a, b), "matmul: batch dims of shapes [2,3,4] and [3,4,5] cannot be broadcast (dim 0: 2 vs 3)");
}

TEST_CASE("errors: dims out of range", "[errors][shape]") {
    Tensor x = f32({2, 3});
    EXPECT_ERROR(ShapeError, x.sum({3}), "sum: dim 3 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.sum({2}), "sum: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.sum({-3}), "sum: dim -3 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.sum({0, -2}), "sum: dim -2 appears more than once in [0,-2]");
    EXPECT_ERROR(ShapeError, x.mean({5}, true), "mean: dim 5 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.amax({-3}), "amax: dim -3 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.amin({2}), "amin: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.argmax(2), "argmax: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.var({2}), "var: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.std({-3}), "std: dim -3 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, softmax(x, 2), "softmax: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, log_softmax(x, -3), "log_softmax: dim -3 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, logsumexp(x, {2}), "logsumexp: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.transpose(0, 2), "transpose: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.flip({2}), "flip: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.slice(2, 0, 1), "slice: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.narrow(-3, 0, 1), "narrow: dim -3 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.squeeze(2), "squeeze: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.flatten(0, 2), "flatten: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.flatten(1, 0), "flatten: start_dim 1 comes after end_dim 0");
    EXPECT_ERROR(ShapeError, x.size(2), "size: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, cat({x, x}, 2), "cat: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, f32({2, 3, 4}).t(), "t: expects a tensor with at most 2 dims, got shape [2,3,4]");
    EXPECT_ERROR(ShapeError, f32({}).sum({1}), "sum: dim 1 is out of range for shape [] (rank 0)");
    EXPECT_ERROR(ShapeError, softmax(f32({}), -2), "softmax: dim -2 is out of range for shape [] (rank 0)");
}

TEST_CASE("errors: unsqueeze/stack dims out of range", "[errors][shape]") {
    Tensor x = f32({2, 3});
    EXPECT_ERROR(ShapeError, x.unsqueeze(4), "unsqueeze: dim 4 is out of range for shape [2,3] (accepted dims: -3 to 2)");
    EXPECT_ERROR(ShapeError, stack({x, x}, -4), "stack: dim -4 is out of range for shape [2,3] (accepted dims: -3 to 2)");
}

TEST_CASE("errors: bad reshape and view", "[errors][shape]") {
    Tensor x = f32({2, 3});
    EXPECT_ERROR(ValueError, x.reshape({-1, -1}), "reshape: only one dim can be -1, got [-1,-1]");
    EXPECT_ERROR(ShapeError, x.reshape({4, 2}), "reshape: shape [4,2] is invalid for 6 elements (input shape [2,3])");
    EXPECT_ERROR(ShapeError, x.reshape({-1, 4}), "reshape: shape [-1,4] is invalid for 6 elements (input shape [2,3])");
    EXPECT_ERROR(ShapeError, x.reshape({0, -1}), "reshape: shape [0,-1] is invalid for 6 elements (input shape [2,3])");
    EXPECT_ERROR(ValueError, x.reshape({-2, 3}), "reshape: invalid size -2 in shape [-2,3]");
    EXPECT_ERROR(ShapeError, x.view({7}), "view: shape [7] is invalid for 6 elements (input shape [2,3])");
    EXPECT_ERROR(ValueError, x.view({-1, 2, -1}), "view: only one dim can be -1, got [-1,2,-1]");
}

TEST_CASE("errors: permute, expand, cat, stack", "[errors][shape]") {
    Tensor x = f32({2, 3});
    EXPECT_ERROR(ShapeError, x.permute({0}), "permute: dims [0] do not match shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.permute({0, 1, 2}), "permute: dims [0,1,2] do not match shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.permute({0, 0}), "permute: dim 0 repeats in [0,0]");
    EXPECT_ERROR(ShapeError, x.permute({1, -1}), "permute: dim -1 repeats in [1,-1]");
    EXPECT_ERROR(ShapeError, x.permute({0, 2}), "permute: dim 2 is out of range for shape [2,3] (rank 2)");
    EXPECT_ERROR(ShapeError, x.expand({4, 3}), "expand: cannot expand shape [2,3] to [4,3]");
    EXPECT_ERROR(ShapeError, x.expand({3}), "expand: cannot expand shape [2,3] to [3]");
    EXPECT_ERROR(ShapeError, f32({3}).expand({-1, 3}), "expand: cannot expand shape [3] to [-1,3]");
    EXPECT_ERROR(ShapeError, f32({3, 1}).expand({3, -2}), "expand: cannot expand shape [3,1] to [3,-2]");
    EXPECT_ERROR(ShapeError, cat({x, f32({2, 4})}, 0), "cat: tensor 1 has shape [2,4], which does not match [2,3] outside dim 0");
    EXPECT_ERROR(ShapeError, cat({x, x, f32({3})}, 1), "cat: tensor 2 has shape [3], which does not match [2,3] outside dim 1");
    EXPECT_ERROR(ValueError, cat({}), "cat: expects at least one tensor");
    EXPECT_ERROR(ShapeError, stack({x, f32({3, 2})}), "stack: tensor 1 has shape [3,2] but tensor 0 has [2,3]");
    EXPECT_ERROR(ValueError, stack({}, 0), "stack: expects at least one tensor");
}

TEST_CASE("errors: dtype mismatches", "[errors][dtype]") {
    Tensor x = f32({2, 3});
    Tensor i = zeros({2, 3}, kInt64), s = zeros({}, kInt64), b = zeros({2}, kBool);
    EXPECT_ERROR(TypeError, where(x, x, x), "where: condition must be bool, got f32[2,3]");
    EXPECT_ERROR(TypeError, where(i, x, x), "where: condition must be bool, got i64[2,3]");
    EXPECT_ERROR(TypeError, s.item<float>(), "item: requested float but the tensor is i64[] (use int64_t or .to(...))");
    EXPECT_ERROR(TypeError, zeros({}).item<double>(), "item: requested double but the tensor is f32[] (use float or .to(...))");
    EXPECT_ERROR(TypeError, x.to_vector<int32_t>(), "to_vector: requested int32_t but the tensor is f32[2,3] (use float or .to(...))");
    EXPECT_ERROR(TypeError, b.to_vector<int64_t>(), "to_vector: requested int64_t but the tensor is bool[2] (use bool or .to(...))");
    EXPECT_ERROR(TypeError, i.mean(), "mean: expected a floating tensor, got i64[2,3]");
    EXPECT_ERROR(TypeError, i.mean({0}), "mean: expected a floating tensor, got i64[2,3]");
    EXPECT_ERROR(TypeError, i.var({0}), "var: expected a floating tensor, got i64[2,3]");
    EXPECT_ERROR(TypeError, b.std({0}), "std: expected a floating tensor, got bool[2]");
    EXPECT_ERROR(TypeError, softmax(i, 0), "softmax: expected a floating tensor, got i64[2,3]");
    EXPECT_ERROR(TypeError, log_softmax(i, 0), "log_softmax: expected a floating tensor, got i64[2,3]");
    EXPECT_ERROR(TypeError, logsumexp(i, {0}), "logsumexp: expected a floating tensor, got i64[2,3]");
    EXPECT_ERROR(TypeError, rand({2}, kInt32), "rand: needs a floating dtype, got i32");
    EXPECT_ERROR(TypeError, randn({2}, kBool), "randn: needs a floating dtype, got bool");
}

TEST_CASE("errors: ops refused for bool tensors", "[errors][dtype]") {
    Tensor b = zeros({2}, kBool);
    EXPECT_ERROR(TypeError, neg(b), "neg: not supported for bool tensors");
    EXPECT_ERROR(TypeError, abs(b), "abs: not supported for bool tensors");
    EXPECT_ERROR(TypeError, relu(b), "relu: not supported for bool tensors");
    EXPECT_ERROR(TypeError, b.amax({0}), "amax: not supported for bool tensors");
    EXPECT_ERROR(TypeError, b.max(), "max: not supported for bool tensors");
    EXPECT_ERROR(TypeError, b.argmax(0), "argmax: not supported for bool tensors");
}

TEST_CASE("errors: bool subtraction names its operands", "[errors][dtype]") {
    Tensor b = zeros({2}, kBool);
    EXPECT_ERROR(TypeError, b - b, "sub: not supported for bool tensors (got bool[2] and bool[2])");
    EXPECT_ERROR(TypeError, b - true, "sub: not supported for bool tensors (got bool[2] and a bool scalar)");
}

TEST_CASE("errors: invalid argument values", "[errors][value]") {
    Tensor x = f32({2, 3});
    EXPECT_ERROR(ValueError, arange(0, 10, 0), "arange: step must be nonzero");
    EXPECT_ERROR(ValueError, arange(0.0, 1.0, 0.0), "arange: step must be nonzero");
    EXPECT_ERROR(ValueError, arange(0.0, std::numeric_limits<double>::infinity()), "arange: start and end must be finite");
    EXPECT_ERROR(ValueError, zeros({2, -1}), "zeros: negative size -1 in shape [2,-1]");
    EXPECT_ERROR(ValueError, ones({-3}), "ones: negative size -3 in shape [-3]");
    EXPECT_ERROR(ValueError, full({-1, 2}, 1.0), "full: negative size -1 in shape [-1,2]");
    EXPECT_ERROR(ValueError, rand({-2}), "rand: negative size -2 in shape [-2]");
    EXPECT_ERROR(ValueError, randn({3, -2}), "randn: negative size -2 in shape [3,-2]");
    EXPECT_ERROR(ValueError, eye(-1), "eye: n must be non-negative, got -1");
    EXPECT_ERROR(ShapeError, kiln::tensor(std::vector<float>{1, 2, 3, 4, 5}, {2, 3}), "tensor: 5 values cannot have shape [2,3] (6 elements)");
    EXPECT_ERROR(ValueError, kiln::tensor(std::vector<float>{}, {-1}), "tensor: negative size -1 in shape [-1]");
    EXPECT_ERROR(ValueError, gelu(x, "foo"), "gelu: approximate must be \"none\" or \"tanh\", got \"foo\"");
    EXPECT_ERROR(ValueError, x.slice(1, 0, 3, 0), "slice: step must be positive, got 0");
    EXPECT_ERROR(ValueError, x.slice(0, 2, 0, -1), "slice: step must be positive, got -1");
    EXPECT_ERROR(ShapeError, x.narrow(1, 2, 2), "narrow: start 2 and length 2 exceed dim 1 of shape [2,3]");
    EXPECT_ERROR(ShapeError, x.narrow(0, -3, 1), "narrow: start -3 and length 1 exceed dim 0 of shape [2,3]");
    EXPECT_ERROR(ShapeError, x.narrow(0, 0, -1), "narrow: start 0 and length -1 exceed dim 0 of shape [2,3]");
    EXPECT_ERROR(ValueError, x.item<float>(), "item: a tensor with 6 elements (f32[2,3]) cannot be converted to a scalar");
    EXPECT_ERROR(ValueError, f32({0, 3}).amax({0}), "amax: cannot reduce over dim 0 of size 0 (shape [0,3])");
    EXPECT_ERROR(ValueError, f32({3, 0}).min(), "min: cannot reduce over dim 1 of size 0 (shape [3,0])");
    EXPECT_ERROR(ValueError, f32({0, 3}).argmax(0), "argmax: cannot reduce over dim 0 of size 0 (shape [0,3])");
}

TEST_CASE("errors: clamp with min > max", "[errors][value]") {
    Tensor x = f32({2, 3});
    EXPECT_ERROR(ValueError, clamp(x, 2, 1), "clamp: min 2 is greater than max 1");
    EXPECT_ERROR(ValueError, pow(arange(3), -1), "pow: integers to negative integer powers are not allowed (i64[3] ** -1); use a float exponent");
    EXPECT_ERROR(ValueError, x.clamp(0.5, -0.25), "clamp: min 0.5 is greater than max -0.25");
}

TEST_CASE("errors: undefined tensors", "[errors][value]") {
    Tensor u, x = f32({2});
    EXPECT_ERROR(ValueError, u + x, "add: called on an undefined tensor");
    EXPECT_ERROR(ValueError, x * u, "mul: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u * 2, "mul: called on an undefined tensor");
    EXPECT_ERROR(ValueError, exp(u), "exp: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u.sum(), "sum: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u.reshape({2}), "reshape: called on an undefined tensor");
    EXPECT_ERROR(ValueError, matmul(x, u), "matmul: called on an undefined tensor");
    EXPECT_ERROR(ValueError, cat({x, u}), "cat: called on an undefined tensor");
    EXPECT_ERROR(ValueError, where(u, x, x), "where: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u.item<float>(), "item: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u.to_vector<float>(), "to_vector: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u.realize(), "realize: called on an undefined tensor");
    EXPECT_ERROR(ValueError, realize({x, u}), "realize: called on an undefined tensor");
    EXPECT_ERROR(ValueError, u.to(kFloat64), "to: called on an undefined tensor");
    CHECK_FALSE(u.defined());
}

TEST_CASE("errors: accessors of an undefined tensor name themselves", "[errors][value]") {
    Tensor u;
    auto what = [](auto f) {
        try {
            f();
        } catch (const ValueError& e) {
            return std::string(e.what());
        }
        return std::string("no ValueError");
    };
    CHECK(what([&] { (void)u.sizes(); }) == "sizes: called on an undefined tensor");
    CHECK(what([&] { (void)u.dim(); }) == "dim: called on an undefined tensor");
    CHECK(what([&] { (void)u.numel(); }) == "numel: called on an undefined tensor");
    CHECK(what([&] { (void)u.dtype(); }) == "dtype: called on an undefined tensor");
}

TEST_CASE("errors: devices that are not available", "[errors][device]") {
    // The reason is what the driver probe found on this machine (no driver, the toolkit's stub,
    // no device) or, with a GPU, that the CUDA runtime is not built yet.
    Tensor x = f32({2});
    std::string no_cuda = "device cuda:0 is not available: " + runtime::cuda_unavailable_reason(0);
    EXPECT_ERROR(Error, x.to(kCUDA), "to: " + no_cuda);
    EXPECT_ERROR(Error, x.to(Device(kCUDA, 1)), "to: device cuda:1 is not available: " + runtime::cuda_unavailable_reason(1));
    EXPECT_ERROR(Error, full({2}, 1.0, kCUDA), "full: " + no_cuda);
    EXPECT_ERROR(Error, arange(3, kCUDA), "arange: " + no_cuda);
    EXPECT_ERROR(Error, eye(2, kCUDA), "eye: " + no_cuda);
    EXPECT_ERROR(Error, rand({2}, kCUDA), "rand: " + no_cuda);
    EXPECT_ERROR(Error, kiln::tensor(std::vector<float>{1}, {1}, kCUDA), "tensor: " + no_cuda);
}

TEST_CASE("errors: zeros/ones on an unavailable device name themselves", "[errors][device]") {
    std::string no_cuda = "device cuda:0 is not available: " + runtime::cuda_unavailable_reason(0);
    EXPECT_ERROR(Error, zeros({2}, kCUDA), "zeros: " + no_cuda);
    EXPECT_ERROR(Error, ones({2}, kCUDA), "ones: " + no_cuda);
}
// clang-format on

// clang-format off

TEST_CASE("errors: shapes whose element or byte count overflows, in every factory", "[errors][shape][overflow]") {
    const int64_t big = int64_t(1) << 32;
    const std::string huge = "shape [4294967296,4294967296] has more than 9223372036854775807 elements";
    EXPECT_ERROR(ShapeError, zeros({big, big}), "zeros: " + huge);
    EXPECT_ERROR(ShapeError, ones({big, big}), "ones: " + huge);
    EXPECT_ERROR(ShapeError, full({big, big}, 2.0), "full: " + huge);
    EXPECT_ERROR(ShapeError, rand({big, big}), "rand: " + huge);
    EXPECT_ERROR(ShapeError, randn({big, big}), "randn: " + huge);
    EXPECT_ERROR(ShapeError, kiln::tensor(std::vector<float>{}, {big, big}), "tensor: " + huge);
    EXPECT_ERROR(ShapeError, zeros({3037000500, 3037000500}), "zeros: shape [3037000500,3037000500] has more than 9223372036854775807 elements");
    // The element count fits, the byte count does not.
    EXPECT_ERROR(ShapeError, zeros({int64_t(1) << 62}), "zeros: shape [4611686018427387904] has 4611686018427387904 elements of f32: more than 9223372036854775807 bytes");
    EXPECT_ERROR(ShapeError, eye(int64_t(1) << 32), "eye: " + huge);
    EXPECT_ERROR(ValueError, arange(0.0, 1e30, 1e-30), "arange: start 0, end 1e+30 and step 1e-30 give 1e+60 elements, more than a tensor can hold");
    EXPECT_ERROR(ValueError, arange(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()), "arange: start -9223372036854775808, end 9223372036854775807 and step 1 give 1.84467e+19 elements, more than a tensor can hold");
    EXPECT_ERROR(ShapeError, arange(0, int64_t(1) << 62), "arange: shape [4611686018427387904] has 4611686018427387904 elements of i64: more than 9223372036854775807 bytes");
    // A shape with a zero dim has no elements, however large the others.
    CHECK(zeros({0, big, big}).numel() == 0);
}

TEST_CASE("errors: ops whose result shape overflows", "[errors][shape][overflow]") {
    const int64_t big = int64_t(1) << 32;
    const std::string huge = "shape [4294967296,4294967296] has more than 9223372036854775807 elements";
    Tensor col = zeros({big, 1}), row = zeros({1, big});
    EXPECT_ERROR(ShapeError, col + row, "add: " + huge);
    EXPECT_ERROR(ShapeError, col * 2.0 + row, "add: " + huge);
    EXPECT_ERROR(ShapeError, maximum(col, row), "maximum: " + huge);
    EXPECT_ERROR(ShapeError, where(col > 0, col, row), "where: " + huge);
    EXPECT_ERROR(ShapeError, col.expand({big, big}), "expand: " + huge);
    EXPECT_ERROR(ShapeError, zeros({0}).reshape({big, big, 0}).reshape({big, big}), "reshape: " + huge);
    EXPECT_ERROR(ShapeError, zeros({0}).view({big, big, -1}), "view: shape [4294967296,4294967296,-1] has more than 9223372036854775807 elements");
    CHECK(zeros({0}).view({big, big, big, 0}).numel() == 0);
    EXPECT_ERROR(ShapeError, cat({zeros({int64_t(1) << 60}), zeros({int64_t(1) << 60})}), "cat: shape [2305843009213693952] has 2305843009213693952 elements of f32: more than 9223372036854775807 bytes");
    EXPECT_ERROR(ShapeError, zeros({int64_t(1) << 61}, TensorOptions().dtype(kBool)).to(kFloat64), "to: shape [2305843009213693952] has 2305843009213693952 elements of f64: more than 9223372036854775807 bytes");
    EXPECT_ERROR(ShapeError, matmul(zeros({big, 1, 1, 2}), zeros({1, big, 2, 3})), "matmul: shape [4294967296,4294967296,1,2] has more than 9223372036854775807 elements");
}

TEST_CASE("errors: rank above the limit", "[errors][shape][overflow]") {
    std::vector<int64_t> r65(65, 1), r100k(100000, 1);
    EXPECT_ERROR(ShapeError, ones(r100k), "ones: rank 100000 is more than Kiln's limit of 64 dimensions");
    EXPECT_ERROR(ShapeError, zeros(r65), "zeros: rank 65 is more than Kiln's limit of 64 dimensions");
    Tensor r64 = ones(std::vector<int64_t>(64, 1));
    EXPECT_ERROR(ShapeError, r64.unsqueeze(0), "unsqueeze: rank 65 is more than Kiln's limit of 64 dimensions");
    EXPECT_ERROR(ShapeError, r64.reshape(r65), "reshape: rank 65 is more than Kiln's limit of 64 dimensions");
    EXPECT_ERROR(ShapeError, r64.expand(r65), "expand: rank 65 is more than Kiln's limit of 64 dimensions");
    // 64 dims work end to end.
    CHECK((r64 + 1).sum().item<float>() == 2.0f);
}

// clang-format on
