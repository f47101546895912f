#pragma once
/// kiln::Tensor, the user-facing handle, and the ops on it. Ops only record IR; values are
/// computed when read (item, to_vector, printing) or on realize(). Every op checks shapes and
/// dtypes when recorded and throws kiln::Error naming the op, the shapes/dtypes and the caller's
/// file:line. The API follows LibTorch's C++ frontend.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

#include "kiln/device.h"
#include "kiln/dtype.h"
#include "kiln/error.h"
#include "kiln/options.h"

/// Default argument that captures the caller's file:line for error messages.
#define KILN_LOC std::source_location loc = std::source_location::current()

namespace kiln {

class TensorImpl;
class Tensor;

/// A tensor argument that remembers where the expression was written (for operators, which
/// cannot take a defaulted location parameter).
struct Located {
    const Tensor& t;
    std::source_location loc;
    Located(const Tensor& tensor, KILN_LOC) : t(tensor), loc(loc) {}  // NOLINT: implicit
};

/// A handle to a (lazy) tensor value. Copying a Tensor copies the handle; values are immutable,
/// so ops return new tensors. A default-constructed Tensor is undefined.
class Tensor {
public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    bool defined() const { return impl_ != nullptr; }
    std::vector<int64_t> sizes() const;
    int64_t size(int64_t dim, KILN_LOC) const;
    int64_t dim() const;
    int64_t numel() const;
    DType dtype() const;
    Device device() const;

    // ---- autograd (see kiln/autograd.h)
    /// Whether gradients flow from this tensor to some leaf.
    bool requires_grad() const;
    /// Makes this tensor a leaf whose gradient backward() accumulates into grad() (float
    /// dtypes only); false makes a leaf an ordinary tensor again. Refused on non-leaves.
    Tensor& requires_grad_(bool requires_grad = true, KILN_LOC);
    /// True for tensors that do not require grad and for leaves made by requires_grad_().
    bool is_leaf() const;
    /// The gradient accumulated into this leaf; undefined until a backward reaches it.
    Tensor grad() const;
    /// The gradient slot itself: `t.mutable_grad() = {}` drops the gradient (what zero_grad
    /// does by default in PyTorch).
    Tensor& mutable_grad();
    /// Accumulates the gradients of this tensor (times `gradient`, which defaults to 1 for a
    /// single-element tensor) into the grad() of every leaf it depends on. The recorded graph
    /// is freed for another backward unless retain_graph (which defaults to create_graph);
    /// with create_graph the accumulated gradients require grad themselves.
    void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                  bool create_graph = false, KILN_LOC) const;

    // ---- in place: the tensor (and every handle to it) gets a new value. Views taken before
    // keep the old one. A leaf that requires grad may only be updated with grad mode off.
    Tensor& copy_(const Tensor& src, KILN_LOC);
    Tensor& zero_(KILN_LOC);
    Tensor& fill_(Scalar value, KILN_LOC);
    Tensor& mul_(Scalar factor, KILN_LOC);
    Tensor& mul_(const Tensor& other, KILN_LOC);
    Tensor& add_(const Tensor& other, Scalar alpha = 1, KILN_LOC);
    Tensor& add_(Scalar other, KILN_LOC);
    Tensor& sub_(const Tensor& other, Scalar alpha = 1, KILN_LOC);
    Tensor& div_(Scalar divisor, KILN_LOC);

    /// Computes the value if needed and copies the single element out; T must match dtype().
    template <class T>
    T item(KILN_LOC) const;
    /// Computes the value if needed and copies all elements out (row-major); T must match dtype().
    template <class T>
    std::vector<T> to_vector(KILN_LOC) const;
    /// Computes the value now; it stays on the tensor's device.
    const Tensor& realize(KILN_LOC) const;

    Tensor to(DType dtype, KILN_LOC) const;
    Tensor to(Device device, KILN_LOC) const;

