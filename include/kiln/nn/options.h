#pragma once
/// Options of the nn modules, built as in LibTorch: `Conv2dOptions(1, 16, 3).padding(1)`.
/// Each setter returns the options, each getter of the same name reads them.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "kiln/arg.h"
#include "kiln/error.h"

namespace kiln::nn {

/// D sizes given as one value for all dims (3) or one per dim ({3, 2}), as LibTorch's
/// ExpandingArray.
template <size_t D>
class ExpandingArray {
public:
    ExpandingArray(int64_t v) : values_(D, v) {}  // NOLINT: implicit by design
    ExpandingArray(std::initializer_list<int64_t> v) : values_(v) {
        if (values_.size() != D)
            throw ValueError("expected " + std::to_string(D) + " values, got " +
                             std::to_string(values_.size()));
    }
    ExpandingArray(std::vector<int64_t> v) : values_(std::move(v)) {  // NOLINT
        if (values_.size() != D)
            throw ValueError("expected " + std::to_string(D) + " values, got " +
                             std::to_string(values_.size()));
    }
    const std::vector<int64_t>& vec() const { return values_; }
    int64_t operator[](size_t i) const { return values_[i]; }

private:
    std::vector<int64_t> values_;
};

struct LinearOptions {
    LinearOptions(int64_t in_features, int64_t out_features)
        : in_features_(in_features), out_features_(out_features) {}
    KILN_ARG(int64_t, in_features);
    KILN_ARG(int64_t, out_features);
    KILN_ARG(bool, bias) = true;
};

struct Conv2dOptions {
    Conv2dOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
        : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
    KILN_ARG(int64_t, in_channels);
    KILN_ARG(int64_t, out_channels);
    KILN_ARG(ExpandingArray<2>, kernel_size);
    KILN_ARG(ExpandingArray<2>, stride) = 1;
    KILN_ARG(ExpandingArray<2>, padding) = 0;
    KILN_ARG(ExpandingArray<2>, dilation) = 1;
    KILN_ARG(int64_t, groups) = 1;
    KILN_ARG(bool, bias) = true;
};

/// Max and average pooling; the stride defaults to the kernel size.
struct Pool2dOptions {
    Pool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
    KILN_ARG(ExpandingArray<2>, kernel_size);
    KILN_ARG(ExpandingArray<2>, stride);
    KILN_ARG(ExpandingArray<2>, padding) = 0;
};
using MaxPool2dOptions = Pool2dOptions;
using AvgPool2dOptions = Pool2dOptions;

struct LayerNormOptions {
    LayerNormOptions(std::vector<int64_t> normalized_shape)  // NOLINT
        : normalized_shape_(std::move(normalized_shape)) {}
    KILN_ARG(std::vector<int64_t>, normalized_shape);
    KILN_ARG(double, eps) = 1e-5;
    KILN_ARG(bool, elementwise_affine) = true;
};

struct DropoutOptions {
    DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT
    KILN_ARG(double, p);
};

struct EmbeddingOptions {
    EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
        : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
    KILN_ARG(int64_t, num_embeddings);
    KILN_ARG(int64_t, embedding_dim);
};

struct FlattenOptions {
    KILN_ARG(int64_t, start_dim) = 1;
    KILN_ARG(int64_t, end_dim) = -1;
};

struct SoftmaxOptions {
    SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT
    KILN_ARG(int64_t, dim);
};

struct GELUOptions {
    /// "none" (the exact erf form) or "tanh".
    KILN_ARG(std::string, approximate) = "none";
};

}  // namespace kiln::nn
