#pragma once
/// Containers of modules: Sequential (forward runs its modules in order) and ModuleList (an
/// indexable list; the owner's forward decides what to do). LibTorch's names and semantics,
/// for modules whose forward maps one tensor to one tensor.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/nn/module.h"

namespace kiln::nn {

class SequentialImpl : public Module {
public:
    SequentialImpl() = default;
    /// Sequential(Linear(784, 512), ReLU(), ...): children named "0", "1", ...
    template <typename... Modules>
        requires(sizeof...(Modules) > 0)
    explicit SequentialImpl(Modules&&... modules) {
        (push_back(std::forward<Modules>(modules)), ...);
    }

    /// Appends a module (a holder or a shared_ptr) named by its position, or by `name`.
    template <typename M>
    void push_back(M&& module) {
        push_back(std::to_string(steps_.size()), std::forward<M>(module));
    }
    template <typename M>
    void push_back(std::string name, M&& module) {
        auto ptr = as_shared(std::forward<M>(module));
        register_module(std::move(name), ptr);
        steps_.push_back([ptr](const Tensor& x, const std::source_location& loc) {
            return call_forward(*ptr, x, loc);
        });
    }

    /// The modules' forwards, one after the other.
    Tensor forward(const Tensor& x, KILN_LOC) const;

    size_t size() const { return steps_.size(); }
    bool is_empty() const { return steps_.empty(); }
    /// The module at `index` (a kiln::ValueError when out of range).
    std::shared_ptr<Module> operator[](size_t index) const;
    /// The module at `index` as its type M (nullptr if it is not an M).
    template <typename M>
    std::shared_ptr<M> ptr(size_t index) const {
        return std::dynamic_pointer_cast<M>((*this)[index]);
    }

private:
    template <typename M>
    static auto as_shared(M&& m) {
        if constexpr (requires { m.ptr(); }) return m.ptr();
        else return std::shared_ptr(std::forward<M>(m));
    }
    template <typename M>
    static Tensor call_forward(M& m, const Tensor& x, const std::source_location& loc) {
        if constexpr (detail::forward_takes_location<M>) return m.forward(x, loc);
        else return m.forward(x);
    }
    /// Each child's forward, in order (the children themselves are the Module's).
    std::vector<std::function<Tensor(const Tensor&, const std::source_location&)>> steps_;
};
KILN_MODULE(Sequential);

class ModuleListImpl : public Module {
public:
    ModuleListImpl() = default;
    template <typename... Modules>
        requires(sizeof...(Modules) > 0)
    explicit ModuleListImpl(Modules&&... modules) {
        (push_back(std::forward<Modules>(modules)), ...);
    }

    /// Appends a module (a holder or a shared_ptr), named by its position.
    template <typename M>
    void push_back(M&& module) {
        std::shared_ptr<Module> ptr;
        if constexpr (requires { module.ptr(); }) ptr = module.ptr();
        else ptr = std::shared_ptr(std::forward<M>(module));
        register_module(std::to_string(items_.size()), ptr);
        items_.push_back(std::move(ptr));
    }

    size_t size() const { return items_.size(); }
    bool is_empty() const { return items_.empty(); }
    std::shared_ptr<Module> operator[](size_t index) const;
    template <typename M>
    std::shared_ptr<M> ptr(size_t index) const {
        return std::dynamic_pointer_cast<M>((*this)[index]);
    }
    std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return items_.begin(); }
    std::vector<std::shared_ptr<Module>>::const_iterator end() const { return items_.end(); }

private:
    std::vector<std::shared_ptr<Module>> items_;
};
KILN_MODULE(ModuleList);

}  // namespace kiln::nn
