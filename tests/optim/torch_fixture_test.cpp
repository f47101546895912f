// Kiln's optimizers and schedulers against real PyTorch: tests/optim/data/torch_optim.safetensors
// holds what torch.optim (float64) did to two parameters over six steps of fixed gradients, per
// configuration (make_torch_fixture.py writes it; the suite never runs Python). Kiln runs the
// same configurations on the same gradients; every step's lr, parameters and optimizer state
// (momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, step) must match PyTorch's: to 1e-12 in
// float64 (the update itself to 1e-12 of its size), to float precision in float32.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <set>
#include <sstream>

#include "kiln/serialize.h"
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

const std::string kFixture = std::string(KILN_OPTIM_DATA_DIR) + "/torch_optim.safetensors";
constexpr int kParams = 2;
// Tolerances: float64 parameters and state, relative to the tensor's largest value; float64
// updates, relative to the largest change PyTorch made in the step; float32 (against PyTorch in
// float64), relative to the largest value. The largest differences measured (torch 1.13) are
// 3e-16, 1.2e-14 and 3e-7 (the hidden test case "[.report]" prints them).
constexpr double kF64 = 1e-12, kF64Update = 1e-12, kF32 = 2e-6;

/// One configuration of the fixture: its name, its description (the fixture's
/// "config.<name>" metadata, so a script and a test that drift apart fail), and how Kiln makes
/// the optimizer and, if any, the scheduler.
struct Config {
    std::string name;
    std::string description;
    std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)> optimizer;
    std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)> scheduler = nullptr;
};

std::vector<Config> configs() {
    using namespace optim;
    auto sgd = [](SGDOptions o) {
        return [o](std::vector<Tensor> p) { return std::make_unique<SGD>(std::move(p), o); };
    };
    auto adam = [](AdamOptions o) {
        return [o](std::vector<Tensor> p) { return std::make_unique<Adam>(std::move(p), o); };
    };
    auto adamw = [](AdamWOptions o) {
        return [o](std::vector<Tensor> p) { return std::make_unique<AdamW>(std::move(p), o); };
    };
    return {
        {"sgd", "SGD(lr=0.1)", sgd(SGDOptions(0.1))},
        {"sgd_momentum", "SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)",
         sgd(SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01))},
        {"sgd_nesterov", "SGD(lr=0.1, momentum=0.9, nesterov=True)",
         sgd(SGDOptions(0.1).momentum(0.9).nesterov(true))},
        {"adam", "Adam()", adam(AdamOptions())},
        {"adam_amsgrad",
         "Adam(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)",
         adam(AdamOptions(0.01).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.1).amsgrad(true))},
        {"adamw", "AdamW(lr=0.01, weight_decay=0.05)",
         adamw(AdamWOptions(0.01).weight_decay(0.05))},
        {"sgd_steplr", "SGD(lr=0.1, momentum=0.9) + StepLR(step_size=2, gamma=0.5)",
         sgd(SGDOptions(0.1).momentum(0.9)),
         [](Optimizer& o) { return std::make_unique<StepLR>(o, 2, 0.5); }},
        {"adamw_cosine",
         "AdamW(lr=0.05, weight_decay=0.1, amsgrad=True) + "
         "CosineAnnealingLR(T_max=4, eta_min=0.001)",
         adamw(AdamWOptions(0.05).weight_decay(0.1).amsgrad(true)),
         [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 4, 0.001); }},
    };
}

/// One tensor of the fixture, on the host.
struct HostTensor {
    DType dtype;
    std::vector<int64_t> shape;
    Values values;  ///< empty unless float64
};

/// The fixture's tensors, as host values (no Kiln tensors: it lives until the program exits),
/// with a tensor's values at one step.
struct Fixture {
    std::map<std::string, HostTensor> tensors;
    std::map<std::string, std::string> metadata = load_safetensors_metadata(kFixture);
    int steps = std::stoi(metadata.at("steps"));

