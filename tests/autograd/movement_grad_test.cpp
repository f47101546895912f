// Gradients of movement ops (views and joins): reshape/view, permute/transpose/t, expand,
// unsqueeze/squeeze, flatten, slice with steps and negative bounds, narrow, flip, cat, stack,
// contiguous/clone, and chains of them, against finite differences; second order for
// compositions that are not linear.
#include "autograd/gradcheck.h"

namespace kiln::test {
namespace {

using T = const std::vector<Tensor>&;

struct Case {
    std::string name;
    std::function<Tensor(const Tensor&)> f;
    Shape shape;
};

void run_unary(const std::vector<Case>& cases, bool second_order = false) {
    for (const Case& c : cases) {
        Tensor x = uniform(c.shape, kFloat64, -2, 2);
        std::string what = c.name + " " + desc(x);
        auto f = [&](T in) { return c.f(in[0]); };
        gradcheck(what, f, {x});
        if (second_order) gradgradcheck(what, f, {x});
    }
}

}  // namespace

TEST_CASE("reshape, view and flatten gradients", "[autograd][movement]") {
    run_unary({
        {"reshape {4,6}",
         [](const Tensor& x) {
             return x.reshape({4, 6});
         },
         {2, 3, 4}},
        {"reshape {-1}", [](const Tensor& x) { return x.reshape({-1}); }, {2, 3, 4}},
        {"reshape {1,-1,1,2}",
         [](const Tensor& x) {
             return x.reshape({1, -1, 1, 2});
         },
         {2, 3, 4}},
        {"reshape {} -> {1}", [](const Tensor& x) { return x.reshape({1}); }, {}},
        {"reshape {1} -> {}", [](const Tensor& x) { return x.reshape({}); }, {1}},
        {"reshape {5} -> {5,1}",
         [](const Tensor& x) {
             return x.reshape({5, 1});
         },
         {5}},
        {"view {6,4}",
         [](const Tensor& x) {
             return x.view({6, 4});
         },
         {2, 3, 4}},
        {"view {3,-1}",
         [](const Tensor& x) {
             return x.view({3, -1});
         },
         {3, 1, 4}},
        {"permute then reshape",
         [](const Tensor& x) {
             return x.permute({2, 0, 1}).reshape({4, 6});
         },
         {2, 3, 4}},
        {"flatten()", [](const Tensor& x) { return x.flatten(); }, {2, 3, 4}},
        {"flatten(1)", [](const Tensor& x) { return x.flatten(1); }, {2, 3, 4}},
        {"flatten(0, 1)", [](const Tensor& x) { return x.flatten(0, 1); }, {2, 3, 4}},
        {"flatten() of a scalar", [](const Tensor& x) { return x.flatten(); }, {}},
        {"transpose then flatten",
         [](const Tensor& x) { return x.transpose(0, 2).flatten(); },
         {2, 3, 4}},
    });
}

TEST_CASE("permute, transpose and t gradients", "[autograd][movement]") {
    run_unary({
        {"permute {2,0,1}",
         [](const Tensor& x) {
             return x.permute({2, 0, 1});
         },
         {2, 3, 4}},
        {"permute {1,0,2}",
         [](const Tensor& x) {
             return x.permute({1, 0, 2});
         },
         {2, 3, 4}},
        {"permute {-1,1,0}",
         [](const Tensor& x) {
             return x.permute({-1, 1, 0});
         },
         {3, 1, 4}},
        {"permute {} of a scalar", [](const Tensor& x) { return x.permute({}); }, {}},
        {"transpose(0, 2)", [](const Tensor& x) { return x.transpose(0, 2); }, {2, 3, 4}},
        {"transpose(-1, -2)", [](const Tensor& x) { return x.transpose(-1, -2); }, {2, 3, 4}},
        {"transpose(1, 1)", [](const Tensor& x) { return x.transpose(1, 1); }, {2, 3}},
        {"t() 2-D", [](const Tensor& x) { return x.t(); }, {2, 3}},
        {"t() 1-D", [](const Tensor& x) { return x.t(); }, {5}},
        {"t() 0-D", [](const Tensor& x) { return x.t(); }, {}},
        {"t().t()", [](const Tensor& x) { return x.t().t(); }, {3, 4}},
    });
}

TEST_CASE("expand gradients sum over the broadcast dims", "[autograd][movement]") {
    run_unary({
        {"expand {3,1} -> {3,4}",
         [](const Tensor& x) {
             return x.expand({3, 4});
         },
         {3, 1}},
        {"expand {1} -> {5}", [](const Tensor& x) { return x.expand({5}); }, {1}},
        {"expand {} -> {2,3}",
         [](const Tensor& x) {
             return x.expand({2, 3});
         },
         {}},
        {"expand {5} -> {2,3,5} (leading dims)",
         [](const Tensor& x) {
             return x.expand({2, 3, 5});
         },
         {5}},
        {"expand {3,1,4} -> {2,3,5,4}",
         [](const Tensor& x) {
             return x.expand({2, 3, 5, 4});
         },
         {3, 1, 4}},
        {"expand {3,1,4} -> {-1,2,-1}",
         [](const Tensor& x) {
             return x.expand({-1, 2, -1});
         },
         {3, 1, 4}},
        {"expand to the same shape",
         [](const Tensor& x) {
             return x.expand({2, 3});
         },
         {2, 3}},
        {"unsqueeze then expand",
         [](const Tensor& x) {
             return x.unsqueeze(1).expand({2, 4, 3});
         },
         {2, 3}},
    });
}

TEST_CASE("unsqueeze and squeeze gradients", "[autograd][movement]") {
    run_unary({
        {"unsqueeze(0)", [](const Tensor& x) { return x.unsqueeze(0); }, {2, 3}},
        {"unsqueeze(-1)", [](const Tensor& x) { return x.unsqueeze(-1); }, {2, 3}},
        {"unsqueeze(1)", [](const Tensor& x) { return x.unsqueeze(1); }, {2, 3}},
        {"unsqueeze(0) of a scalar", [](const Tensor& x) { return x.unsqueeze(0); }, {}},
        {"squeeze(1)", [](const Tensor& x) { return x.squeeze(1); }, {3, 1, 4}},
        {"squeeze(-2)", [](const Tensor& x) { return x.squeeze(-2); }, {3, 1, 4}},
        {"squeeze(0) of a non-1 dim", [](const Tensor& x) { return x.squeeze(0); }, {3, 1, 4}},
        {"squeeze()", [](const Tensor& x) { return x.squeeze(); }, {1, 3, 1, 2, 1}},
        {"squeeze() of {1}", [](const Tensor& x) { return x.squeeze(); }, {1}},
        {"unsqueeze then squeeze",
         [](const Tensor& x) { return x.unsqueeze(2).squeeze(2); },
         {2, 3}},
    });
}

TEST_CASE("slice and narrow gradients, with steps and negative bounds", "[autograd][movement]") {
    run_unary({
        {"slice(0, 1, 4)", [](const Tensor& x) { return x.slice(0, 1, 4); }, {5, 4}},
        {"slice(0, 0, 5, 2)", [](const Tensor& x) { return x.slice(0, 0, 5, 2); }, {5, 4}},
        {"slice(0, 1, 5, 2)", [](const Tensor& x) { return x.slice(0, 1, 5, 2); }, {5, 4}},
        {"slice(0, 0, 5, 3)", [](const Tensor& x) { return x.slice(0, 0, 5, 3); }, {5, 4}},
        {"slice(0, 1, 5, 3)", [](const Tensor& x) { return x.slice(0, 1, 5, 3); }, {5, 4}},
        {"slice(0, 2, 5, 3)", [](const Tensor& x) { return x.slice(0, 2, 5, 3); }, {5, 4}},
        {"slice(1, 1, 4, 2)", [](const Tensor& x) { return x.slice(1, 1, 4, 2); }, {5, 4}},
        {"slice(1, 0, 4, 3)", [](const Tensor& x) { return x.slice(1, 0, 4, 3); }, {5, 4}},
        {"slice(0, -4, -1)", [](const Tensor& x) { return x.slice(0, -4, -1); }, {5, 4}},
        {"slice(-1, -3, 4, 2)", [](const Tensor& x) { return x.slice(-1, -3, 4, 2); }, {5, 4}},
        {"slice(0, -5, -1, 3)", [](const Tensor& x) { return x.slice(0, -5, -1, 3); }, {5, 4}},
        {"slice(0, 2, 100) past the end",
         [](const Tensor& x) { return x.slice(0, 2, 100); },
         {5, 4}},
        {"slice(0, -100, 2) before the start",
         [](const Tensor& x) { return x.slice(0, -100, 2); },
         {5, 4}},
        {"slice(0, 3, 3) empty", [](const Tensor& x) { return x.slice(0, 3, 3); }, {5, 4}},
        {"slice of everything", [](const Tensor& x) { return x.slice(1, 0, 4); }, {5, 4}},
        {"slice(1, 0, 3, 2) middle dim",
         [](const Tensor& x) { return x.slice(1, 0, 3, 2); },
         {2, 3, 4}},
        {"slice(-1, 1, 4, 2) 1-D", [](const Tensor& x) { return x.slice(-1, 1, 4, 2); }, {5}},
        {"slices of two dims",
         [](const Tensor& x) { return x.slice(0, 1, 5, 2).slice(1, -3, 4, 2); },
         {5, 4}},
        {"slice of a slice",
         [](const Tensor& x) { return x.slice(0, 1, 5, 2).slice(0, 1, 2); },
         {5, 4}},
        {"narrow(0, 1, 2)", [](const Tensor& x) { return x.narrow(0, 1, 2); }, {5, 4}},
        {"narrow(-1, -3, 2)", [](const Tensor& x) { return x.narrow(-1, -3, 2); }, {5, 4}},
        {"narrow(2, 1, 3)", [](const Tensor& x) { return x.narrow(2, 1, 3); }, {3, 1, 4}},
        {"narrow(1, 2, 0) empty", [](const Tensor& x) { return x.narrow(1, 2, 0); }, {2, 3}},
    });
}

TEST_CASE("unfold gradients: overlapping, disjoint and gapped windows", "[autograd][movement]") {
    run_unary({
        {"unfold(1, 3, 1) overlapping", [](const Tensor& x) { return x.unfold(1, 3, 1); }, {2, 5}},
        {"unfold(0, 2, 2) disjoint", [](const Tensor& x) { return x.unfold(0, 2, 2); }, {4, 3}},
        {"unfold(-1, 2, 3) gaps", [](const Tensor& x) { return x.unfold(-1, 2, 3); }, {2, 3, 7}},
    });
}

TEST_CASE("flip gradients", "[autograd][movement]") {
    run_unary({
        {"flip {0}", [](const Tensor& x) { return x.flip({0}); }, {2, 3, 4}},
        {"flip {-1}", [](const Tensor& x) { return x.flip({-1}); }, {2, 3, 4}},
        {"flip {0,1}",
         [](const Tensor& x) {
             return x.flip({0, 1});
         },
         {2, 3, 4}},
        {"flip {0,2}",
         [](const Tensor& x) {
             return x.flip({0, 2});
         },
         {2, 3, 4}},
        {"flip {} (none)", [](const Tensor& x) { return x.flip({}); }, {2, 3}},
        {"flip {0} 1-D", [](const Tensor& x) { return x.flip({0}); }, {5}},
        {"flip {1} of a size-1 dim", [](const Tensor& x) { return x.flip({1}); }, {3, 1, 4}},
        {"flip twice", [](const Tensor& x) { return x.flip({1}).flip({1}); }, {2, 3}},
    });
}

TEST_CASE("contiguous and clone pass gradients through", "[autograd][movement]") {
    run_unary({
        {"contiguous", [](const Tensor& x) { return x.contiguous(); }, {2, 3}},
        {"clone", [](const Tensor& x) { return x.clone(); }, {5}},
        {"contiguous of a permute",
         [](const Tensor& x) {
             return x.permute({1, 2, 0}).contiguous();
         },
         {2, 3, 4}},
        {"clone of a strided slice",
         [](const Tensor& x) { return x.slice(0, 0, 5, 2).clone(); },
         {5, 4}},
        {"clone of a scalar", [](const Tensor& x) { return x.clone(); }, {}},
    });
}

TEST_CASE("cat gradients, several inputs, dims 0, 1 and -1", "[autograd][movement]") {
    struct CatCase {
        std::string name;
        std::vector<Shape> shapes;
        int64_t dim;
    };
    const std::vector<CatCase> cases = {
        {"cat dim 0", {{2, 3}, {1, 3}, {3, 3}}, 0},
        {"cat dim 1", {{2, 1}, {2, 3}, {2, 2}}, 1},
        {"cat dim -1", {{2, 3, 1}, {2, 3, 2}}, -1},
        {"cat dim 1 of 3-D", {{2, 1, 4}, {2, 2, 4}, {2, 1, 4}, {2, 3, 4}}, 1},
        {"cat 1-D", {{1}, {5}, {2}}, 0},
        {"cat with an empty input", {{2, 3}, {0, 3}, {1, 3}}, 0},
        {"cat of one input", {{2, 3}}, 1},
    };
    for (const CatCase& c : cases) {
        std::vector<Tensor> inputs;
        std::string what = c.name;
        for (const Shape& s : c.shapes) {
            inputs.push_back(uniform(s, kFloat64, -2, 2));
            what += " " + desc(inputs.back());
        }
        int64_t dim = c.dim;
        gradcheck(
            what, [dim](T in) { return kiln::cat(in, dim); }, inputs);
    }
    // The same tensor joined more than once: its gradients add up.
    Tensor a = uniform({2, 3}, kFloat64, -2, 2);
    Tensor b = uniform({1, 3}, kFloat64, -2, 2);
    gradcheck("cat {a, b, a, a.flip(0)}",
              [](T in) {
                  return kiln::cat({in[0], in[1], in[0], in[0].flip({0})}, 0);
              },
              {a, b});
    gradcheck("cat {a, a.t().t()} dim 1",
              [](T in) {
                  return kiln::cat({in[0], in[0].t().t()}, 1);
              },
              {a});
    // Nonlinear around the cat, second order.
    auto nonlinear = [](T in) {
        Tensor c = kiln::cat({in[0] * in[0], in[1].exp(), in[0].slice(0, 1, 2)}, 0);
        return c * c.flip({0});
    };
    gradcheck("cat of nonlinear parts, times its flip", nonlinear, {a, b});
    gradgradcheck("cat of nonlinear parts, times its flip", nonlinear, {a, b});
}

TEST_CASE("stack gradients over dims 0, 1 and -1", "[autograd][movement]") {
    for (int64_t dim : {0, 1, -1, 2}) {
        std::vector<Tensor> inputs;
        for (int i = 0; i < 3; ++i) inputs.push_back(uniform({2, 3}, kFloat64, -2, 2));
        gradcheck(
            "stack 3 x f64[2,3] dim " + std::to_string(dim),
            [dim](T in) { return kiln::stack(in, dim); }, inputs);
    }
    std::vector<Tensor> scalars;
    for (int i = 0; i < 4; ++i) scalars.push_back(uniform({}, kFloat64, -2, 2));
    gradcheck(
        "stack 4 scalars", [](T in) { return kiln::stack(in); }, scalars);
    Tensor v = uniform({4}, kFloat64, -2, 2);
    Tensor w = uniform({4}, kFloat64, -2, 2);
    gradcheck("stack {v, w, v} dim 1",
              [](T in) {
                  return kiln::stack({in[0], in[1], in[0]}, 1);
              },
              {v, w});
    auto nonlinear = [](T in) { return kiln::stack({in[0] * in[1], in[0].sin()}, -1).pow(2); };
    gradcheck("stack of products, squared", nonlinear, {v, w});
    gradgradcheck("stack of products, squared", nonlinear, {v, w});
}

TEST_CASE("chains of views", "[autograd][movement]") {
    run_unary({
        {"t().slice(0,1,3).flip({0}).reshape({6})",
         [](const Tensor& x) { return x.t().slice(0, 1, 3).flip({0}).reshape({6}); },
         {3, 4}},
        {"t().slice(0,1,4,2).flip({0,1}).reshape({3,2})",
         [](const Tensor& x) {
             return x.t().slice(0, 1, 4, 2).flip({0, 1}).reshape({3, 2});
         },
         {3, 4}},
        {"permute.slice(step 3).unsqueeze.expand.flatten",
         [](const Tensor& x) {
             return x.permute({2, 0, 1})
                 .slice(0, 0, 4, 3)
                 .unsqueeze(1)
                 .expand({2, 3, 2, 3})
                 .flatten(1);
         },
         {2, 3, 4}},
        {"expand.slice.flip.transpose",
         [](const Tensor& x) {
             return x.expand({2, 3, 5, 4}).slice(2, -4, 5, 2).flip({0, 3}).transpose(1, 3);
         },
         {3, 1, 4}},
        {"narrow.reshape.t.narrow",
         [](const Tensor& x) {
             return x.narrow(0, 1, 4).reshape({2, 8}).t().narrow(0, 2, 5);
         },
         {5, 4}},
        {"squeeze.flip.unsqueeze.permute",
         [](const Tensor& x) {
             return x.squeeze(1).flip({1}).unsqueeze(0).permute({2, 0, 1});
         },
         {3, 1, 4}},
    });
    // A view used twice: both uses add into the same gradient.
    run_unary({
        {"x.t() + x.t().flip({1})",
         [](const Tensor& x) { return x.t() + x.t().flip({1}); },
         {3, 4}},
        {"x.slice(0,0,4,2) + x.slice(0,1,4,2)",
         [](const Tensor& x) { return x.slice(0, 0, 4, 2) + x.slice(0, 1, 4, 2); },
         {4, 3}},
        {"v = x.t(); v + v.flip({0}) - v",
         [](const Tensor& x) {
             Tensor v = x.t();
             return v + v.flip({0}) - v * 2;
         },
         {2, 3}},
    });
    // Compositions with products, so the second order is not zero.
    run_unary(
        {
            {"x.t() * x.t().flip({1})",
             [](const Tensor& x) { return x.t() * x.t().flip({1}); },
             {3, 4}},
            {"slice * narrow",
             [](const Tensor& x) { return x.slice(0, 0, 5, 2) * x.narrow(0, 1, 3); },
             {5, 4}},
            {"expand * permute",
             [](const Tensor& x) {
                 return x.expand({3, 3, 4}) * x.permute({1, 0, 2}).expand({3, 3, 4}).flip({0});
             },
             {3, 1, 4}},
            {"reshape(x)^2 .t().slice step 2",
             [](const Tensor& x) {
                 return (x.reshape({4, 6}) * x.reshape({4, 6})).t().slice(0, 1, 6, 2);
             },
             {2, 3, 4}},
            {"exp(flip(x)) * x",
             [](const Tensor& x) {
                 return x.flip({0, 1}).exp() * x;
             },
             {2, 3}},
        },
        true);
}

}  // namespace kiln::test
