// Datasets and the DataLoader. Batches are built on the host (row copies into fresh buffers),
// so a batch is a realized input of the training step's program: the step's structure is the
// same every batch, and a smaller last batch compiles once for the whole run.
#include <cstring>

#include "frontend/checks.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "kiln/data.h"

namespace kiln::data {
namespace {

/// The contiguous bytes of a realized tensor.
std::shared_ptr<runtime::Buffer> bytes_of(const Tensor& t, const char* op, const std::source_location& loc) {
    return detail::host_buffer(*t.impl(), op, loc);
}

/// Rows `indices` of `t` (first dim) as a new tensor.
Tensor take_rows(const Tensor& t, const std::vector<size_t>& indices) {
    std::vector<int64_t> shape = t.sizes();
    auto src = bytes_of(t, "get_batch", std::source_location::current());
    size_t row = static_cast<size_t>(shape.empty() || shape[0] == 0 ? 0 : src->numel() / shape[0]) *
                 dtype_size(t.dtype());
    shape[0] = static_cast<int64_t>(indices.size());
    auto dst = runtime::Buffer::allocate(t.dtype(), ir::numel(shape));
    auto* out = static_cast<char*>(dst->data());
    const auto* in = static_cast<const char*>(src->data());
    for (size_t i = 0; i < indices.size(); ++i) std::memcpy(out + i * row, in + indices[i] * row, row);
    return make_tensor(detail::input_node(dst, shape));
}

uint64_t splitmix64(uint64_t& x) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

Example Dataset::get_batch(const std::vector<size_t>& indices) const {
    std::vector<Tensor> data, target;
    for (size_t i : indices) {
        Example e = get(i);
        data.push_back(e.data);
        target.push_back(e.target);
    }
    Example batch{stack(data), stack(target)};
    realize({batch.data, batch.target});
    return batch;
}

TensorDataset::TensorDataset(Tensor data, Tensor targets, std::source_location loc)
    : data_(std::move(data)), targets_(std::move(targets)) {
    if (!data_.defined() || !targets_.defined())
        fail<ValueError>("TensorDataset", "data and targets must be defined tensors", loc);
    if (data_.dim() == 0 || targets_.dim() == 0 || data_.size(0) != targets_.size(0))
        fail<ShapeError>("TensorDataset", "data " + ir::shape_str(data_.sizes()) + " and targets " +
                                              ir::shape_str(targets_.sizes()) +
                                              " must have the same number of rows", loc);
    if (!data_.device().is_cpu() || !targets_.device().is_cpu())
        fail<ValueError>("TensorDataset", "data and targets must be on the CPU", loc);
    data_ = data_.detach();
    targets_ = targets_.detach();
    realize({data_, targets_}, loc);
}

size_t TensorDataset::size() const { return static_cast<size_t>(data_.size(0)); }

Example TensorDataset::get(size_t index) const {
    Example batch = get_batch({index});
    return {batch.data.squeeze(0), batch.target.squeeze(0)};
}

Example TensorDataset::get_batch(const std::vector<size_t>& indices) const {
    for (size_t i : indices)
        if (i >= size())
            throw IndexError("TensorDataset: index " + std::to_string(i) + " is out of range [0, " +
                             std::to_string(size()) + ")");
    return {take_rows(data_, indices), take_rows(targets_, indices)};
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options,
                       std::source_location loc)
    : dataset_(std::move(dataset)), options_(options) {
    if (!dataset_) fail<ValueError>("DataLoader", "the dataset is null", loc);
    if (options_.batch_size() == 0) fail<ValueError>("DataLoader", "batch_size must be >= 1", loc);
}

size_t DataLoader::batches() const {
    size_t n = dataset_->size(), b = options_.batch_size();
    return options_.drop_last() ? n / b : (n + b - 1) / b;
}

std::vector<size_t> DataLoader::order(uint64_t epoch) const {
    std::vector<size_t> order(dataset_->size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (!options_.shuffle()) return order;
    uint64_t state = options_.seed() ^ (epoch * 0x9E3779B97F4A7C15ull);
    for (size_t i = order.size(); i-- > 1;) std::swap(order[i], order[splitmix64(state) % (i + 1)]);
    return order;
}

Example DataLoader::batch(size_t index) const {
    size_t b = options_.batch_size();
    size_t begin = index * b, end = std::min(order_.size(), begin + b);
    return dataset_->get_batch(std::vector<size_t>(order_.begin() + static_cast<ptrdiff_t>(begin),
                                                   order_.begin() + static_cast<ptrdiff_t>(end)));
}

DataLoader::Iterator DataLoader::begin() {
    order_ = order(epoch_++);
    return Iterator(this, 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(nullptr, batches()); }

DataLoader::Iterator::Iterator(const DataLoader* loader, size_t index)
    : loader_(loader), index_(index) {
    if (loader_ && index_ < loader_->batches()) batch_ = loader_->batch(index_);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    ++index_;
    batch_ = loader_ && index_ < loader_->batches() ? loader_->batch(index_) : Example{};
    return *this;
}

}  // namespace kiln::data
