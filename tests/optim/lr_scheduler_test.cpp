// The schedulers' lr sequences against values computed by hand, over every param group from
// its own base lr, and what the optimizer then does with them.
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

/// An SGD over two one-element groups with base lrs 0.1 and 0.02.
struct TwoGroups {
    Tensor a = param({1.0}, {1}), b = param({1.0}, {1});
    optim::SGD opt{std::vector<optim::OptimizerParamGroup>{
                       optim::OptimizerParamGroup({a}),
                       optim::OptimizerParamGroup({b}, optim::SGDOptions(0.02).clone())},
                   optim::SGDOptions(0.1)};

    std::vector<double> lrs() const {
        return {opt.param_groups()[0].options().get_lr(), opt.param_groups()[1].options().get_lr()};
    }
};

/// The lrs of group 0 scaled to base 1, for t = 0 .. n-1 (t = 0 is the construction).
template <class Scheduler>
std::vector<double> sequence(TwoGroups& g, Scheduler& s, int n) {
    std::vector<double> out;
    for (int t = 0; t < n; ++t) {
        if (t > 0) s.step();
        CHECK(s.last_epoch() == t);
        REQUIRE(s.get_last_lr().size() == 2);
        // Both groups follow the schedule from their own base, and get_last_lr says so.
        CHECK(s.get_last_lr() == g.lrs());
        CHECK(std::abs(s.get_last_lr()[1] / 0.02 - s.get_last_lr()[0] / 0.1) < 1e-15);
        out.push_back(s.get_last_lr()[0] / 0.1);
    }
    return out;
}

void check_sequence(const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t t = 0; t < got.size(); ++t) {
        INFO("t = " << t);
        CHECK(std::abs(got[t] - want[t]) < 1e-15);
    }
}

}  // namespace

TEST_CASE("StepLR: gamma every step_size steps", "[optim][scheduler]") {
    TwoGroups g;
    optim::StepLR s(g.opt, 3, 0.5);
    CHECK(s.base_lrs() == std::vector<double>{0.1, 0.02});
    check_sequence(sequence(g, s, 10), {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125});
}

TEST_CASE("StepLR: the default gamma is 0.1", "[optim][scheduler]") {
    TwoGroups g;
    optim::StepLR s(g.opt, 2);
    check_sequence(sequence(g, s, 6), {1, 1, 0.1, 0.1, 0.01, 0.01});
}

TEST_CASE("CosineAnnealingLR: half a cosine from the base to eta_min", "[optim][scheduler]") {
    TwoGroups g;
    optim::CosineAnnealingLR s(g.opt, 4);
    // (1 + cos(pi t / 4)) / 2; past T_max the closed form goes on up again.
    check_sequence(sequence(g, s, 7),
                   {1, 0.8535533905932737, 0.5, 0.14644660940672624, 0, 0.14644660940672624, 0.5});
}

TEST_CASE("CosineAnnealingLR: eta_min is the floor of every group", "[optim][scheduler]") {
    TwoGroups g;
    optim::CosineAnnealingLR s(g.opt, 2, 0.01);
    std::vector<std::vector<double>> want{{0.1, 0.02}, {0.055, 0.015}, {0.01, 0.01}};
    for (int t = 0; t < 3; ++t) {
        if (t > 0) s.step();
        for (size_t i = 0; i < 2; ++i) CHECK(std::abs(s.get_last_lr()[i] - want[t][i]) < 1e-15);
    }
}

TEST_CASE("LinearLR: PyTorch's warm-up, from construction on", "[optim][scheduler]") {
    TwoGroups g;
    optim::LinearLR s(g.opt);  // start 1/3, end 1, 5 iterations
    // Construction already sets base / 3 (PyTorch's initial step).
    CHECK(std::abs(g.lrs()[0] - 0.1 / 3) < 1e-15);
    check_sequence(sequence(g, s, 8), {1.0 / 3, 7.0 / 15, 9.0 / 15, 11.0 / 15, 13.0 / 15, 1, 1, 1});
}

TEST_CASE("LinearLR: a decay from 1 to 0.5 over 2 steps", "[optim][scheduler]") {
    TwoGroups g;
    optim::LinearLR s(g.opt, 1.0, 0.5, 2);
    check_sequence(sequence(g, s, 4), {1, 0.75, 0.5, 0.5});
}

TEST_CASE("schedulers: the optimizer steps with the scheduled lr", "[optim][scheduler]") {
    Tensor w = param({1.0, 2.0}, {2});
    optim::SGD opt({w}, 0.1);
    optim::StepLR s(opt, 1, 0.5);  // 0.1, 0.05, 0.025
    Values want = values_of(w);
    for (double lr : {0.1, 0.05, 0.025}) {
        set_grad(w, {1.0, -1.0});
        opt.step();
        s.step();
        want[0] -= lr;
        want[1] += lr;
        CHECK(max_rel_error(values_of(w), want) <= 1e-15);
    }
}

TEST_CASE("schedulers: a group added later takes its lr then as its base", "[optim][scheduler]") {
    Tensor a = param({1.0}, {1}), b = param({1.0}, {1});
    optim::SGD opt({a}, 0.1);
    optim::StepLR s(opt, 1, 0.5);
    s.step();  // group 0: 0.05
    opt.add_param_group(optim::OptimizerParamGroup({b}, optim::SGDOptions(0.4).clone()));
    s.step();  // t = 2: group 0 0.1 / 4, group 1 0.4 / 4
    CHECK(s.get_last_lr() == std::vector<double>{0.025, 0.1});
    CHECK(s.base_lrs() == std::vector<double>{0.1, 0.4});
}

}  // namespace kiln::test
