// kiln::save / kiln::load of a module (its named parameters and buffers) and of an optimizer
// (its state_dict), each as one safetensors file. A load checks the whole file against the
// module or optimizer before it changes anything.
#include "frontend/checks.h"
#include "ir/shape.h"
#include "kiln/autograd.h"
#include "kiln/serialize.h"

namespace kiln {
namespace {

/// Named parameters, then named buffers (names are unique across both).
std::map<std::string, Tensor> state_of(const nn::Module& module) {
    std::map<std::string, Tensor> out;
    for (const auto& item : module.named_parameters()) out.emplace(item.key(), item.value());
    for (const auto& item : module.named_buffers()) out.emplace(item.key(), item.value());
    return out;
}

std::string describe_tensor(const Tensor& t) { return dtype_name(t.dtype()) + ir::shape_str(t.sizes()); }

}  // namespace

void save(const nn::Module& module, const std::string& path, std::source_location loc) {
    save_safetensors(state_of(module), path, {{"format", "kiln"}, {"module", module.name()}}, loc);
}

void load(nn::Module& module, const std::string& path, std::source_location loc) {
    std::map<std::string, Tensor> file = load_safetensors(path, loc);
    std::map<std::string, Tensor> state = state_of(module);
    for (const auto& [name, t] : state) {
        auto it = file.find(name);
        if (it == file.end())
            fail<ParseError>("load", path + " has no tensor '" + name + "' (the module's " +
                                         describe_tensor(t) + ")", loc);
        if (it->second.dtype() != t.dtype() || it->second.sizes() != t.sizes())
            fail<ParseError>("load", path + ": tensor '" + name + "' is " +
                                         describe_tensor(it->second) + " in the file, but " +
                                         describe_tensor(t) + " in the module", loc);
    }
    for (const auto& [name, t] : file)
        if (!state.count(name))
            fail<ParseError>("load", path + " has a tensor '" + name + "' (" +
                                         describe_tensor(t) + ") that the module does not have",
                             loc);
    NoGradGuard no_grad;
    std::vector<Tensor> targets;
    for (auto& [name, t] : state) {
        Tensor handle = t;
        handle.copy_(file.at(name), loc);
        targets.push_back(handle);
    }
    realize(targets, loc);
}

void save(const optim::Optimizer& optimizer, const std::string& path, std::source_location loc) {
    save_safetensors(optimizer.state_dict(), path, {{"format", "kiln"}, {"content", "optimizer"}}, loc);
}

void load(optim::Optimizer& optimizer, const std::string& path, std::source_location loc) {
    optimizer.load_state_dict(load_safetensors(path, loc), loc);
}

}  // namespace kiln
