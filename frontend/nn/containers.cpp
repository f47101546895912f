// Sequential and ModuleList: the parts that need no template.
#include "kiln/nn/containers.h"

namespace kiln::nn {
namespace {

std::shared_ptr<Module> at(const std::vector<std::shared_ptr<Module>>& items, size_t index,
                           const char* container) {
    if (index >= items.size())
        throw ValueError(std::string(container) + ": index " + std::to_string(index) +
                         " is out of range for " + std::to_string(items.size()) + " modules");
    return items[index];
}

}  // namespace

Tensor SequentialImpl::forward(const Tensor& x, std::source_location loc) const {
    Tensor y = x;
    for (const auto& step : steps_) y = step(y, loc);
    return y;
}

std::shared_ptr<Module> SequentialImpl::operator[](size_t index) const {
    return at(children(), index, "Sequential");
}

std::shared_ptr<Module> ModuleListImpl::operator[](size_t index) const {
    return at(items_, index, "ModuleList");
}

}  // namespace kiln::nn
