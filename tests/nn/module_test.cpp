// kiln::nn::Module and holders: registration and the recursive named views, printing as
// PyTorch does, train/eval, zero_grad, in-place dtype moves, holder semantics and the exact
// errors of misuse.
#include <sstream>

#include <catch2/catch.hpp>

#include <kiln/kiln.h>
#include "error_of.h"

namespace nn = kiln::nn;
using kiln::Tensor;
using kiln::test::error_of;

namespace {


std::string at(int line) { return " at module_test.cpp:" + std::to_string(line); }

template <typename M>
std::string printed(const M& m) {
    std::ostringstream os;
    os << m;
    return os.str();
}

struct BlockImpl : nn::Module {
    BlockImpl() {
        fc = register_module("fc", nn::Linear(4, 3));
        scale = register_buffer("scale", kiln::ones({3}));
    }
    Tensor forward(const Tensor& x) { return fc(x) * scale; }
    nn::Linear fc{nullptr};
    Tensor scale;
};
KILN_MODULE(Block);

struct NetImpl : nn::Module {
    NetImpl()
        : body(register_module("body", nn::Sequential(Block(), nn::ReLU()))),
          head(register_module("head", nn::Linear(3, 2))) {
        offset = register_parameter("offset", kiln::zeros({2}));
    }
    Tensor forward(const Tensor& x) { return head(body(x)) + offset; }
    nn::Sequential body;
    nn::Linear head;
    Tensor offset;
};
KILN_MODULE(Net);

}  // namespace

TEST_CASE("parameters, buffers and children in registration order with dotted names", "[nn]") {
    Net net;
    std::vector<std::string> names = net->named_parameters().keys();
    CHECK(names == std::vector<std::string>{"offset", "body.0.fc.weight", "body.0.fc.bias",
                                            "head.weight", "head.bias"});
    CHECK(net->parameters().size() == 5);
    CHECK(net->parameters(false).size() == 1);
    CHECK(net->named_buffers().keys() == std::vector<std::string>{"body.0.scale"});
    CHECK(net->named_children().keys() == std::vector<std::string>{"body", "head"});
    CHECK(net->modules().size() == 6);  // net, body, block, fc, relu, head
    for (const Tensor& p : net->parameters()) {
        CHECK(p.requires_grad());
        CHECK(p.is_leaf());
    }
    CHECK_FALSE(net->buffers()[0].requires_grad());
    // The holder members are the registered tensors: an update in place shows through both.
    {
        kiln::NoGradGuard g;
        net->head->bias.fill_(2.5);
    }
    CHECK(net->named_parameters()["head.bias"].to_vector<float>() == std::vector<float>{2.5f, 2.5f});
    // forward through the holders
    Tensor y = net(kiln::ones({5, 4}));
    CHECK(y.sizes() == std::vector<int64_t>{5, 2});
}

TEST_CASE("modules print as a PyTorch tree", "[nn][print]") {
    nn::Sequential mlp(nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 10));
    CHECK(printed(mlp) ==
          "Sequential(\n"
          "  (0): Linear(in_features=784, out_features=512, bias=true)\n"
          "  (1): ReLU()\n"
          "  (2): Linear(in_features=512, out_features=10, bias=true)\n"
          ")");
    nn::Sequential cnn(nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)), nn::ReLU(),
                       nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(16, 32, {3, 1}).stride(2).bias(false)),
                       nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1)), nn::Flatten(),
                       nn::Dropout(0.25), nn::LayerNorm(std::vector<int64_t>{7}), nn::GELU(),
                       nn::GELU(nn::GELUOptions().approximate("tanh")), nn::Tanh(), nn::Sigmoid(),
                       nn::SiLU(), nn::Softmax(1));
    CHECK(printed(cnn) ==
          "Sequential(\n"
          "  (0): Conv2d(1, 16, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1])\n"
          "  (1): ReLU()\n"
          "  (2): MaxPool2d(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0])\n"
          "  (3): Conv2d(16, 32, kernel_size=[3, 1], stride=[2, 2], padding=[0, 0], bias=false)\n"
          "  (4): AvgPool2d(kernel_size=[3, 3], stride=[1, 1], padding=[1, 1])\n"
          "  (5): Flatten(start_dim=1, end_dim=-1)\n"
          "  (6): Dropout(p=0.25)\n"
          "  (7): LayerNorm([7], eps=1e-05, elementwise_affine=true)\n"
          "  (8): GELU()\n"
          "  (9): GELU(approximate=tanh)\n"
          "  (10): Tanh()\n"
          "  (11): Sigmoid()\n"
          "  (12): SiLU()\n"
          "  (13): Softmax(dim=1)\n"
          ")");
    Net net;
    CHECK(printed(net) ==
          "Net(\n"
          "  (body): Sequential(\n"
          "    (0): Block(\n"
          "      (fc): Linear(in_features=4, out_features=3, bias=true)\n"
          "    )\n"
          "    (1): ReLU()\n"
          "  )\n"
          "  (head): Linear(in_features=3, out_features=2, bias=true)\n"
          ")");
    CHECK(printed(nn::Embedding(10, 3)) == "Embedding(num_embeddings=10, embedding_dim=3)");
    CHECK(printed(nn::Linear(nn::LinearOptions(2, 3).bias(false))) ==
          "Linear(in_features=2, out_features=3, bias=false)");
}