    // elementwise
    Tensor neg(KILN_LOC) const;
    Tensor exp(KILN_LOC) const;
    Tensor log(KILN_LOC) const;
    Tensor sqrt(KILN_LOC) const;
    Tensor rsqrt(KILN_LOC) const;
    Tensor abs(KILN_LOC) const;
    Tensor sin(KILN_LOC) const;
    Tensor cos(KILN_LOC) const;
    Tensor tanh(KILN_LOC) const;
    Tensor sigmoid(KILN_LOC) const;
    Tensor relu(KILN_LOC) const;
    Tensor silu(KILN_LOC) const;
    Tensor reciprocal(KILN_LOC) const;
    Tensor pow(Scalar exponent, KILN_LOC) const;
    Tensor pow(const Tensor& exponent, KILN_LOC) const;
    Tensor clamp(Scalar lo, Scalar hi, KILN_LOC) const;

    // reductions (dims may be negative)
    Tensor sum(KILN_LOC) const;
    Tensor sum(std::vector<int64_t> dims, bool keepdim = false, KILN_LOC) const;
    Tensor mean(KILN_LOC) const;
    Tensor mean(std::vector<int64_t> dims, bool keepdim = false, KILN_LOC) const;
    Tensor amax(std::vector<int64_t> dims, bool keepdim = false, KILN_LOC) const;
    Tensor amin(std::vector<int64_t> dims, bool keepdim = false, KILN_LOC) const;
    Tensor max(KILN_LOC) const;  ///< over all elements
    Tensor min(KILN_LOC) const;  ///< over all elements
    Tensor argmax(int64_t dim, bool keepdim = false, KILN_LOC) const;
    Tensor var(std::vector<int64_t> dims, bool unbiased = true, bool keepdim = false, KILN_LOC) const;
    Tensor std(std::vector<int64_t> dims, bool unbiased = true, bool keepdim = false, KILN_LOC) const;

    // movement (views: no copy until a kernel reads them)
    Tensor reshape(std::vector<int64_t> shape, KILN_LOC) const;
    Tensor view(std::vector<int64_t> shape, KILN_LOC) const;
    Tensor permute(std::vector<int64_t> dims, KILN_LOC) const;
    Tensor transpose(int64_t dim0, int64_t dim1, KILN_LOC) const;
    Tensor t(KILN_LOC) const;
    Tensor expand(std::vector<int64_t> shape, KILN_LOC) const;
    Tensor unsqueeze(int64_t dim, KILN_LOC) const;
    Tensor squeeze(int64_t dim, KILN_LOC) const;
    Tensor squeeze(KILN_LOC) const;
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1, KILN_LOC) const;
    Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1, KILN_LOC) const;
    Tensor narrow(int64_t dim, int64_t start, int64_t length, KILN_LOC) const;
    Tensor flip(std::vector<int64_t> dims, KILN_LOC) const;
    /// PyTorch's unfold: every window of `size` elements along `dim`, a window every `step`.
    /// Dim `dim` becomes the window count (size_d - size) / step + 1 and a last dim of `size`
    /// is appended; a view (no copy).
    Tensor unfold(int64_t dim, int64_t size, int64_t step, KILN_LOC) const;
    Tensor contiguous(KILN_LOC) const;
    Tensor clone(KILN_LOC) const;
    /// The same value, cut from autograd: it never requires grad.
    Tensor detach(KILN_LOC) const;

    Tensor matmul(const Tensor& other, KILN_LOC) const;

    /// The internal handle (for Kiln's own layers and tools).
    const std::shared_ptr<TensorImpl>& impl() const { return impl_; }

private:
    std::shared_ptr<TensorImpl> impl_;
};