    Fixture() {
        for (const auto& [key, t] : load_safetensors(kFixture)) {
            tensors[key] = {t.dtype(), t.sizes(),
                            t.dtype() == kFloat64 ? t.to_vector<double>() : Values{}};
        }
    }
    const HostTensor& at(const std::string& key) const {
        auto it = tensors.find(key);
        INFO("the fixture's tensor " << key);
        REQUIRE(it != tensors.end());
        return it->second;
    }
    /// Values of the [steps, ...] tensor `key` at step s (0-based).
    Values step_values(const std::string& key, int s) const {
        const HostTensor& t = at(key);
        REQUIRE(t.shape.at(0) == steps);
        size_t n = t.values.size() / static_cast<size_t>(steps);
        return Values(t.values.begin() + static_cast<std::ptrdiff_t>(n * s),
                      t.values.begin() + static_cast<std::ptrdiff_t>(n * (s + 1)));
    }
    /// The shape of one step of the [steps, ...] tensor `key`.
    std::vector<int64_t> step_shape(const std::string& key) const {
        const std::vector<int64_t>& shape = at(key).shape;
        return std::vector<int64_t>(shape.begin() + 1, shape.end());
    }
};

const Fixture& fixture() {
    static const Fixture f;
    return f;
}

/// Values rounded to `dtype` (what a tensor of that dtype made from them holds).
Values in_dtype(Values v, DType dtype) { return dtype == kFloat32 ? as_float(std::move(v)) : v; }

/// The worst element of got against want: |got - want| relative to `scale`.
struct Worst {
    double error = 0;
    size_t index = 0;
    double got = 0, want = 0;
};

Worst worst(const Values& got, const Values& want, double scale) {
    REQUIRE(got.size() == want.size());
    Worst w;
    for (size_t j = 0; j < got.size(); ++j) {
        double e = std::abs(got[j] - want[j]) / scale;
        if (!(e <= w.error)) w = {e, j, got[j], want[j]};  // a NaN is the worst
    }
    return w;
}

double max_abs(const Values& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

std::string where(const Config& c, DType dtype, int s, const std::string& what, const Worst& w,
                  double tol) {
    std::ostringstream os;
    os << std::setprecision(17) << c.name << " [" << c.description << "] in " << dtype_name(dtype)
       << ", after step " << s + 1 << ": " << what << ", element " << w.index << ": kiln " << w.got
       << ", torch " << w.want << std::setprecision(3) << " (error " << w.error << ", tolerance "
       << tol << ")";
    return os.str();
}

/// The largest errors seen over a run, for the summary.
struct MaxErrors {
    double lr = 0, param = 0, update = 0, state = 0;
};

/// Runs `c` with Kiln in `dtype` from the fixture's initial parameters over its gradients and
/// checks, at every step, the lr used (to 1e-14 relative), each parameter (|kiln - torch| over
/// max |torch|, to `tol`), the update (the same difference over the largest change PyTorch
/// made to the parameter in that step, to `update_tol`; 0 skips it) and each state buffer (to
/// `tol` of its largest value), and that the state has exactly PyTorch's buffers.
MaxErrors run(const Config& c, DType dtype, double tol, double update_tol) {
    const Fixture& f = fixture();
    std::vector<Tensor> params;
    for (int i = 0; i < kParams; ++i) {
        const HostTensor& init = f.at("init." + std::to_string(i));
        params.push_back(param(in_dtype(init.values, dtype), init.shape, dtype));
    }
    std::unique_ptr<optim::Optimizer> opt = c.optimizer(params);
    std::unique_ptr<optim::LRScheduler> sched = c.scheduler ? c.scheduler(*opt) : nullptr;
    std::vector<Values> before;
    for (int i = 0; i < kParams; ++i) before.push_back(f.at("init." + std::to_string(i)).values);

    MaxErrors max;
    for (int s = 0; s < f.steps; ++s) {
        double lr = opt->param_groups().at(0).options().get_lr();
        double want_lr = f.step_values(c.name + ".lr", s).at(0);
        double lr_error = std::abs(lr - want_lr) / want_lr;
        max.lr = std::max(max.lr, lr_error);
        INFO(c.name << " in " << dtype_name(dtype) << ", step " << s + 1 << ": lr " << lr
                    << ", torch " << want_lr);
        CHECK(lr_error <= 1e-14);

        for (int i = 0; i < kParams; ++i) {
            std::string g = "grads." + std::to_string(i);
            params[i].mutable_grad() =
                kiln::tensor(in_dtype(f.step_values(g, s), dtype), f.step_shape(g), dtype);
        }
        opt->step();
        if (sched) sched->step();

        std::map<std::string, Tensor> state = opt->state_dict();
        for (int i = 0; i < kParams; ++i) {
            std::string p = c.name + ".param." + std::to_string(i);
            Values want = f.step_values(p, s);
            Values got = values_of(params[i]);
            Worst w = worst(got, want, std::max(max_abs(want), 1e-300));
            max.param = std::max(max.param, w.error);
            {
                INFO(where(c, dtype, s, "parameter " + std::to_string(i), w, tol));
                CHECK(w.error <= tol);
            }
            if (update_tol > 0) {
                Values change(want.size());
                for (size_t j = 0; j < want.size(); ++j) change[j] = want[j] - before[i][j];
                Worst u = worst(got, want, std::max(max_abs(change), 1e-300));
                max.update = std::max(max.update, u.error);
                INFO(where(c, dtype, s, "the update of parameter " + std::to_string(i), u,
                           update_tol));
                CHECK(u.error <= update_tol);
            }
            before[i] = want;

            // The state: the buffers PyTorch has, no others, and Adam's step count.
            std::string prefix = "state." + std::to_string(i) + ".";
            std::set<std::string> kiln_buffers, torch_buffers;
            for (const auto& [key, value] : state) {
                if (key.starts_with(prefix) && key != prefix + "step")
                    kiln_buffers.insert(key.substr(prefix.size()));
            }
            std::string torch_prefix = c.name + "." + prefix;
            for (const auto& [key, value] : f.tensors) {
                if (key.starts_with(torch_prefix))
                    torch_buffers.insert(key.substr(torch_prefix.size()));
            }
            INFO(c.name << ", step " << s + 1 << ", parameter " << i);
            CHECK(kiln_buffers == torch_buffers);
            if (state.count(prefix + "step"))
                CHECK(state.at(prefix + "step").item<double>() == s + 1);
            for (const std::string& b : torch_buffers) {
                if (!state.count(prefix + b)) continue;
                Values want_b = f.step_values(torch_prefix + b, s);
                Worst wb = worst(values_of(state.at(prefix + b)), want_b,
                                 std::max(max_abs(want_b), 1e-300));
                max.state = std::max(max.state, wb.error);
                INFO(where(c, dtype, s, "parameter " + std::to_string(i) + "'s " + b, wb, tol));
                CHECK(wb.error <= tol);
            }
        }
    }
    return max;
}

}  // namespace