TEST_CASE("train and eval reach every descendant; dropout follows them", "[nn]") {
    nn::Sequential seq(nn::Linear(8, 8), nn::Dropout(0.5));
    CHECK(seq->is_training());
    seq->eval();
    for (const auto& m : seq->modules()) CHECK_FALSE(m->is_training());
    Tensor x = kiln::ones({64, 8});
    Tensor lin = seq->ptr<nn::LinearImpl>(0)->forward(x);
    CHECK(seq(x).to_vector<float>() == lin.to_vector<float>());  // eval: dropout is the identity
    seq->train();
    for (const auto& m : seq->modules()) CHECK(m->is_training());
    std::vector<float> dropped = seq(x).to_vector<float>(), kept = lin.to_vector<float>();
    int zeros = 0;
    for (size_t i = 0; i < dropped.size(); ++i) {
        if (dropped[i] == 0 && kept[i] != 0) ++zeros;
        else CHECK(dropped[i] == Approx(2 * kept[i]));
    }
    CHECK(zeros > 100);  // of 512, about 256
    CHECK(zeros < 412);
}

TEST_CASE("zero_grad drops gradients or zeroes them", "[nn]") {
    nn::Linear lin(3, 2);
    lin(kiln::ones({4, 3})).sum().backward();
    CHECK(lin->weight.grad().defined());
    lin->zero_grad(false);
    CHECK(lin->weight.grad().to_vector<float>() == std::vector<float>(6, 0.0f));
    lin->zero_grad();
    CHECK_FALSE(lin->weight.grad().defined());
    CHECK_FALSE(lin->bias.grad().defined());
}

TEST_CASE("to(dtype) converts parameters in place; they stay trainable leaves", "[nn]") {
    nn::Linear lin(3, 2);
    std::vector<float> before = lin->weight.to_vector<float>();
    Tensor held = lin->weight;
    lin->to(kiln::kFloat64);
    CHECK(held.dtype() == kiln::kFloat64);
    CHECK(lin->named_parameters()["bias"].dtype() == kiln::kFloat64);
    std::vector<double> after = held.to_vector<double>();
    for (size_t i = 0; i < before.size(); ++i) CHECK(after[i] == double(before[i]));
    CHECK(held.is_leaf());
    CHECK(held.requires_grad());
    lin(kiln::ones({1, 3}, kiln::TensorOptions().dtype(kiln::kFloat64))).sum().backward();
    CHECK(held.grad().to_vector<double>() == std::vector<double>(6, 1.0));
    lin->to(kiln::kCPU);  // already there: nothing changes
    CHECK(held.dtype() == kiln::kFloat64);
    int line = __LINE__ + 1;
    std::string e = error_of([&] { lin->to(kiln::kInt32); });
    CHECK(e == "Module::to: modules convert to float dtypes only, got i32" + at(line));
}

TEST_CASE("holders: empty until assigned, calls forward, errors at the caller's line", "[nn]") {
    nn::Linear empty{nullptr};
    CHECK(empty.is_empty());
    CHECK_FALSE(static_cast<bool>(empty));
    CHECK(error_of([&] { empty->forward(kiln::ones({1, 1})); }) ==
          "nn: this kiln::nn::LinearImpl holder is empty (made from nullptr and never assigned a "
          "module)");
    empty = nn::Linear(2, 2);
    CHECK(empty(kiln::ones({3, 2})).sizes() == std::vector<int64_t>{3, 2});
    nn::Linear lin(5, 3);
    int line = __LINE__ + 1;
    std::string e = error_of([&] { lin(kiln::ones({2, 4})); });
    CHECK(e.starts_with("linear: "));
    CHECK(e.ends_with(at(line)));
    nn::Sequential seq(nn::Linear(5, 3), nn::ReLU());
    line = __LINE__ + 1;
    e = error_of([&] { seq(kiln::ones({2, 4})); });
    CHECK(e.ends_with(at(line)));
}

TEST_CASE("registration and option errors name the module and the value", "[nn][errors]") {
    struct M : nn::Module {
        M() : nn::Module("M") {}
        using nn::Module::register_buffer;
        using nn::Module::register_parameter;
    } m;
    m.register_parameter("w", kiln::zeros({2}));
    int line = __LINE__ + 1;
    CHECK(error_of([&] { m.register_buffer("w", kiln::zeros({2})); }) ==
          "register_buffer: 'w' is already registered in M" + at(line));
    line = __LINE__ + 1;
    CHECK(error_of([&] { m.register_parameter("a.b", kiln::zeros({2})); }) ==
          "register_parameter: the name 'a.b' must not contain '.'" + at(line));
    line = __LINE__ + 1;
    CHECK(error_of([&] { m.register_parameter("", kiln::zeros({2})); }) ==
          "register_parameter: the name must not be empty" + at(line));
    CHECK(error_of([] { nn::Conv2d(nn::Conv2dOptions(3, 4, 3).groups(2)); }) ==
          "Conv2d: in_channels=3 and out_channels=4 must be divisible by groups=2");
    CHECK(error_of([] { nn::Linear(-1, 3); }) == "Linear: in_features must be >= 0, got -1");
    CHECK(error_of([] { nn::Dropout(1.5); }) == "Dropout: p must be in [0, 1], got 1.5");
    CHECK(error_of([] { nn::Conv2dOptions(1, 2, {3, 3, 3}); }) == "expected 2 values, got 3");
    CHECK(error_of([] { nn::GELU(nn::GELUOptions().approximate("fast")); }) ==
          "GELU: approximate must be \"none\" or \"tanh\", got \"fast\"");
    nn::ModuleList list(nn::Linear(1, 1), nn::ReLU());
    CHECK(list->size() == 2);
    CHECK(list->ptr<nn::ReLUImpl>(1) != nullptr);
    CHECK(list->ptr<nn::LinearImpl>(1) == nullptr);
    CHECK(error_of([&] { (*list)[2]; }) == "ModuleList: index 2 is out of range for 2 modules");
}
