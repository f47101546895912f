#pragma once
/// kiln::nn::Module, the blueprint of a network whose parameters are managed for it, and the
/// holders that user code passes around (LibTorch's torch::nn::Module, ModuleHolder and
/// TORCH_MODULE, with the same names and semantics).
///
///   struct NetImpl : kiln::nn::Module {
///       NetImpl() : fc(register_module("fc", kiln::nn::Linear(784, 10))) {}
///       kiln::Tensor forward(const kiln::Tensor& x) { return fc(x); }
///       kiln::nn::Linear fc;
///   };
///   KILN_MODULE(Net);   // Net is a holder: Net net; net->parameters(); net(x);
#include <concepts>
#include <deque>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "kiln/nn/ordered_dict.h"
#include "kiln/tensor.h"

namespace kiln::nn {

/// A module: named parameters (tensors that are trained), buffers (state that is saved but not
/// trained), and child modules, all in registration order. Modules are shared (held by
/// std::shared_ptr); a parameter's Tensor handle is shared with whoever reads it, so updates in
/// place (an optimizer step, a load) are seen through every handle.
class Module : public std::enable_shared_from_this<Module> {
public:
    /// The name shown when printed; by default the class name without namespaces and a
    /// trailing "Impl" (NetImpl prints as Net).
    explicit Module(std::string name);
    Module();
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    const std::string& name() const;

    /// Adds a parameter (a leaf that requires grad unless requires_grad is false) and returns
    /// the registered handle. The name must be new in this module, non-empty and without '.'.
    Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true,
                               KILN_LOC);
    /// Adds a buffer (saved and moved with the module, not trained).
    Tensor& register_buffer(std::string name, Tensor tensor, KILN_LOC);
    /// Adds a child module; returns it so that a holder member can be set from the call.
    template <typename M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module,
                                       KILN_LOC) {
        add_child(std::move(name), module, loc);
        return module;
    }
    template <typename Holder, typename M = typename Holder::ContainedType>
    std::shared_ptr<M> register_module(std::string name, const Holder& holder, KILN_LOC) {
        return register_module(std::move(name), holder.ptr(), loc);
    }

    /// Parameters of this module and (with recurse) of every descendant, depth first in
    /// registration order; names are dotted paths ("layers.0.weight").
    std::vector<Tensor> parameters(bool recurse = true) const;
    OrderedDict<std::string, Tensor> named_parameters(bool recurse = true) const;
    std::vector<Tensor> buffers(bool recurse = true) const;
    OrderedDict<std::string, Tensor> named_buffers(bool recurse = true) const;
    /// Direct children.
    std::vector<std::shared_ptr<Module>> children() const;
    OrderedDict<std::string, std::shared_ptr<Module>> named_children() const;
    /// This module and every descendant, depth first.
    std::vector<std::shared_ptr<Module>> modules();

    /// Training mode (dropout active) for this module and its descendants.
    virtual void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    /// Drops every parameter's gradient (set_to_none, PyTorch's default) or zeroes it.
    void zero_grad(bool set_to_none = true);

    /// Moves every parameter and buffer to `device` / converts the float ones to `dtype`, in
    /// place: handles to them see the new tensors, which stay leaves that require grad.
    void to(Device device, KILN_LOC);
    void to(DType dtype, KILN_LOC);

    /// One line describing this module alone, e.g. "Linear(in_features=5, out_features=3,
    /// bias=true)"; the default is the name. operator<< prints the tree around it.
    virtual void pretty_print(std::ostream& os) const;

private:
    void add_child(std::string name, std::shared_ptr<Module> child, const std::source_location& loc);
    void check_new_name(const std::string& what, const std::string& name,
                        const std::source_location& loc) const;
    template <typename F>
    void for_each_tensor(bool parameters, bool recurse, const std::string& prefix, F&& fn) const;

    mutable std::string name_;  // filled on first use: the dynamic type is not known yet in
                                // the base class's constructor
    bool training_ = true;
    // deques: registering more never moves the handles returned before.
    std::deque<std::pair<std::string, Tensor>> parameters_;
    std::deque<std::pair<std::string, Tensor>> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

/// Prints the module tree as PyTorch does: "Name(\n  (child): Child(...)\n)".
std::ostream& operator<<(std::ostream& os, const Module& module);

namespace detail {
[[noreturn]] void empty_holder(const char* type);
/// Whether M::forward(tensor, location) exists (Kiln's own modules).
template <typename M>
concept forward_takes_location = requires(M& m, const Tensor& t, std::source_location l) {
    { m.forward(t, l) } -> std::convertible_to<Tensor>;
};
}  // namespace detail

/// A shared_ptr to a module with LibTorch's holder conveniences: `holder->member`,
/// `holder(args...)` calls forward, `Holder h{nullptr}` is empty until assigned.
template <typename Contained>
class ModuleHolder {
public:
    using ContainedType = Contained;

    /// A default-constructed module (for modules that have a default constructor).
    ModuleHolder()
        requires std::is_default_constructible_v<Contained>
        : impl_(std::make_shared<Contained>()) {}
    /// An empty holder, to be assigned later (e.g. from register_module).
    ModuleHolder(std::nullptr_t) {}  // NOLINT: implicit like LibTorch's
    /// A module constructed from these arguments.
    template <typename Head, typename... Tail>
        requires(!std::is_same_v<std::decay_t<Head>, ModuleHolder> &&
                 !std::is_same_v<std::decay_t<Head>, std::nullptr_t> &&
                 !std::is_same_v<std::decay_t<Head>, std::shared_ptr<Contained>> &&
                 std::is_constructible_v<Contained, Head, Tail...>)
    explicit ModuleHolder(Head&& head, Tail&&... tail)
        : impl_(std::make_shared<Contained>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}
    /// Holds an existing module.
    ModuleHolder(std::shared_ptr<Contained> module) : impl_(std::move(module)) {}  // NOLINT

    bool is_empty() const { return impl_ == nullptr; }
    explicit operator bool() const { return !is_empty(); }

    Contained* get() const {
        if (!impl_) detail::empty_holder(typeid(Contained).name());
        return impl_.get();
    }
    Contained* operator->() const { return get(); }
    Contained& operator*() const { return *get(); }
    const std::shared_ptr<Contained>& ptr() const {
        if (!impl_) detail::empty_holder(typeid(Contained).name());
        return impl_;
    }

    /// Calls the module's forward. Kiln's modules take the caller's location last, so that
    /// `layer(x)` reports a shape error at the user's line, not inside the module.
    template <typename C = Contained>
        requires detail::forward_takes_location<C>
    Tensor operator()(const Tensor& x, KILN_LOC) const {
        return get()->forward(x, loc);
    }
    template <typename... Args>
        requires(!(sizeof...(Args) == 1 && (std::is_convertible_v<Args, const Tensor&> && ...) &&
                   detail::forward_takes_location<Contained>))
    decltype(auto) operator()(Args&&... args) const {
        return get()->forward(std::forward<Args>(args)...);
    }

protected:
    std::shared_ptr<Contained> impl_;
};

template <typename Contained>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<Contained>& holder) {
    return os << *holder;
}

}  // namespace kiln::nn

/// Defines holder `Name` for the module class `NameImpl` (LibTorch's TORCH_MODULE).
#define KILN_MODULE(Name)                                                  \
    class Name : public ::kiln::nn::ModuleHolder<Name##Impl> {             \
    public:                                                                \
        using ::kiln::nn::ModuleHolder<Name##Impl>::ModuleHolder;          \
        using Impl = Name##Impl;                                           \
    }