TEST_CASE("the PyTorch optimizer fixture has the configurations this test runs", "[optim][torch]") {
    const Fixture& f = fixture();
    CHECK(f.steps == 6);
    std::set<std::string> in_file;
    for (const auto& [key, value] : f.metadata) {
        if (key.starts_with("config.")) in_file.insert(key.substr(7));
    }
    std::set<std::string> here;
    for (const Config& c : configs()) {
        here.insert(c.name);
        INFO(c.name);
        CHECK(f.metadata.count("config." + c.name) == 1);
        if (f.metadata.count("config." + c.name))
            CHECK(f.metadata.at("config." + c.name) == c.description);
    }
    CHECK(in_file == here);
    for (const auto& [key, t] : f.tensors) {
        INFO(key);
        CHECK(t.dtype == kFloat64);
    }
}

TEST_CASE("optimizers and schedulers match PyTorch step by step in float64", "[optim][torch]") {
    for (const Config& c : configs()) run(c, kFloat64, kF64, kF64Update);
}

TEST_CASE("optimizers and schedulers match PyTorch step by step in float32", "[optim][torch]") {
    // Kiln in float32 (from the fixture's values rounded to float) against PyTorch in float64.
    for (const Config& c : configs()) run(c, kFloat32, kF32, 0);
}

// Hidden (run it by its tag): the largest differences, to see how much room the tolerances have.
TEST_CASE("the largest differences from PyTorch", "[.report]") {
    for (DType dtype : {kFloat64, kFloat32}) {
        for (const Config& c : configs()) {
            MaxErrors e =
                dtype == kFloat64 ? run(c, dtype, kF64, kF64Update) : run(c, dtype, kF32, 0);
            std::printf("%s %-14s lr %.2e  param %.2e  update %.2e  state %.2e\n",
                        dtype_name(dtype), c.name.c_str(), e.lr, e.param, e.update, e.state);
        }
    }
}

}  // namespace kiln::test
