#pragma once
/// The tests/ops harness. `check(t, ...)` takes a lazy result tensor, evaluates its recorded
/// graph with the float64 reference interpreter (ir/interpreter.h), then realizes it through the
/// normal path (to_vector) and compares element-wise; optionally it also compares with an
/// expectation computed on the host without the IR (tests/ops/host_ref.h).
///
/// Inputs are fresh random values each run. The run's base seed comes from KILN_TEST_SEED when
/// set, else from std::random_device; every test case reseeds rng() and kiln::manual_seed from
/// the base seed and its own name, so `KILN_TEST_SEED=S test_ops "name"` repeats a failure.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ir/interpreter.h"
#include "kiln/kiln.h"

namespace kiln::test {

using ir::RefTensor;
using ir::Shape;

/// The base seed of this run (printed in every failure message).
uint64_t base_seed();
/// The generator for test inputs, reseeded at the start of each test case.
std::mt19937& rng();

/// How far a realized float may be from the reference. The bound for element i is
///   scale * sqrt(terms) * (rtol * |want_i| + atol * mag)
/// with (rtol, atol) = (1e-5, 1e-6) when any node of the graph computes in f32, else
/// (1e-12, 1e-13); mag = max(1, max |want|) when terms > 1 (sums cancel, so their error follows
/// the magnitude of the whole result) and 1 otherwise.
struct Tol {
    double scale = 1;   ///< multiplies both tolerances (for long chains of approximations)
    int64_t terms = 1;  ///< summands per output element (reductions, matmul's k)
};

/// The reference value of `t` (lazy or realized): ir::interpret on its node, with every input
/// node's buffer read back as doubles.
RefTensor reference(const Tensor& t);
/// Realizes `t` through the public path (to_vector<T> for its dtype) and converts to doubles.
RefTensor realized(const Tensor& t);
/// Empty when `got` matches `want` (dtype, shape, values within `tol` for floats, exact for
/// integers and bool, NaN matching NaN, inf matching inf of the same sign); otherwise a
/// description of the first mismatch. `f32_graph` selects the f32 tolerances for float values.
std::string compare(const RefTensor& want, const RefTensor& got, Tol tol, bool f32_graph);
/// True when a node reachable from `t` computes in f32 (or `t` itself is f32).
bool has_f32(const Tensor& t);

/// Compares the realized `t` with the reference interpreter; records a Catch2 failure (op
/// name `what`, first mismatching index, both values, the seed) on mismatch. Returns the
/// realized values (for further checks).
RefTensor check(const Tensor& t, const std::string& what, Tol tol = {});
/// As above, and also compares the realized value with `expected` computed on the host (whose
/// dtype is the dtype the result must have).
RefTensor check(const Tensor& t, const RefTensor& expected, const std::string& what, Tol tol = {});

// ---- random inputs (all realized host buffers, made with kiln::tensor)

/// Uniform values in [lo, hi) for float dtypes; uniform integers in [lo, hi] for i32/i64;
/// fair coin flips for bool.
Tensor uniform(const Shape& shape, DType dtype = kFloat32, double lo = -3, double hi = 3);
/// Normal(mean, stddev) values of a float dtype.
Tensor normal(const Shape& shape, DType dtype = kFloat32, double mean = 0, double stddev = 1);
/// Uniform values of `dtype` in a range that is meaningful for it (floats [-3,3), ints [-9,9],
/// bool coin flips).
Tensor random_of(const Shape& shape, DType dtype);
/// A realized tensor of `dtype` holding `values` (converted like kiln::tensor does).
Tensor make(const std::vector<double>& values, const Shape& shape, DType dtype = kFloat32);
/// A tensor's values as a RefTensor (realizes it; cheap for inputs).
RefTensor values_of(const Tensor& t);
/// The values of a realized input node (its buffer read back as doubles).
RefTensor read_input(const ir::Node& input);
/// A RefTensor literal.
RefTensor ref(DType dtype, Shape shape, std::vector<double> values);

/// Short text for a shape/dtype: "f32[2,3]".
std::string desc(const Tensor& t);

/// Every dtype, and the numeric (non-bool) ones.
inline const std::vector<DType> kAllDTypes{kFloat32, kFloat64, kInt32, kInt64, kBool};
inline const std::vector<DType> kNumeric{kFloat32, kFloat64, kInt32, kInt64};
inline const std::vector<DType> kFloats{kFloat32, kFloat64};

}  // namespace kiln::test

namespace Catch {
/// Dtypes print by name in Catch2's expansions ("f32 == f64", not "0 == 1").
template <>
struct StringMaker<kiln::DType> {
    static std::string convert(kiln::DType t) { return kiln::dtype_name(t); }
};
}  // namespace Catch
