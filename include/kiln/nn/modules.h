#pragma once
/// The layers of kiln::nn, each an `XImpl` module and its holder `X` (LibTorch's names,
/// options and PyTorch's default initializations, drawn from Kiln's generator: see
/// kiln::manual_seed). Containers are in kiln/nn/containers.h. Constructors check the options
/// (kiln::ValueError naming the module); forward's errors name the caller's file:line.
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/nn/module.h"
#include "kiln/nn/options.h"
#include "kiln/tensor.h"

namespace kiln::nn {

/// y = x @ weight^T + bias; weight [out, in] and bias [out] uniform in +-1/sqrt(in)
/// (PyTorch's kaiming_uniform(a = sqrt 5)).
class LinearImpl : public Module {
public:
    LinearImpl(int64_t in_features, int64_t out_features)
        : LinearImpl(LinearOptions(in_features, out_features)) {}
    explicit LinearImpl(const LinearOptions& options);
    /// Draws new parameters.
    void reset_parameters();
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;

    LinearOptions options;
    Tensor weight, bias;  ///< bias is undefined without bias
};
KILN_MODULE(Linear);

/// 2-d convolution; weight [out, in / groups, kh, kw] and bias [out] uniform in
/// +-1/sqrt(fan_in), fan_in = in / groups * kh * kw (PyTorch's default).
class Conv2dImpl : public Module {
public:
    Conv2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
        : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
    explicit Conv2dImpl(const Conv2dOptions& options);
    void reset_parameters();
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;

    Conv2dOptions options;
    Tensor weight, bias;
};
KILN_MODULE(Conv2d);

class MaxPool2dImpl : public Module {
public:
    explicit MaxPool2dImpl(const MaxPool2dOptions& options) : options(options) {}
    explicit MaxPool2dImpl(ExpandingArray<2> kernel_size) : options(kernel_size) {}
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;
    MaxPool2dOptions options;
};
KILN_MODULE(MaxPool2d);

/// Average pooling, counting the zero padding (PyTorch's count_include_pad = true).
class AvgPool2dImpl : public Module {
public:
    explicit AvgPool2dImpl(const AvgPool2dOptions& options) : options(options) {}
    explicit AvgPool2dImpl(ExpandingArray<2> kernel_size) : options(kernel_size) {}
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;
    AvgPool2dOptions options;
};
KILN_MODULE(AvgPool2d);

/// Normalizes over the trailing normalized_shape; weight ones and bias zeros when
/// elementwise_affine.
class LayerNormImpl : public Module {
public:
    explicit LayerNormImpl(const LayerNormOptions& options);
    void reset_parameters();
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;

    LayerNormOptions options;
    Tensor weight, bias;
};
KILN_MODULE(LayerNorm);

/// Zeroes elements with probability p while training (and scales the rest by 1 / (1 - p));
/// the identity in eval mode.
class DropoutImpl : public Module {
public:
    explicit DropoutImpl(const DropoutOptions& options = {});
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;
    DropoutOptions options;
};
KILN_MODULE(Dropout);

/// A lookup table: weight [num_embeddings, embedding_dim] ~ N(0, 1).
class EmbeddingImpl : public Module {
public:
    EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
        : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
    explicit EmbeddingImpl(const EmbeddingOptions& options);
    void reset_parameters();
    /// Rows of weight for i64 indices of any shape: [indices..., embedding_dim].
    Tensor forward(const Tensor& indices, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;

    EmbeddingOptions options;
    Tensor weight;
};
KILN_MODULE(Embedding);

/// Flattens dims start_dim..end_dim (by default all but the batch dim).
class FlattenImpl : public Module {
public:
    explicit FlattenImpl(const FlattenOptions& options = {}) : options(options) {}
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;
    FlattenOptions options;
};
KILN_MODULE(Flatten);

class SoftmaxImpl : public Module {
public:
    explicit SoftmaxImpl(const SoftmaxOptions& options) : options(options) {}
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;
    SoftmaxOptions options;
};
KILN_MODULE(Softmax);

class GELUImpl : public Module {
public:
    explicit GELUImpl(const GELUOptions& options = {});
    Tensor forward(const Tensor& x, KILN_LOC) const;
    void pretty_print(std::ostream& os) const override;
    GELUOptions options;
};
KILN_MODULE(GELU);

/// Activations without options: print as "ReLU()".
#define KILN_ACTIVATION(Name)                                       \
    class Name##Impl : public Module {                              \
    public:                                                         \
        Tensor forward(const Tensor& x, KILN_LOC) const;                      \
        void pretty_print(std::ostream& os) const override;         \
    };                                                              \
    KILN_MODULE(Name)
KILN_ACTIVATION(ReLU);
KILN_ACTIVATION(Tanh);
KILN_ACTIVATION(Sigmoid);
KILN_ACTIVATION(SiLU);
#undef KILN_ACTIVATION

}  // namespace kiln::nn
