// Saving and restoring optimizer state: the documented keys, snapshots, an exact resume, and
// exact errors for every kind of mismatch, after which the optimizer is unchanged.
#include "optim/optim_test.h"

namespace kiln::test {
namespace {

namespace F = kiln::nn::functional;
using State = std::map<std::string, Tensor>;

std::string here(int line) { return at(__FILE__, line); }

std::vector<std::string> keys_of(const State& s) {
    std::vector<std::string> k;
    for (const auto& [key, t] : s) k.push_back(key);
    return k;
}

/// A linear layer [3, 4] + [3] on fixed random data, its parameters in float64.
struct Model {
    Tensor w, b, x, y;
    Model() {
        std::mt19937 gen(2);
        w = param(normal_values(gen, 12, 0.5), {3, 4});
        b = param(normal_values(gen, 3, 0.1), {3});
        x = kiln::tensor(normal_values(gen, 32), {8, 4}, kFloat64);
        y = kiln::tensor(normal_values(gen, 24), {8, 3}, kFloat64);
    }
    /// A model with these parameter values (new leaves).
    Model(const Values& wv, const Values& bv) : Model() {
        w = param(wv, {3, 4});
        b = param(bv, {3});
    }
    std::vector<Tensor> params() const { return {w, b}; }
    void backward() const { F::mse_loss(kiln::linear(x, w, b), y).backward(); }
};

void train(optim::Optimizer& opt, const Model& m, int steps, optim::LRScheduler* s = nullptr) {
    for (int i = 0; i < steps; ++i) {
        opt.zero_grad();
        m.backward();
        opt.step();
        if (s) s->step();
    }
}

/// An Adam over one f64 [2, 3] parameter after two steps, and its state.
struct AdamAfterTwoSteps {
    Tensor p = param({1, 2, 3, 4, 5, 6}, {2, 3});
    optim::Adam opt{{p}, optim::AdamOptions(0.1)};
    State state;
    AdamAfterTwoSteps() {
        for (int i = 0; i < 2; ++i) {
            set_grad(p, {1, -1, 2, -2, 3, -3});
            opt.step();
        }
        state = opt.state_dict();
    }
};

}  // namespace

TEST_CASE("state_dict: SGD's keys and values", "[optim][state_dict]") {
    Tensor a = param({1, 2}, {2}), b = param({3}, {1});
    optim::SGD opt({optim::OptimizerParamGroup({a}),
                    optim::OptimizerParamGroup(
                        {b}, optim::SGDOptions(0.5).nesterov(true).momentum(0.7).clone())},
                   optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01));
    State fresh = opt.state_dict();
    CHECK(fresh.count("state.0.momentum_buffer") == 0);  // no state before the first step
    set_grad(a, {1, 1});
    set_grad(b, {2});
    opt.step();
    State s = opt.state_dict();
    CHECK(keys_of(s) ==
          std::vector<std::string>{
              "param_groups.0.dampening", "param_groups.0.lr", "param_groups.0.momentum",
              "param_groups.0.nesterov", "param_groups.0.params", "param_groups.0.weight_decay",
              "param_groups.1.dampening", "param_groups.1.lr", "param_groups.1.momentum",
              "param_groups.1.nesterov", "param_groups.1.params", "param_groups.1.weight_decay",
              "state.0.momentum_buffer", "state.1.momentum_buffer"});
    CHECK(s.at("param_groups.0.params").to_vector<int64_t>() == std::vector<int64_t>{0});
    CHECK(s.at("param_groups.1.params").to_vector<int64_t>() == std::vector<int64_t>{1});
    CHECK(s.at("param_groups.0.lr").dim() == 0);
    CHECK(s.at("param_groups.0.lr").item<double>() == 0.1);
    CHECK(s.at("param_groups.0.momentum").item<double>() == 0.9);
    CHECK(s.at("param_groups.0.dampening").item<double>() == 0.1);
    CHECK(s.at("param_groups.0.weight_decay").item<double>() == 0.01);
    CHECK(s.at("param_groups.0.nesterov").item<double>() == 0);
    CHECK(s.at("param_groups.1.nesterov").item<double>() == 1);
    CHECK(s.at("param_groups.1.lr").item<double>() == 0.5);
    // The first buffer is the gradient (with weight decay): 1 + 0.01 * p.
    CHECK(values_of(s.at("state.0.momentum_buffer")) == Values{1 + 0.01 * 1, 1 + 0.01 * 2});
    CHECK(values_of(s.at("state.1.momentum_buffer")) == Values{2});
}