// ---- creation (float32 unless options say otherwise)
Tensor tensor(std::vector<float> values, std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor tensor(std::vector<double> values, std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor tensor(std::vector<int32_t> values, std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor tensor(std::vector<int64_t> values, std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor tensor(std::vector<bool> values, std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor zeros(std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor ones(std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor full(std::vector<int64_t> shape, double value, TensorOptions opts = {}, KILN_LOC);
/// [0, end) with step 1; integer arguments give kInt64, floating ones kFloat32.
Tensor arange(Scalar end, TensorOptions opts = {}, KILN_LOC);
Tensor arange(Scalar start, Scalar end, Scalar step = 1, TensorOptions opts = {}, KILN_LOC);
Tensor eye(int64_t n, TensorOptions opts = {}, KILN_LOC);
/// Standard normal / uniform [0, 1) samples from Kiln's generator (see manual_seed).
Tensor randn(std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
Tensor rand(std::vector<int64_t> shape, TensorOptions opts = {}, KILN_LOC);
void manual_seed(uint64_t seed);

/// Computes all of `tensors` in one go (one compiled program).
void realize(const std::vector<Tensor>& tensors, KILN_LOC);

// ---- elementwise
Tensor operator+(Located a, const Tensor& b);
Tensor operator-(Located a, const Tensor& b);
Tensor operator*(Located a, const Tensor& b);
Tensor operator/(Located a, const Tensor& b);
Tensor operator+(Located a, Scalar b);
Tensor operator-(Located a, Scalar b);
Tensor operator*(Located a, Scalar b);
Tensor operator/(Located a, Scalar b);
Tensor operator+(Scalar a, Located b);
Tensor operator-(Scalar a, Located b);
Tensor operator*(Scalar a, Located b);
Tensor operator/(Scalar a, Located b);
Tensor operator-(Located a);
Tensor operator==(Located a, const Tensor& b);
Tensor operator!=(Located a, const Tensor& b);
Tensor operator<(Located a, const Tensor& b);
Tensor operator<=(Located a, const Tensor& b);
Tensor operator>(Located a, const Tensor& b);
Tensor operator>=(Located a, const Tensor& b);
Tensor operator==(Located a, Scalar b);
Tensor operator!=(Located a, Scalar b);
Tensor operator<(Located a, Scalar b);
Tensor operator<=(Located a, Scalar b);
Tensor operator>(Located a, Scalar b);
Tensor operator>=(Located a, Scalar b);

Tensor neg(const Tensor& t, KILN_LOC);
Tensor exp(const Tensor& t, KILN_LOC);
Tensor log(const Tensor& t, KILN_LOC);
Tensor sqrt(const Tensor& t, KILN_LOC);
Tensor rsqrt(const Tensor& t, KILN_LOC);
Tensor abs(const Tensor& t, KILN_LOC);
Tensor sin(const Tensor& t, KILN_LOC);
Tensor cos(const Tensor& t, KILN_LOC);
Tensor tanh(const Tensor& t, KILN_LOC);
Tensor sigmoid(const Tensor& t, KILN_LOC);
Tensor relu(const Tensor& t, KILN_LOC);
Tensor silu(const Tensor& t, KILN_LOC);
Tensor reciprocal(const Tensor& t, KILN_LOC);
/// "none": 0.5 x (1 + erf(x / sqrt 2)); "tanh": the tanh approximation.
Tensor gelu(const Tensor& t, const std::string& approximate = "none", KILN_LOC);
/// A float exponent makes an integer tensor float (PyTorch's promotion: pow(i64, 2.0) is f32,
/// pow(i64, 2) stays i64); integers to negative integer powers are refused, as in PyTorch.
Tensor pow(const Tensor& t, Scalar exponent, KILN_LOC);
Tensor pow(const Tensor& t, const Tensor& exponent, KILN_LOC);
Tensor maximum(const Tensor& a, const Tensor& b, KILN_LOC);
Tensor minimum(const Tensor& a, const Tensor& b, KILN_LOC);
/// Bounds promote like scalar operands: clamp(i64, 0.5, 2) is f32, clamp(i64, 0, 2) stays i64.
Tensor clamp(const Tensor& t, Scalar lo, Scalar hi, KILN_LOC);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, KILN_LOC);

// ---- reductions over a dim
Tensor softmax(const Tensor& t, int64_t dim, KILN_LOC);
Tensor log_softmax(const Tensor& t, int64_t dim, KILN_LOC);
Tensor logsumexp(const Tensor& t, std::vector<int64_t> dims, bool keepdim = false, KILN_LOC);

// ---- joining
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0, KILN_LOC);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0, KILN_LOC);

// ---- linear algebra (PyTorch's rules: 1-D, 2-D, batched with broadcasting)
Tensor matmul(const Tensor& a, const Tensor& b, KILN_LOC);
Tensor mm(const Tensor& a, const Tensor& b, KILN_LOC);
Tensor bmm(const Tensor& a, const Tensor& b, KILN_LOC);

/// Prints values, shape and dtype (computes the tensor if needed).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace kiln
