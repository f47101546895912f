// Parameter groups (each with its own options, or the defaults), zero_grad, and parameters
// without a gradient, which step() skips as PyTorch does.
#include "frontend/tensor_impl.h"
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

Tensor random_param(std::mt19937& gen, std::vector<int64_t> shape, DType dtype = kFloat64) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return param(normal_values(gen, static_cast<size_t>(n)), std::move(shape), dtype);
}

}  // namespace

TEST_CASE("param groups: each group steps with its own options", "[optim][groups]") {
    std::mt19937 gen(21);
    Tensor a = random_param(gen, {2, 3}), b = random_param(gen, {3}), c = random_param(gen, {4});
    std::vector<optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<Tensor>{a, b});  // takes the defaults
    groups.emplace_back(std::vector<Tensor>{c},
                        std::make_unique<optim::SGDOptions>(
                            optim::SGDOptions(0.5).momentum(0.5).weight_decay(0.1)));
    optim::SGD opt(groups, optim::SGDOptions(0.1).momentum(0.9));
    REQUIRE(opt.param_groups().size() == 2);
    CHECK(opt.param_groups()[0].options().get_lr() == 0.1);
    CHECK(opt.param_groups()[1].options().get_lr() == 0.5);
    CHECK(opt.size() == 3);
    // The optimizer holds its own copy of the options.
    CHECK(groups[1].options().get_lr() == 0.5);
    opt.param_groups()[1].options().set_lr(0.25);
    CHECK(groups[1].options().get_lr() == 0.5);

    SgdRef defaults{0.1, 0.9}, own{0.25, 0.5, 0, 0.1};
    check_against(opt, {a, b, c}, std::vector<SgdRef>{defaults, defaults, own}, 5, 1e-12, gen);
}

TEST_CASE("param groups: Adam groups with different lrs, one changed mid-way",
          "[optim][groups][adam]") {
    std::mt19937 gen(22);
    Tensor a = random_param(gen, {5}), b = random_param(gen, {2, 2});
    optim::Adam opt({optim::OptimizerParamGroup({a}),
                     optim::OptimizerParamGroup({b}, std::make_unique<optim::AdamOptions>(
                                                         optim::AdamOptions(0.05).amsgrad(true)))},
                    optim::AdamOptions(0.01));
    AdamRef ra, rb;
    ra.lr = 0.01;
    rb.lr = 0.05, rb.amsgrad = true;
    check_against<AdamRef>(opt, {a, b}, {ra, rb}, 6, 1e-12, gen,
                           [&](int s, std::vector<AdamRef>& refs) {
                               if (s != 3) return;
                               opt.param_groups()[1].options().set_lr(0.02);
                               refs[1].lr = 0.02;
                           });
}

TEST_CASE("add_param_group: a group added later starts its own state", "[optim][groups]") {
    std::mt19937 gen(23);
    Tensor a = random_param(gen, {3}), b = random_param(gen, {3});
    optim::SGD opt({a}, optim::SGDOptions(0.1).momentum(0.9));
    SgdRef ra{0.1, 0.9}, rb{0.3, 0.9};
    Values want_a = values_of(a), want_b = values_of(b);
    for (int s = 0; s < 5; ++s) {
        if (s == 2) {
            optim::SGDOptions options = optim::SGDOptions(0.3).momentum(0.9);
            opt.add_param_group(optim::OptimizerParamGroup({b}, options.clone()));
            REQUIRE(opt.param_groups().size() == 2);
        }
        Values ga = normal_values(gen, 3), gb = normal_values(gen, 3);
        set_grad(a, ga);
        ra.step(want_a, ga);
        set_grad(b, gb);  // b has a gradient from the start, but no group before step 3
        if (s >= 2) rb.step(want_b, gb);
        opt.step();
        INFO("step " << s + 1);
        CHECK(max_rel_error(values_of(a), want_a) <= 1e-12);
        CHECK(max_rel_error(values_of(b), want_b) <= 1e-12);
    }
    // A group without options takes the defaults.
    Tensor c = random_param(gen, {1});
    opt.add_param_group(optim::OptimizerParamGroup({c}));
    CHECK(opt.param_groups()[2].options().get_lr() == 0.1);
    CHECK(opt.parameters().size() == 3);
    CHECK(opt.parameters()[2].impl() == c.impl());
}

