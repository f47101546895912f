// Adam and AdamW against double-precision re-implementations of torch.optim.Adam / AdamW's
// algorithms, for every option, in float64 (to 1e-12) and float32.
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

std::vector<Tensor> two_params(std::mt19937& gen, DType dtype = kFloat64) {
    Values a = normal_values(gen, 6), b = normal_values(gen, 4);
    if (dtype == kFloat32) a = as_float(a), b = as_float(b);
    return {param(a, {2, 3}, dtype), param(b, {4}, dtype)};
}

AdamRef adam_ref(double lr, double b1, double b2, double eps, double wd, bool amsgrad,
                 bool decoupled) {
    AdamRef r;
    r.lr = lr, r.beta1 = b1, r.beta2 = b2, r.eps = eps, r.weight_decay = wd;
    r.amsgrad = amsgrad, r.decoupled = decoupled;
    return r;
}

struct AdamCase {
    const char* name;
    optim::AdamOptions options;
    AdamRef ref;
};

std::vector<AdamCase> adam_cases() {
    using optim::AdamOptions;
    return {
        {"defaults", AdamOptions(), adam_ref(1e-3, 0.9, 0.999, 1e-8, 0, false, false)},
        {"lr", AdamOptions(0.05), adam_ref(0.05, 0.9, 0.999, 1e-8, 0, false, false)},
        {"betas", AdamOptions(0.01).betas({0.8, 0.99}),
         adam_ref(0.01, 0.8, 0.99, 1e-8, 0, false, false)},
        // 1 - beta1 >= 0.5 takes lerp's other form.
        {"small beta1", AdamOptions(0.01).betas({0.3, 0.9}),
         adam_ref(0.01, 0.3, 0.9, 1e-8, 0, false, false)},
        {"eps", AdamOptions(0.01).eps(0.1), adam_ref(0.01, 0.9, 0.999, 0.1, 0, false, false)},
        {"weight_decay", AdamOptions(0.01).weight_decay(0.1),
         adam_ref(0.01, 0.9, 0.999, 1e-8, 0.1, false, false)},
        {"amsgrad", AdamOptions(0.01).amsgrad(true),
         adam_ref(0.01, 0.9, 0.999, 1e-8, 0, true, false)},
        {"all", AdamOptions(0.02).betas({0.85, 0.95}).eps(1e-6).weight_decay(0.05).amsgrad(true),
         adam_ref(0.02, 0.85, 0.95, 1e-6, 0.05, true, false)},
    };
}

struct AdamWCase {
    const char* name;
    optim::AdamWOptions options;
    AdamRef ref;
};

std::vector<AdamWCase> adamw_cases() {
    using optim::AdamWOptions;
    return {
        {"defaults", AdamWOptions(), adam_ref(1e-3, 0.9, 0.999, 1e-8, 0.01, false, true)},
        {"weight_decay", AdamWOptions(0.05).weight_decay(0.2),
         adam_ref(0.05, 0.9, 0.999, 1e-8, 0.2, false, true)},
        {"no decay", AdamWOptions(0.05).weight_decay(0),
         adam_ref(0.05, 0.9, 0.999, 1e-8, 0, false, true)},
        {"all", AdamWOptions(0.02).betas({0.3, 0.9}).eps(1e-4).weight_decay(0.1).amsgrad(true),
         adam_ref(0.02, 0.3, 0.9, 1e-4, 0.1, true, true)},
    };
}

}  // namespace

TEST_CASE("Adam: every option matches PyTorch's algorithm in float64", "[optim][adam]") {
    for (const AdamCase& c : adam_cases()) {
        INFO(c.name);
        std::mt19937 gen(5);
        std::vector<Tensor> params = two_params(gen);
        optim::Adam opt(params, c.options);
        check_against(opt, params, std::vector<AdamRef>{c.ref, c.ref}, 8, 1e-12, gen);
    }
}

TEST_CASE("AdamW: every option matches PyTorch's algorithm in float64", "[optim][adamw]") {
    for (const AdamWCase& c : adamw_cases()) {
        INFO(c.name);
        std::mt19937 gen(6);
        std::vector<Tensor> params = two_params(gen);
        optim::AdamW opt(params, c.options);
        check_against(opt, params, std::vector<AdamRef>{c.ref, c.ref}, 8, 1e-12, gen);
    }
}