TEST_CASE("state_dict: Adam's keys; buffers typed like their parameter", "[optim][state_dict]") {
    Tensor p = param({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat32);
    optim::Adam opt({p}, optim::AdamOptions(0.1).amsgrad(true));
    set_grad(p, {1, 1, 1, 1, 1, 1});
    opt.step();
    State s = opt.state_dict();
    CHECK(keys_of(s) == std::vector<std::string>{"param_groups.0.amsgrad", "param_groups.0.beta1",
                                                 "param_groups.0.beta2", "param_groups.0.eps",
                                                 "param_groups.0.lr", "param_groups.0.params",
                                                 "param_groups.0.weight_decay", "state.0.exp_avg",
                                                 "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                                                 "state.0.step"});
    for (const char* k : {"state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq"}) {
        CHECK(s.at(k).dtype() == kFloat32);
        CHECK(s.at(k).sizes() == std::vector<int64_t>{2, 3});
    }
    CHECK(s.at("state.0.step").dtype() == kFloat64);
    CHECK(s.at("state.0.step").dim() == 0);
    CHECK(s.at("state.0.step").item<double>() == 1);
    CHECK(s.at("param_groups.0.amsgrad").item<double>() == 1);
    CHECK(s.at("param_groups.0.beta2").item<double>() == 0.999);
}

TEST_CASE("state_dict: the tensors are snapshots", "[optim][state_dict]") {
    AdamAfterTwoSteps a;
    Values before = values_of(a.state.at("state.0.exp_avg"));
    set_grad(a.p, {5, 5, 5, 5, 5, 5});
    a.opt.step();
    CHECK(values_of(a.state.at("state.0.exp_avg")) == before);
    CHECK(a.state.at("state.0.step").item<double>() == 2);
    CHECK(a.opt.state_dict().at("state.0.step").item<double>() == 3);
}

TEST_CASE("load_state_dict: a resumed run takes exactly the same step", "[optim][state_dict]") {
    using Make = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
    std::vector<std::pair<const char*, Make>> cases{
        {"SGD",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::SGD>(
                 p, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
         }},
        {"Adam",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::Adam>(
                 p, optim::AdamOptions(0.05).amsgrad(true).weight_decay(0.01));
         }},
        {"AdamW",
         [](std::vector<Tensor> p) {
             return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(0.05));
         }},
    };
    for (const auto& [name, make] : cases) {
        INFO(name);
        Model m;
        std::unique_ptr<optim::Optimizer> opt = make(m.params());
        optim::StepLR schedule(*opt, 2, 0.5);  // the saved lr is not the constructor's
        train(*opt, m, 3, &schedule);
        State saved = opt->state_dict();
        Values w = values_of(m.w), b = values_of(m.b);
        train(*opt, m, 1);
        Values want_w = values_of(m.w), want_b = values_of(m.b);

        Model resumed(w, b);
        std::unique_ptr<optim::Optimizer> again = make(resumed.params());
        double constructed = again->param_groups()[0].options().get_lr();
        again->load_state_dict(saved);
        double lr = again->param_groups()[0].options().get_lr();
        CHECK(lr == saved.at("param_groups.0.lr").item<double>());
        CHECK(lr == constructed / 2);  // the schedule's, at t = 3
        Stats before = stats();
        train(*again, resumed, 1);
        CHECK(stats().program_cache_misses == before.program_cache_misses);  // the same program
        CHECK(values_of(resumed.w) == want_w);
        CHECK(values_of(resumed.b) == want_b);
    }
}

TEST_CASE("load_state_dict: the loaded tensors are copied", "[optim][state_dict]") {
    AdamAfterTwoSteps a;
    State s = a.state;
    AdamAfterTwoSteps b;
    b.opt.load_state_dict(s);
    Values before = values_of(b.opt.state_dict().at("state.0.exp_avg"));
    s["state.0.exp_avg"] = kiln::zeros({2, 3}, kFloat64);
    CHECK(values_of(b.opt.state_dict().at("state.0.exp_avg")) == before);
}

TEST_CASE("load_state_dict: a parameter without entries starts afresh", "[optim][state_dict]") {
    AdamAfterTwoSteps a;
    State s = a.state;
    for (const char* k : {"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"}) s.erase(k);
    a.opt.load_state_dict(s);
    CHECK(a.opt.state_dict().count("state.0.step") == 0);
    Values p0 = values_of(a.p);
    set_grad(a.p, {1, 1, 1, 1, 1, 1});
    a.opt.step();  // a first Adam step: every element moves by lr (0.1)
    Values p1 = values_of(a.p);
    for (size_t i = 0; i < p0.size(); ++i) CHECK(std::abs(p0[i] - p1[i] - 0.1) < 1e-6);
}

TEST_CASE("load_state_dict: mismatches are exact errors", "[optim][state_dict][errors]") {
    AdamAfterTwoSteps a;
    const int call = __LINE__ + 2;  // the line of load_state_dict, which messages name
    auto load = [&](const State& s) {
        return error_of<ValueError>([&] { a.opt.load_state_dict(s); });
    };
    const std::string site = here(call);
    const std::string op = "Adam::load_state_dict: ";

    State s = a.state;
    s.erase("state.0.exp_avg_sq");
    CHECK(load(s) == op + "missing key \"state.0.exp_avg_sq\"" + site);

    s = a.state;
    s.erase("param_groups.0.eps");
    CHECK(load(s) == op + "missing key \"param_groups.0.eps\"" + site);

    s = a.state;
    s["state.0.momentum_buffer"] = kiln::zeros({2, 3}, kFloat64);
    CHECK(load(s) == op + "unexpected key \"state.0.momentum_buffer\"" + site);

    s = a.state;
    s["state.0.max_exp_avg_sq"] = kiln::zeros({2, 3}, kFloat64);  // amsgrad is off
    CHECK(load(s) == op + "unexpected key \"state.0.max_exp_avg_sq\"" + site);

    s = a.state;
    s["state.1.exp_avg"] = kiln::zeros({2, 3}, kFloat64);  // there is no parameter 1
    CHECK(load(s) == op + "unexpected key \"state.1.exp_avg\"" + site);

    s = a.state;
    s["param_groups.1.lr"] = kiln::zeros({}, kFloat64);
    CHECK(load(s) == op + "unexpected key \"param_groups.1.lr\"" + site);

    s = a.state;
    s["state.0.exp_avg"] = kiln::zeros({3, 2}, kFloat64);
    CHECK(load(s) ==
          op + "\"state.0.exp_avg\" is f64[3,2] but the optimizer expects f64[2,3]" + site);

    s = a.state;
    s["state.0.exp_avg_sq"] = kiln::zeros({2, 3}, kFloat32);
    CHECK(load(s) ==
          op + "\"state.0.exp_avg_sq\" is f32[2,3] but the optimizer expects f64[2,3]" + site);

    s = a.state;
    s["state.0.step"] = kiln::tensor(std::vector<float>{2}, {});
    CHECK(load(s) == op + "\"state.0.step\" is f32[] but the optimizer expects f64[]" + site);

    s = a.state;
    s["param_groups.0.lr"] = kiln::tensor(std::vector<double>{0.1}, {1});
    CHECK(load(s) == op + "\"param_groups.0.lr\" is f64[1] but the optimizer expects f64[]" + site);

    s = a.state;
    s["param_groups.0.params"] = kiln::tensor(std::vector<int64_t>{0, 1}, {2});
    CHECK(load(s) ==
          op + "\"param_groups.0.params\" is i64[2] but the optimizer expects i64[1]" + site);

    s = a.state;
    s["param_groups.0.params"] = kiln::tensor(std::vector<int64_t>{3}, {1});
    CHECK(load(s) == op +
                         "\"param_groups.0.params\" holds parameters [3] but parameter "
                         "group 0 of the optimizer holds [0]" +
                         site);

    s = a.state;
    s["state.0.exp_avg"] = Tensor();
    CHECK(load(s) == op + "\"state.0.exp_avg\" is an undefined tensor" + site);

    s = a.state;
    s["state.0.step"] = kiln::tensor(std::vector<double>{1.5}, {});
    CHECK(load(s) ==
          op + "\"state.0.step\" must hold a whole number of steps >= 0, got 1.5" + site);

    s = a.state;
    s["param_groups.0.beta1"] = kiln::tensor(std::vector<double>{1.0}, {});
    CHECK(load(s) ==
          "Adam: beta1 must be in [0, 1), got 1 in \"param_groups.0\" of the state dict" + site);

    // Another optimizer's state: the first option it lacks.
    Tensor q = param({1}, {1});
    optim::SGD sgd({q}, 0.1);
    State other = sgd.state_dict();
    other.erase("param_groups.0.params");
    other["param_groups.0.params"] = kiln::tensor(std::vector<int64_t>{0}, {1});
    CHECK(load(other) == op + "missing key \"param_groups.0.beta1\"" + site);
}

TEST_CASE("load_state_dict: a failed load changes nothing", "[optim][state_dict][errors]") {
    AdamAfterTwoSteps a, reference;
    State bad = a.state;
    bad["param_groups.0.lr"] = kiln::tensor(std::vector<double>{0.5}, {});  // fine by itself
    bad["state.0.step"] = kiln::tensor(std::vector<double>{7}, {});         // fine by itself
    bad["state.0.exp_avg"] = kiln::zeros({2, 3}, kFloat64);                 // fine by itself
    bad["state.0.exp_avg_sq"] = kiln::zeros({6}, kFloat64);                 // the mismatch
    CHECK_THROWS_AS(a.opt.load_state_dict(bad), ValueError);
    CHECK(a.opt.param_groups()[0].options().get_lr() == 0.1);
    State after = a.opt.state_dict();
    CHECK(after.at("state.0.step").item<double>() == 2);
    CHECK(values_of(after.at("state.0.exp_avg")) == values_of(a.state.at("state.0.exp_avg")));
    // And the next step is the one an untouched optimizer takes.
    for (AdamAfterTwoSteps* x : {&a, &reference}) {
        set_grad(x->p, {1, 2, 3, 4, 5, 6});
        x->opt.step();
    }
    CHECK(values_of(a.p) == values_of(reference.p));
}

}  // namespace kiln::test
