// The exact errors of the optimizers' and schedulers' constructors: option values PyTorch
// refuses, bad parameter lists, options of another optimizer. Each names the optimizer, the
// value and the caller's file:line.
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

std::string here(int line) { return at(__FILE__, line); }

Tensor leaf() { return param({1, 2}, {2}); }

}  // namespace

TEST_CASE("SGD: option values are checked", "[optim][errors][sgd]") {
    using optim::SGD;
    using optim::SGDOptions;
    Tensor p = leaf();
    int line = __LINE__ + 1;
    auto lr = [&] { SGD({p}, SGDOptions(-0.1)); };
    CHECK(error_of<ValueError>(lr) == "SGD: lr must be >= 0, got -0.1" + here(line));
    line = __LINE__ + 1;
    auto nan_lr = [&] { SGD({p}, SGDOptions(std::nan(""))); };
    CHECK(error_of<ValueError>(nan_lr) == "SGD: lr must be >= 0, got nan" + here(line));
    line = __LINE__ + 1;
    auto momentum = [&] { SGD({p}, SGDOptions(0.1).momentum(-0.5)); };
    CHECK(error_of<ValueError>(momentum) == "SGD: momentum must be >= 0, got -0.5" + here(line));
    line = __LINE__ + 1;
    auto decay = [&] { SGD({p}, SGDOptions(0.1).weight_decay(-1)); };
    CHECK(error_of<ValueError>(decay) == "SGD: weight_decay must be >= 0, got -1" + here(line));
    line = __LINE__ + 1;
    auto nesterov = [&] { SGD({p}, SGDOptions(0.1).nesterov(true)); };
    CHECK(error_of<ValueError>(nesterov) ==
          "SGD: nesterov momentum requires a momentum > 0 and zero dampening, got momentum=0, "
          "dampening=0" +
              here(line));
    line = __LINE__ + 1;
    auto damped = [&] { SGD({p}, SGDOptions(0.1).nesterov(true).momentum(0.9).dampening(0.1)); };
    CHECK(error_of<ValueError>(damped) ==
          "SGD: nesterov momentum requires a momentum > 0 and zero dampening, got "
          "momentum=0.9, dampening=0.1" +
              here(line));
    // Valid edge values.
    CHECK_NOTHROW(SGD({p}, SGDOptions(0)));
    CHECK_NOTHROW(SGD({p}, SGDOptions(0.1).momentum(0.9).nesterov(true)));
}

TEST_CASE("Adam, AdamW: option values are checked", "[optim][errors][adam]") {
    using optim::AdamOptions;
    using optim::AdamWOptions;
    Tensor p = leaf();
    int line = __LINE__ + 1;
    auto lr = [&] { optim::Adam({p}, AdamOptions(-1)); };
    CHECK(error_of<ValueError>(lr) == "Adam: lr must be >= 0, got -1" + here(line));
    line = __LINE__ + 1;
    auto eps = [&] { optim::Adam({p}, AdamOptions().eps(-1e-8)); };
    CHECK(error_of<ValueError>(eps) == "Adam: eps must be >= 0, got -1e-08" + here(line));
    line = __LINE__ + 1;
    auto beta1 = [&] { optim::Adam({p}, AdamOptions().betas({1.0, 0.999})); };
    CHECK(error_of<ValueError>(beta1) == "Adam: beta1 must be in [0, 1), got 1" + here(line));
    line = __LINE__ + 1;
    auto beta2 = [&] { optim::Adam({p}, AdamOptions().betas({0.9, -0.1})); };
    CHECK(error_of<ValueError>(beta2) == "Adam: beta2 must be in [0, 1), got -0.1" + here(line));
    line = __LINE__ + 1;
    auto decay = [&] { optim::Adam({p}, AdamOptions().weight_decay(-0.01)); };
    CHECK(error_of<ValueError>(decay) == "Adam: weight_decay must be >= 0, got -0.01" + here(line));
    line = __LINE__ + 1;
    auto w_lr = [&] { optim::AdamW({p}, AdamWOptions(-0.5)); };
    CHECK(error_of<ValueError>(w_lr) == "AdamW: lr must be >= 0, got -0.5" + here(line));
    line = __LINE__ + 1;
    auto w_beta = [&] { optim::AdamW({p}, AdamWOptions().betas({0.9, 1.5})); };
    CHECK(error_of<ValueError>(w_beta) == "AdamW: beta2 must be in [0, 1), got 1.5" + here(line));
    CHECK_NOTHROW(optim::Adam({p}, AdamOptions(0).betas({0, 0}).eps(0)));
}

