#pragma once
/// Data loading in LibTorch's spirit: datasets that hand out examples by index, IDX files
/// (MNIST's format), and a DataLoader that batches them with seeded shuffling per epoch.
///
///   auto train = std::make_shared<kiln::data::MNIST>("/usr/share/datasets/fashion-mnist",
///                                                    kiln::data::MNIST::Mode::Train);
///   kiln::data::DataLoader loader(train, kiln::data::DataLoaderOptions(256).shuffle(true));
///   for (int epoch = 0; epoch < 5; ++epoch)
///       for (const kiln::data::Example& batch : loader) train_step(batch.data, batch.target);
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/nn/options.h"
#include "kiln/tensor.h"

namespace kiln::data {

/// One example or a batch of them: inputs and targets (LibTorch's torch::data::Example).
struct Example {
    Tensor data;
    Tensor target;
};

/// A dataset of size() examples. get_batch stacks examples along a new first dim; datasets
/// backed by contiguous tensors override it to copy rows directly.
class Dataset {
public:
    virtual ~Dataset() = default;
    virtual size_t size() const = 0;
    virtual Example get(size_t index) const = 0;
    virtual Example get_batch(const std::vector<size_t>& indices) const;
};

/// Examples are the rows (first dim) of `data` and `targets`, which must have as many rows.
class TensorDataset : public Dataset {
public:
    TensorDataset(Tensor data, Tensor targets, KILN_LOC);
    size_t size() const override;
    Example get(size_t index) const override;
    /// Copies the rows into two new tensors (one memcpy per row, no program).
    Example get_batch(const std::vector<size_t>& indices) const override;
    const Tensor& data() const { return data_; }
    const Tensor& targets() const { return targets_; }

private:
    Tensor data_, targets_;
};

/// Reads an IDX file (MNIST's format: magic 0 0 type rank, big-endian sizes, big-endian data),
/// gzip-compressed or plain. Unsigned/signed bytes, shorts and ints become i32 tensors, floats
/// f32, doubles f64. A bad magic number, an unknown type or truncated data is a kiln::ParseError
/// naming the file.
Tensor read_idx(const std::string& path, KILN_LOC);

/// MNIST or Fashion-MNIST from `root`: train-images-idx3-ubyte / train-labels-idx1-ubyte (or
/// t10k-... for Mode::Test), each plain or with ".gz". Images are f32 [N, 1, 28, 28] scaled to
/// [0, 1] (pixels / 255), targets i64 [N] (LibTorch's MNIST dataset).
class MNIST : public TensorDataset {
public:
    enum class Mode { Train, Test };
    MNIST(const std::string& root, Mode mode = Mode::Train, KILN_LOC);

private:
    MNIST(Tensor images, const std::string& root, Mode mode, const std::source_location& loc);
};

struct DataLoaderOptions {
    DataLoaderOptions(size_t batch_size = 1) : batch_size_(batch_size) {}  // NOLINT
    KILN_ARG(size_t, batch_size);
    /// A new order every epoch, the same orders for the same seed.
    KILN_ARG(bool, shuffle) = false;
    /// Drop the last batch when it is smaller than batch_size (else it is kept).
    KILN_ARG(bool, drop_last) = false;
    KILN_ARG(uint64_t, seed) = 0;
};

/// Batches of a dataset. Each begin() starts an epoch: with shuffle, epoch k visits the
/// examples in permutation(seed, k); every example is visited once per epoch. Batches have
/// batch_size examples except possibly the last (see drop_last).
class DataLoader {
public:
    DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {}, KILN_LOC);

    class Iterator {
    public:
        using value_type = Example;
        const Example& operator*() const { return batch_; }
        const Example* operator->() const { return &batch_; }
        Iterator& operator++();
        bool operator==(const Iterator& o) const { return index_ == o.index_; }

    private:
        friend class DataLoader;
        Iterator(const DataLoader* loader, size_t index);
        const DataLoader* loader_;
        size_t index_;  // of the current batch; batches() at the end
        Example batch_;
    };

    /// Starts the next epoch (reshuffling when enabled).
    Iterator begin();
    Iterator end() const;
    /// Batches per epoch.
    size_t batches() const;
    /// Epochs started so far.
    uint64_t epoch() const { return epoch_; }
    /// The visiting order of epoch `epoch` (0-based): the identity without shuffle, else a
    /// Fisher-Yates shuffle driven by splitmix64 from seed ^ (epoch * 0x9E3779B97F4A7C15):
    /// for i = n-1 .. 1, swap order[i] with order[next() % (i + 1)]. Written out so that other
    /// programs (bench/fashion_mnist_torch.py) can visit the same order.
    std::vector<size_t> order(uint64_t epoch) const;
    const DataLoaderOptions& options() const { return options_; }

private:
    Example batch(size_t index) const;
    std::shared_ptr<const Dataset> dataset_;
    DataLoaderOptions options_;
    uint64_t epoch_ = 0;
    std::vector<size_t> order_;  // of the current epoch
};

}  // namespace kiln::data