TEST_CASE("Adam, AdamW: float32 parameters follow the algorithm to float precision",
          "[optim][adam][adamw]") {
    for (const AdamCase& c : adam_cases()) {
        INFO("Adam " << c.name);
        std::mt19937 gen(8);
        std::vector<Tensor> params = two_params(gen, kFloat32);
        optim::Adam opt(params, c.options);
        check_against(opt, params, std::vector<AdamRef>{c.ref, c.ref}, 8, 2e-5, gen);
    }
    for (const AdamWCase& c : adamw_cases()) {
        INFO("AdamW " << c.name);
        std::mt19937 gen(9);
        std::vector<Tensor> params = two_params(gen, kFloat32);
        optim::AdamW opt(params, c.options);
        check_against(opt, params, std::vector<AdamRef>{c.ref, c.ref}, 8, 2e-5, gen);
    }
}

TEST_CASE("Adam: amsgrad uses the running maximum of exp_avg_sq", "[optim][adam]") {
    // A large gradient, then small ones: exp_avg_sq falls, its maximum does not, so amsgrad
    // takes smaller steps than plain Adam from step two on.
    auto run = [](bool amsgrad) {
        Tensor p = param({0.0}, {1});
        optim::Adam opt({p}, optim::AdamOptions(0.1).betas({0.5, 0.5}).amsgrad(amsgrad));
        AdamRef ref = adam_ref(0.1, 0.5, 0.5, 1e-8, 0, amsgrad, false);
        Values want{0.0};
        for (double g : {10.0, 0.1, 0.1, 0.1}) {
            set_grad(p, {g});
            ref.step(want, {g});
            opt.step();
            CHECK(max_rel_error(values_of(p), want) <= 1e-12);
        }
        std::map<std::string, Tensor> state = opt.state_dict();
        if (amsgrad) {
            CHECK(max_rel_error(values_of(state.at("state.0.max_exp_avg_sq")), ref.v_max) <= 1e-12);
            CHECK(ref.v_max[0] > ref.v[0]);
        } else {
            CHECK(state.count("state.0.max_exp_avg_sq") == 0);
        }
        CHECK(max_rel_error(values_of(state.at("state.0.exp_avg_sq")), ref.v) <= 1e-12);
        CHECK(max_rel_error(values_of(state.at("state.0.exp_avg")), ref.m) <= 1e-12);
        CHECK(state.at("state.0.step").item<double>() == 4.0);
        return values_of(p)[0];
    };
    double with = run(true), without = run(false);
    CHECK(std::abs(with) < std::abs(without));
}

TEST_CASE("Adam, AdamW: defaults are PyTorch's", "[optim][adam][adamw]") {
    optim::AdamOptions a;
    CHECK(a.lr() == 1e-3);
    CHECK(std::get<0>(a.betas()) == 0.9);
    CHECK(std::get<1>(a.betas()) == 0.999);
    CHECK(a.eps() == 1e-8);
    CHECK(a.weight_decay() == 0);
    CHECK(a.amsgrad() == false);
    optim::AdamWOptions w;
    CHECK(w.lr() == 1e-3);
    CHECK(std::get<0>(w.betas()) == 0.9);
    CHECK(std::get<1>(w.betas()) == 0.999);
    CHECK(w.eps() == 1e-8);
    CHECK(w.weight_decay() == 0.01);
    CHECK(w.amsgrad() == false);
    optim::AdamOptions chained = optim::AdamOptions(0.1).betas({0.5, 0.6}).eps(1e-3);
    CHECK(chained.get_lr() == 0.1);
    CHECK(std::get<1>(chained.betas()) == 0.6);
    CHECK(chained.eps() == 1e-3);
}

TEST_CASE("Adam: an lr changed between steps is used at the next step", "[optim][adam]") {
    std::mt19937 gen(4);
    std::vector<Tensor> params = two_params(gen);
    optim::Adam opt(params, optim::AdamOptions(0.1).weight_decay(0.01));
    AdamRef ref = adam_ref(0.1, 0.9, 0.999, 1e-8, 0.01, false, false);
    check_against<AdamRef>(opt, params, {ref, ref}, 8, 1e-12, gen,
                           [&](int s, std::vector<AdamRef>& refs) {
                               double lr = 0.1 * std::pow(0.7, s);
                               opt.param_groups()[0].options().set_lr(lr);
                               for (AdamRef& r : refs) r.lr = lr;
                           });
}

}  // namespace kiln::test