TEST_CASE("zero_grad drops the gradients; zero_grad(false) zeroes them", "[optim][zero_grad]") {
    Tensor w = param({1.0, 2.0, 3.0}, {3});
    optim::SGD opt({w}, 0.1);
    (w * w).sum().backward();
    REQUIRE(w.grad().defined());
    Tensor held = w.grad();
    opt.zero_grad();
    CHECK(!w.grad().defined());
    CHECK(values_of(held) == Values{2.0, 4.0, 6.0});  // a handle taken before keeps its value

    (w * w).sum().backward();
    held = w.grad();
    opt.zero_grad(false);
    REQUIRE(w.grad().defined());
    CHECK(values_of(w.grad()) == Values{0.0, 0.0, 0.0});
    CHECK(values_of(held) == Values{0.0, 0.0, 0.0});  // in place, as PyTorch's zero_()
    (w * 3.0).sum().backward();                       // accumulates onto the zeros
    CHECK(values_of(w.grad()) == Values{3.0, 3.0, 3.0});
    opt.step();
    CHECK(max_rel_error(values_of(w), {0.7, 1.7, 2.7}) <= 1e-15);
}

TEST_CASE("without zero_grad gradients accumulate and step() uses the sum", "[optim][zero_grad]") {
    Tensor w = param({1.0, -1.0}, {2});
    optim::SGD opt({w}, 0.5);
    (w * 2.0).sum().backward();
    (w * 4.0).sum().backward();
    opt.step();
    CHECK(values_of(w) == Values{-2.0, -4.0});
}

TEST_CASE("step() skips parameters without a gradient", "[optim][skip]") {
    std::mt19937 gen(24);
    Tensor a = random_param(gen, {3}), b = random_param(gen, {2});
    Values b0 = values_of(b);
    auto node_of_b = b.impl()->node();

    SECTION("SGD: the parameter is untouched and gets no state") {
        optim::SGD opt({a, b}, optim::SGDOptions(0.1).momentum(0.9));
        set_grad(a, {1.0, 2.0, 3.0});
        opt.step();
        CHECK(values_of(b) == b0);
        CHECK(b.impl()->node() == node_of_b);  // not even recorded
        std::map<std::string, Tensor> state = opt.state_dict();
        CHECK(state.count("state.0.momentum_buffer") == 1);
        CHECK(state.count("state.1.momentum_buffer") == 0);
    }
    SECTION("Adam: a skipped step does not count for the bias corrections") {
        optim::Adam opt({a, b}, optim::AdamOptions(0.1));
        AdamRef ra, rb;
        ra.lr = rb.lr = 0.1;
        Values want_a = values_of(a), want_b = b0;
        for (int s = 0; s < 4; ++s) {
            Values ga = normal_values(gen, 3);
            set_grad(a, ga);
            ra.step(want_a, ga);
            if (s == 2) {  // b has a gradient at the third step only
                Values gb = normal_values(gen, 2);
                set_grad(b, gb);
                rb.step(want_b, gb);
            } else {
                b.mutable_grad() = Tensor();
            }
            opt.step();
            CHECK(max_rel_error(values_of(a), want_a) <= 1e-12);
            CHECK(max_rel_error(values_of(b), want_b) <= 1e-12);
        }
        std::map<std::string, Tensor> state = opt.state_dict();
        CHECK(state.at("state.0.step").item<double>() == 4);
        CHECK(state.at("state.1.step").item<double>() == 1);
    }
}

}  // namespace kiln::test
