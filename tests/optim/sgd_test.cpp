// SGD against a double-precision re-implementation of torch.optim.SGD, for every option and
// their combinations, in float64 (to 1e-12) and float32.
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

/// An [2, 3] and a [4] parameter of random values.
std::vector<Tensor> two_params(std::mt19937& gen, DType dtype = kFloat64) {
    Values a = normal_values(gen, 6), b = normal_values(gen, 4);
    if (dtype == kFloat32) a = as_float(a), b = as_float(b);
    return {param(a, {2, 3}, dtype), param(b, {4}, dtype)};
}

struct SgdCase {
    const char* name;
    optim::SGDOptions options;
    SgdRef ref;
};

std::vector<SgdCase> sgd_cases() {
    return {
        {"plain", optim::SGDOptions(0.1), {0.1}},
        {"momentum", optim::SGDOptions(0.1).momentum(0.9), {0.1, 0.9}},
        {"dampening", optim::SGDOptions(0.05).momentum(0.8).dampening(0.3), {0.05, 0.8, 0.3}},
        {"nesterov", optim::SGDOptions(0.1).momentum(0.9).nesterov(true), {0.1, 0.9, 0, 0, true}},
        {"weight_decay", optim::SGDOptions(0.1).weight_decay(0.01), {0.1, 0, 0, 0.01}},
        {"momentum+weight_decay",
         optim::SGDOptions(0.2).momentum(0.5).weight_decay(0.1),
         {0.2, 0.5, 0, 0.1}},
        {"all",
         optim::SGDOptions(0.1).momentum(0.7).weight_decay(0.05).nesterov(true),
         {0.1, 0.7, 0, 0.05, true}},
    };
}

}  // namespace

TEST_CASE("SGD: every option matches PyTorch's formula in float64", "[optim][sgd]") {
    for (const SgdCase& c : sgd_cases()) {
        INFO(c.name);
        std::mt19937 gen(7);
        std::vector<Tensor> params = two_params(gen);
        optim::SGD opt(params, c.options);
        check_against(opt, params, std::vector<SgdRef>{c.ref, c.ref}, 6, 1e-12, gen);
    }
}

TEST_CASE("SGD: float32 parameters follow the formula to float precision", "[optim][sgd]") {
    for (const SgdCase& c : sgd_cases()) {
        INFO(c.name);
        std::mt19937 gen(11);
        std::vector<Tensor> params = two_params(gen, kFloat32);
        optim::SGD opt(params, c.options);
        check_against(opt, params, std::vector<SgdRef>{c.ref, c.ref}, 6, 1e-5, gen);
        for (const Tensor& p : params) CHECK(p.dtype() == kFloat32);
    }
}

TEST_CASE("SGD: an lr changed between steps is used at the next step", "[optim][sgd]") {
    std::mt19937 gen(3);
    std::vector<Tensor> params = two_params(gen);
    optim::SGD opt(params, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1));
    SgdRef ref{0.1, 0.9, 0.1};
    check_against<SgdRef>(opt, params, {ref, ref}, 8, 1e-12, gen,
                          [&](int s, std::vector<SgdRef>& refs) {
                              double lr = 0.1 / (1 + s);
                              opt.param_groups()[0].options().set_lr(lr);
                              for (SgdRef& r : refs) r.lr = lr;
                          });
}

TEST_CASE("SGD: the first momentum step takes the gradient undamped", "[optim][sgd]") {
    // PyTorch's buffer starts as the gradient itself: dampening only applies from step two.
    Tensor p = param({1.0, 2.0}, {2});
    optim::SGD opt({p}, optim::SGDOptions(1.0).momentum(0.5).dampening(0.5));
    set_grad(p, {1.0, -1.0});
    opt.step();
    CHECK(values_of(p) == Values{0.0, 3.0});
    CHECK(values_of(opt.state_dict().at("state.0.momentum_buffer")) == Values{1.0, -1.0});
    set_grad(p, {1.0, -1.0});
    opt.step();  // buf = 0.5 * 1 + 0.5 * 1 = 1
    CHECK(values_of(p) == Values{-1.0, 4.0});
}

TEST_CASE("SGD: defaults are PyTorch's", "[optim][sgd]") {
    optim::SGDOptions o;
    CHECK(o.lr() == 1e-3);
    CHECK(o.momentum() == 0);
    CHECK(o.dampening() == 0);
    CHECK(o.weight_decay() == 0);
    CHECK(o.nesterov() == false);
    optim::SGDOptions chained = optim::SGDOptions(0.1).momentum(0.9).nesterov(true);
    CHECK(chained.lr() == 0.1);
    CHECK(chained.get_lr() == 0.1);
    CHECK(chained.momentum() == 0.9);
    CHECK(chained.nesterov());
    chained.set_lr(0.5);
    CHECK(chained.lr() == 0.5);
}

}  // namespace kiln::test
