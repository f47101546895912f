// The layers of kiln::nn: options checked at construction, PyTorch's default initializations
// (drawn from Kiln's generator and computed at once, so that the first training step's program
// is the same as every later one's), forward through the functional ops with the caller's
// location, and LibTorch's one-line descriptions.
#include "kiln/nn/modules.h"

#include <cmath>
#include <cstdio>
#include <ostream>

#include "kiln/autograd.h"
#include "kiln/functional.h"
#include "kiln/nn/init.h"

namespace kiln::nn {
namespace {

std::string list_str(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

std::string number_str(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

const char* bool_str(bool b) { return b ? "true" : "false"; }

/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for a bias (PyTorch's Linear/Conv default).
void init_bias(Tensor& bias, int64_t fan_in) {
    double bound = fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0;
    init::uniform_(bias, -bound, bound);
}

void check_sizes(const char* module, std::initializer_list<std::pair<const char*, int64_t>> sizes,
                 int64_t at_least) {
    for (const auto& [name, v] : sizes)
        if (v < at_least)
            throw ValueError(std::string(module) + ": " + name + " must be >= " +
                             std::to_string(at_least) + ", got " + std::to_string(v));
}

}  // namespace

// ---- Linear

LinearImpl::LinearImpl(const LinearOptions& o) : options(o) {
    check_sizes("Linear", {{"in_features", o.in_features()}, {"out_features", o.out_features()}}, 0);
    weight = register_parameter("weight", zeros({o.out_features(), o.in_features()}));
    if (o.bias()) bias = register_parameter("bias", zeros({o.out_features()}));
    reset_parameters();
}

void LinearImpl::reset_parameters() {
    init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias.defined()) init_bias(bias, options.in_features());
    realize(parameters(false));
}

Tensor LinearImpl::forward(const Tensor& x, std::source_location loc) const {
    return linear(x, weight, bias, loc);
}

void LinearImpl::pretty_print(std::ostream& os) const {
    os << "Linear(in_features=" << options.in_features()
       << ", out_features=" << options.out_features() << ", bias=" << bool_str(options.bias())
       << ")";
}

// ---- Conv2d

Conv2dImpl::Conv2dImpl(const Conv2dOptions& o) : options(o) {
    check_sizes("Conv2d", {{"in_channels", o.in_channels()}, {"out_channels", o.out_channels()}}, 0);
    check_sizes("Conv2d", {{"groups", o.groups()}}, 1);
    check_sizes("Conv2d", {{"kernel_size", o.kernel_size()[0]}, {"kernel_size", o.kernel_size()[1]},
                           {"stride", o.stride()[0]}, {"stride", o.stride()[1]},
                           {"dilation", o.dilation()[0]}, {"dilation", o.dilation()[1]}}, 1);
    check_sizes("Conv2d", {{"padding", o.padding()[0]}, {"padding", o.padding()[1]}}, 0);
    if (o.in_channels() % o.groups() != 0 || o.out_channels() % o.groups() != 0)
        throw ValueError("Conv2d: in_channels=" + std::to_string(o.in_channels()) +
                         " and out_channels=" + std::to_string(o.out_channels()) +
                         " must be divisible by groups=" + std::to_string(o.groups()));
    weight = register_parameter("weight", zeros({o.out_channels(), o.in_channels() / o.groups(),
                                                 o.kernel_size()[0], o.kernel_size()[1]}));
    if (o.bias()) bias = register_parameter("bias", zeros({o.out_channels()}));
    reset_parameters();
}

void Conv2dImpl::reset_parameters() {
    init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias.defined())
        init_bias(bias, options.in_channels() / options.groups() * options.kernel_size()[0] *
                            options.kernel_size()[1]);
    realize(parameters(false));
}

Tensor Conv2dImpl::forward(const Tensor& x, std::source_location loc) const {
    return conv2d(x, weight, bias, options.stride().vec(), options.padding().vec(),
                  options.dilation().vec(), options.groups(), loc);
}

void Conv2dImpl::pretty_print(std::ostream& os) const {
    os << "Conv2d(" << options.in_channels() << ", " << options.out_channels()
       << ", kernel_size=" << list_str(options.kernel_size().vec())
       << ", stride=" << list_str(options.stride().vec())
       << ", padding=" << list_str(options.padding().vec());
    if (options.dilation().vec() != std::vector<int64_t>{1, 1})
        os << ", dilation=" << list_str(options.dilation().vec());
    if (options.groups() != 1) os << ", groups=" << options.groups();
    if (!options.bias()) os << ", bias=false";
    os << ")";
}

// ---- pooling

Tensor MaxPool2dImpl::forward(const Tensor& x, std::source_location loc) const {
    return max_pool2d(x, options.kernel_size().vec(), options.stride().vec(),
                      options.padding().vec(), loc);
}

void MaxPool2dImpl::pretty_print(std::ostream& os) const {
    os << "MaxPool2d(kernel_size=" << list_str(options.kernel_size().vec())
       << ", stride=" << list_str(options.stride().vec())
       << ", padding=" << list_str(options.padding().vec()) << ")";
}

Tensor AvgPool2dImpl::forward(const Tensor& x, std::source_location loc) const {
    return avg_pool2d(x, options.kernel_size().vec(), options.stride().vec(),
                      options.padding().vec(), loc);
}

void AvgPool2dImpl::pretty_print(std::ostream& os) const {
    os << "AvgPool2d(kernel_size=" << list_str(options.kernel_size().vec())
       << ", stride=" << list_str(options.stride().vec())
       << ", padding=" << list_str(options.padding().vec()) << ")";
}

// ---- LayerNorm

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : options(o) {
    for (int64_t d : o.normalized_shape())
        if (d < 0)
            throw ValueError("LayerNorm: normalized_shape " + list_str(o.normalized_shape()) +
                             " has a negative size");
    if (!(o.eps() >= 0)) throw ValueError("LayerNorm: eps must be >= 0, got " + number_str(o.eps()));
    if (o.elementwise_affine()) {
        weight = register_parameter("weight", ones(o.normalized_shape()));
        bias = register_parameter("bias", zeros(o.normalized_shape()));
        reset_parameters();
    }
}

void LayerNormImpl::reset_parameters() {
    if (!weight.defined()) return;
    init::ones_(weight);
    init::zeros_(bias);
    realize(parameters(false));
}

Tensor LayerNormImpl::forward(const Tensor& x, std::source_location loc) const {
    return layer_norm(x, options.normalized_shape(), weight, bias, options.eps(), loc);
}

void LayerNormImpl::pretty_print(std::ostream& os) const {
    os << "LayerNorm(" << list_str(options.normalized_shape()) << ", eps=" << number_str(options.eps())
       << ", elementwise_affine=" << bool_str(options.elementwise_affine()) << ")";
}

// ---- Dropout

DropoutImpl::DropoutImpl(const DropoutOptions& o) : options(o) {
    if (!(o.p() >= 0 && o.p() <= 1))
        throw ValueError("Dropout: p must be in [0, 1], got " + number_str(o.p()));
}

Tensor DropoutImpl::forward(const Tensor& x, std::source_location loc) const {
    return dropout(x, options.p(), is_training(), loc);
}

void DropoutImpl::pretty_print(std::ostream& os) const {
    os << "Dropout(p=" << number_str(options.p()) << ")";
}

// ---- Embedding

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& o) : options(o) {
    check_sizes("Embedding", {{"num_embeddings", o.num_embeddings()}, {"embedding_dim", o.embedding_dim()}}, 0);
    weight = register_parameter("weight", zeros({o.num_embeddings(), o.embedding_dim()}));
    reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
    init::normal_(weight);
    realize(parameters(false));
}

Tensor EmbeddingImpl::forward(const Tensor& indices, std::source_location loc) const {
    return embedding(weight, indices, loc);
}

void EmbeddingImpl::pretty_print(std::ostream& os) const {
    os << "Embedding(num_embeddings=" << options.num_embeddings()
       << ", embedding_dim=" << options.embedding_dim() << ")";
}

// ---- shape and activations

Tensor FlattenImpl::forward(const Tensor& x, std::source_location loc) const {
    return x.flatten(options.start_dim(), options.end_dim(), loc);
}

void FlattenImpl::pretty_print(std::ostream& os) const {
    os << "Flatten(start_dim=" << options.start_dim() << ", end_dim=" << options.end_dim() << ")";
}

Tensor SoftmaxImpl::forward(const Tensor& x, std::source_location loc) const {
    return softmax(x, options.dim(), loc);
}

void SoftmaxImpl::pretty_print(std::ostream& os) const {
    os << "Softmax(dim=" << options.dim() << ")";
}

GELUImpl::GELUImpl(const GELUOptions& o) : options(o) {
    if (o.approximate() != "none" && o.approximate() != "tanh")
        throw ValueError("GELU: approximate must be \"none\" or \"tanh\", got \"" +
                         o.approximate() + "\"");
}

Tensor GELUImpl::forward(const Tensor& x, std::source_location loc) const {
    return gelu(x, options.approximate(), loc);
}

void GELUImpl::pretty_print(std::ostream& os) const {
    os << "GELU(";
    if (options.approximate() != "none") os << "approximate=" << options.approximate();
    os << ")";
}

#define KILN_ACTIVATION(Name, fn)                                                   \
    Tensor Name##Impl::forward(const Tensor& x, std::source_location loc) const { \
        return fn(x, loc);                                                          \
    }                                                                               \
    void Name##Impl::pretty_print(std::ostream& os) const { os << #Name "()"; }
KILN_ACTIVATION(ReLU, relu)
KILN_ACTIVATION(Tanh, tanh)
KILN_ACTIVATION(Sigmoid, sigmoid)
KILN_ACTIVATION(SiLU, silu)
#undef KILN_ACTIVATION

}  // namespace kiln::nn