TEST_CASE("optimizers: a group's own options are checked and named", "[optim][errors]") {
    Tensor a = leaf(), b = leaf();
    std::vector<optim::OptimizerParamGroup> groups{
        optim::OptimizerParamGroup({a}),
        optim::OptimizerParamGroup({b}, optim::SGDOptions(0.1).momentum(-1).clone())};
    int line = __LINE__ + 1;
    auto bad = [&] { optim::SGD(groups, 0.1); };
    CHECK(error_of<ValueError>(bad) ==
          "SGD: momentum must be >= 0, got -1 in parameter group 1" + here(line));

    std::vector<optim::OptimizerParamGroup> adam{
        optim::OptimizerParamGroup({a}, optim::AdamOptions(0.1).clone())};
    line = __LINE__ + 1;
    auto other = [&] { optim::SGD(adam, 0.1); };
    CHECK(error_of<TypeError>(other) ==
          "SGD: the options in parameter group 0 are not SGDOptions" + here(line));

    optim::Adam opt({a});
    line = __LINE__ + 1;
    auto added = [&] { opt.add_param_group({{b}, optim::AdamOptions(0.1).eps(-1).clone()}); };
    CHECK(error_of<ValueError>(added) ==
          "Adam: eps must be >= 0, got -1 in parameter group 1" + here(line));
    CHECK(opt.param_groups().size() == 1);  // nothing was added
}

TEST_CASE("optimizers: bad parameter lists", "[optim][errors]") {
    Tensor a = leaf(), b = leaf();
    int line = __LINE__ + 1;
    auto empty = [&] { optim::SGD(std::vector<Tensor>{}, 0.1); };
    CHECK(error_of<ValueError>(empty) == "SGD: got an empty parameter list" + here(line));
    line = __LINE__ + 1;
    auto no_groups = [&] { optim::Adam(std::vector<optim::OptimizerParamGroup>{}); };
    CHECK(error_of<ValueError>(no_groups) == "Adam: got an empty parameter list" + here(line));
    // An empty group inside a list is fine (PyTorch too).
    CHECK_NOTHROW(optim::SGD(
        std::vector<optim::OptimizerParamGroup>{optim::OptimizerParamGroup(std::vector<Tensor>{})},
        0.1));

    line = __LINE__ + 1;
    auto undefined = [&] { optim::SGD({a, Tensor()}, 0.1); };
    CHECK(error_of<ValueError>(undefined) ==
          "SGD: parameter 1 of parameter group 0 is an undefined tensor" + here(line));

    Tensor computed = a * 2.0;
    line = __LINE__ + 1;
    auto non_leaf = [&] { optim::AdamW({computed}); };
    CHECK(error_of<ValueError>(non_leaf) ==
          "AdamW: parameter 0 of parameter group 0 is not a leaf (it is computed from tensors "
          "that require grad); optimizers update leaves" +
              here(line));

    line = __LINE__ + 1;
    auto twice = [&] { optim::SGD({a, b, a}, 0.1); };
    CHECK(error_of<ValueError>(twice) ==
          "SGD: parameter 2 of parameter group 0 is also parameter 0 of parameter group 0 (a "
          "parameter may appear only once)" +
              here(line));

    optim::SGD opt({a}, 0.1);
    line = __LINE__ + 1;
    auto again = [&] { opt.add_param_group({{b, a}}); };
    CHECK(error_of<ValueError>(again) ==
          "SGD: parameter 1 of parameter group 1 is also parameter 0 of parameter group 0 (a "
          "parameter may appear only once)" +
              here(line));
    CHECK(opt.param_groups().size() == 1);

    // A tensor that does not require grad is a leaf: accepted, and never has a gradient.
    Tensor plain = kiln::tensor(std::vector<double>{1}, {1});
    optim::SGD frozen({plain}, 0.1);
    frozen.step();
    CHECK(plain.item<double>() == 1);
}

TEST_CASE("OptimizerParamGroup: options() of a group without options", "[optim][errors]") {
    optim::OptimizerParamGroup g({leaf()});
    CHECK(!g.has_options());
    CHECK(error_of<ValueError>([&] { g.options(); }) ==
          "OptimizerParamGroup: the group has no options");
}

TEST_CASE("schedulers: argument values are checked", "[optim][errors][scheduler]") {
    Tensor p = leaf();
    optim::SGD opt({p}, 0.1);
    int line = __LINE__ + 1;
    auto step_size = [&] { optim::StepLR(opt, 0); };
    CHECK(error_of<ValueError>(step_size) ==
          "StepLR: step_size must be positive, got 0" + here(line));
    line = __LINE__ + 1;
    auto t_max = [&] { optim::CosineAnnealingLR(opt, -3); };
    CHECK(error_of<ValueError>(t_max) ==
          "CosineAnnealingLR: T_max must be positive, got -3" + here(line));
    line = __LINE__ + 1;
    auto start = [&] { optim::LinearLR(opt, 0.0); };
    CHECK(error_of<ValueError>(start) ==
          "LinearLR: start_factor must be in (0, 1], got 0" + here(line));
    line = __LINE__ + 1;
    auto end = [&] { optim::LinearLR(opt, 0.5, 1.5); };
    CHECK(error_of<ValueError>(end) ==
          "LinearLR: end_factor must be in [0, 1], got 1.5" + here(line));
    line = __LINE__ + 1;
    auto iters = [&] { optim::LinearLR(opt, 0.5, 1.0, 0); };
    CHECK(error_of<ValueError>(iters) ==
          "LinearLR: total_iters must be positive, got 0" + here(line));
    CHECK(opt.param_groups()[0].options().get_lr() == 0.1);  // refused schedulers set nothing
}

}  // namespace kiln::test
