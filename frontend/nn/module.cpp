// kiln::nn::Module: registration, the recursive views of parameters, buffers and children,
// train/eval, zero_grad, in-place device/dtype moves, and PyTorch's tree printing.
#include "kiln/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <ostream>
#include <sstream>

#include "frontend/checks.h"
#include "frontend/tensor_impl.h"
#include "ir/build.h"
#include "kiln/autograd.h"

namespace kiln::nn {
namespace {

/// "kiln::nn::LinearImpl" -> "Linear", "NetImpl" -> "Net" (LibTorch's rule, without the
/// namespace, as PyTorch prints).
std::string display_name(const std::type_info& type) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
    std::string name = status == 0 && demangled ? demangled : type.name();
    std::free(demangled);
    if (size_t colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
    if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
    return name;
}

/// Gives `t` (and so every handle to it) the value `converted`, keeping a parameter a leaf
/// that requires grad: the same variable, like LibTorch's set_data. Its gradient is dropped
/// when the dtype changes.
void replace_value(Tensor& t, const Tensor& converted) {
    ir::NodeRef current = t.impl()->node();
    ir::NodeRef r = converted.impl()->node();
    if (current->op() == ir::Op::Leaf)
        r = ir::Node::make(ir::Op::Leaf, r->dtype(), r->shape(), {ir::build::detach(r)},
                           current->attr());
    if (r->dtype() != current->dtype()) t.mutable_grad() = Tensor();
    t.impl()->set_node(std::move(r));
    t.impl()->device = converted.device();
}

}  // namespace

namespace detail {
void empty_holder(const char* type) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(type, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled ? demangled : type;
    std::free(demangled);
    throw Error("nn: this " + name +
                " holder is empty (made from nullptr and never assigned a module)");
}
}  // namespace detail

Module::Module(std::string name) : name_(std::move(name)) {}
Module::Module() = default;

const std::string& Module::name() const {
    if (name_.empty()) name_ = display_name(typeid(*this));
    return name_;
}

void Module::check_new_name(const std::string& what, const std::string& name,
                            const std::source_location& loc) const {
    if (name.empty()) fail<ValueError>(what, "the name must not be empty", loc);
    if (name.find('.') != std::string::npos)
        fail<ValueError>(what, "the name '" + name + "' must not contain '.'", loc);
    auto taken = [&](const auto& list) {
        for (const auto& [n, _] : list)
            if (n == name) return true;
        return false;
    };
    if (taken(parameters_) || taken(buffers_) || taken(children_))
        fail<ValueError>(what, "'" + name + "' is already registered in " + this->name(), loc);
}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad,
                                   std::source_location loc) {
    check_new_name("register_parameter", name, loc);
    if (!tensor.defined())
        fail<ValueError>("register_parameter", "the tensor '" + name + "' is undefined", loc);
    if (requires_grad) tensor.requires_grad_(true, loc);
    parameters_.emplace_back(std::move(name), std::move(tensor));
    return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor tensor, std::source_location loc) {
    check_new_name("register_buffer", name, loc);
    if (!tensor.defined())
        fail<ValueError>("register_buffer", "the tensor '" + name + "' is undefined", loc);
    buffers_.emplace_back(std::move(name), std::move(tensor));
    return buffers_.back().second;
}

void Module::add_child(std::string name, std::shared_ptr<Module> child,
                       const std::source_location& loc) {
    check_new_name("register_module", name, loc);
    if (!child) fail<ValueError>("register_module", "the module '" + name + "' is null", loc);
    children_.emplace_back(std::move(name), std::move(child));
}

template <typename F>
void Module::for_each_tensor(bool parameters, bool recurse, const std::string& prefix,
                             F&& fn) const {
    for (const auto& [name, t] : parameters ? parameters_ : buffers_) fn(prefix + name, t);
    if (!recurse) return;
    for (const auto& [name, child] : children_)
        child->for_each_tensor(parameters, true, prefix + name + ".", fn);
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for_each_tensor(true, recurse, "", [&](const std::string&, const Tensor& t) { out.push_back(t); });
    return out;
}

OrderedDict<std::string, Tensor> Module::named_parameters(bool recurse) const {
    OrderedDict<std::string, Tensor> out;
    for_each_tensor(true, recurse, "", [&](const std::string& n, const Tensor& t) { out.insert(n, t); });
    return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
    std::vector<Tensor> out;
    for_each_tensor(false, recurse, "", [&](const std::string&, const Tensor& t) { out.push_back(t); });
    return out;
}

OrderedDict<std::string, Tensor> Module::named_buffers(bool recurse) const {
    OrderedDict<std::string, Tensor> out;
    for_each_tensor(false, recurse, "", [&](const std::string& n, const Tensor& t) { out.insert(n, t); });
    return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
    std::vector<std::shared_ptr<Module>> out;
    for (const auto& [_, child] : children_) out.push_back(child);
    return out;
}

OrderedDict<std::string, std::shared_ptr<Module>> Module::named_children() const {
    OrderedDict<std::string, std::shared_ptr<Module>> out;
    for (const auto& [name, child] : children_) out.insert(name, child);
    return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
    std::vector<std::shared_ptr<Module>> out{shared_from_this()};
    for (const auto& [_, child] : children_)
        for (auto& m : child->modules()) out.push_back(std::move(m));
    return out;
}

void Module::train(bool on) {
    training_ = on;
    for (const auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
    NoGradGuard no_grad;
    for (Tensor& p : parameters()) {
        if (!p.grad().defined()) continue;
        if (set_to_none) p.mutable_grad() = Tensor();
        else p.mutable_grad().zero_();
    }
}

void Module::to(Device device, std::source_location loc) {
    NoGradGuard no_grad;
    for (bool params : {true, false})
        for_each_tensor(params, true, "", [&](const std::string&, const Tensor& t) {
            if (t.device() == device) return;
            Tensor handle = t;
            replace_value(handle, t.to(device, loc));
        });
}

void Module::to(DType dtype, std::source_location loc) {
    if (!is_floating(dtype))
        fail<TypeError>("Module::to", std::string("modules convert to float dtypes only, got ") +
                                          dtype_name(dtype), loc);
    NoGradGuard no_grad;
    for (bool params : {true, false})
        for_each_tensor(params, true, "", [&](const std::string&, const Tensor& t) {
            if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
            Tensor handle = t;
            replace_value(handle, t.to(dtype, loc));
        });
}

void Module::pretty_print(std::ostream& os) const { os << name(); }

namespace {

void print_tree(std::ostream& os, const Module& m, const std::string& indent) {
    m.pretty_print(os);
    auto children = m.named_children();
    if (children.is_empty()) return;
    os << "(\n";
    for (const auto& item : children) {
        os << indent << "  (" << item.key() << "): ";
        print_tree(os, *item.value(), indent + "  ");
        os << "\n";
    }
    os << indent << ")";
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Module& module) {
    print_tree(os, module, "");
    return os;
}

}  // namespace kiln::nn
