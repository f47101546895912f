// PyTorch's default initializations, by their statistics (Kiln's generator is not PyTorch's,
// so values differ; bounds, means and variances must not), the nn::init functions, seeding,
// and the layers' forward against the functional ops they stand for.
#include <cmath>
#include <numeric>

#include <catch2/catch.hpp>

#include <kiln/kiln.h>

namespace nn = kiln::nn;
using kiln::Tensor;

namespace {

struct Moments {
    double mean = 0, var = 0, lo = 0, hi = 0;
};

Moments moments(const Tensor& t) {
    std::vector<double> v = t.to(kiln::kFloat64).to_vector<double>();
    Moments m;
    m.lo = *std::min_element(v.begin(), v.end());
    m.hi = *std::max_element(v.begin(), v.end());
    m.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    for (double x : v) m.var += (x - m.mean) * (x - m.mean);
    m.var /= double(v.size());
    return m;
}

/// U(-b, b): inside the bound, reaching near it, mean 0 and variance b^2 / 3, within four
/// standard errors of n samples (the sample variance of a uniform has relative error
/// sqrt(0.8 / n)).
void check_uniform(const Tensor& t, double b) {
    Moments m = moments(t);
    double n = static_cast<double>(t.numel());
    INFO("bound " << b << " min " << m.lo << " max " << m.hi << " mean " << m.mean << " var " << m.var);
    CHECK(m.lo >= -b);
    CHECK(m.hi <= b);
    CHECK(m.hi > 0.9 * b);
    CHECK(m.lo < -0.9 * b);
    CHECK(std::abs(m.mean) < 4 * b / std::sqrt(3 * n));
    CHECK(m.var == Approx(b * b / 3).epsilon(4 * std::sqrt(0.8 / n)));
}

}  // namespace

TEST_CASE("Linear and Conv2d draw kaiming-uniform weights and fan-in biases", "[nn][init]") {
    nn::Linear lin(784, 512);
    check_uniform(lin->weight, 1 / std::sqrt(784.0));
    check_uniform(lin->bias, 1 / std::sqrt(784.0));
    nn::Conv2d conv(nn::Conv2dOptions(16, 64, 3).groups(2));
    CHECK(conv->weight.sizes() == std::vector<int64_t>{64, 8, 3, 3});
    check_uniform(conv->weight, 1 / std::sqrt(8.0 * 9));
    nn::Conv2d wide(nn::Conv2dOptions(64, 256, 3));
    check_uniform(wide->bias, 1 / std::sqrt(64.0 * 9));
}

TEST_CASE("Embedding draws N(0, 1); LayerNorm starts at ones and zeros", "[nn][init]") {
    nn::Embedding emb(1000, 64);
    Moments m = moments(emb->weight);
    CHECK(std::abs(m.mean) < 0.02);
    CHECK(m.var == Approx(1).epsilon(0.03));
    nn::LayerNorm ln(nn::LayerNormOptions({4, 5}));
    CHECK(ln->weight.to_vector<float>() == std::vector<float>(20, 1.0f));
    CHECK(ln->bias.to_vector<float>() == std::vector<float>(20, 0.0f));
    nn::LayerNorm plain(nn::LayerNormOptions({5}).elementwise_affine(false));
    CHECK(plain->parameters().empty());
}

TEST_CASE("manual_seed makes initialization reproducible", "[nn][init]") {
    kiln::manual_seed(7);
    nn::Linear a(20, 10);
    kiln::manual_seed(7);
    nn::Linear b(20, 10);
    nn::Linear c(20, 10);
    CHECK(a->weight.to_vector<float>() == b->weight.to_vector<float>());
    CHECK(a->bias.to_vector<float>() == b->bias.to_vector<float>());
    CHECK(a->weight.to_vector<float>() != c->weight.to_vector<float>());
}

TEST_CASE("nn::init functions follow torch.nn.init's formulas", "[nn][init]") {
    Tensor w = kiln::zeros({300, 200});
    nn::init::kaiming_uniform_(w, 0, nn::init::FanMode::FanOut, nn::init::Nonlinearity::ReLU);
    check_uniform(w, std::sqrt(2.0) * std::sqrt(3.0 / 300));
    nn::init::xavier_uniform_(w, 2);
    check_uniform(w, 2 * std::sqrt(6.0 / 500));
    nn::init::kaiming_normal_(w);  // a = 0, fan_in, leaky_relu: std = sqrt(2 / 200)
    Moments m = moments(w);
    CHECK(m.var == Approx(2.0 / 200).epsilon(0.05));
    nn::init::xavier_normal_(w);
    CHECK(moments(w).var == Approx(2.0 / 500).epsilon(0.05));
    nn::init::normal_(w, 3, 0.5);
    m = moments(w);
    CHECK(m.mean == Approx(3).epsilon(0.01));
    CHECK(m.var == Approx(0.25).epsilon(0.05));
    nn::init::uniform_(w, 2, 4);
    m = moments(w);
    CHECK(m.lo >= 2);
    CHECK(m.hi <= 4);
    nn::init::constant_(w, 1.5);
    CHECK(moments(w).lo == 1.5);
    CHECK(nn::init::calculate_gain(nn::init::Nonlinearity::Tanh) == Approx(5.0 / 3));
    CHECK(nn::init::calculate_gain(nn::init::Nonlinearity::LeakyReLU, 0.2) ==
          Approx(std::sqrt(2.0 / 1.04)));
    auto fans = nn::init::calculate_fan_in_and_fan_out(kiln::zeros({8, 4, 3, 2}));
    CHECK(fans == std::pair<int64_t, int64_t>{24, 48});
    Tensor v = kiln::zeros({5});
    try {
        nn::init::xavier_uniform_(v);
        FAIL("no error");
    } catch (const kiln::ValueError& e) {
        CHECK(std::string(e.what()).starts_with(
            "init: fan in and fan out need a tensor of at least 2 dims, got 1 at init_test.cpp:"));
    }
    // A parameter initialized in place stays the same trainable leaf.
    nn::Linear lin(3, 3);
    Tensor held = lin->weight;
    nn::init::zeros_(lin->weight);
    CHECK(held.to_vector<float>() == std::vector<float>(9, 0.0f));
    CHECK(held.is_leaf());
    CHECK(held.requires_grad());
}

TEST_CASE("layers compute their functional ops", "[nn]") {
    Tensor x = kiln::randn({2, 3, 8, 8});
    x.realize();
    nn::Conv2d conv(nn::Conv2dOptions(3, 4, 3).padding(1).stride(2));
    CHECK(conv(x).to_vector<float>() ==
          kiln::conv2d(x, conv->weight, conv->bias, {2, 2}, {1, 1}).to_vector<float>());
    nn::MaxPool2d pool(nn::MaxPool2dOptions(3).stride(2).padding(1));
    CHECK(pool(x).to_vector<float>() == kiln::max_pool2d(x, {3, 3}, {2, 2}, {1, 1}).to_vector<float>());
    CHECK(nn::AvgPool2d(2)(x).to_vector<float>() == kiln::avg_pool2d(x, {2, 2}).to_vector<float>());
    CHECK(nn::Flatten()(x).sizes() == std::vector<int64_t>{2, 192});
    CHECK(nn::Flatten(nn::FlattenOptions().start_dim(2))(x).sizes() ==
          std::vector<int64_t>{2, 3, 64});
    nn::Linear lin(8, 5);
    CHECK(lin(x).to_vector<float>() == kiln::linear(x, lin->weight, lin->bias).to_vector<float>());
    nn::LayerNorm ln(nn::LayerNormOptions({8}).eps(1e-3));
    CHECK(ln(x).to_vector<float>() ==
          kiln::layer_norm(x, {8}, ln->weight, ln->bias, 1e-3).to_vector<float>());
    nn::Embedding emb(10, 4);
    Tensor ids = kiln::tensor(std::vector<int64_t>{3, 0, 9}, {3});
    CHECK(emb(ids).to_vector<float>() == kiln::embedding(emb->weight, ids).to_vector<float>());
    CHECK(nn::Softmax(1)(x).to_vector<float>() == kiln::softmax(x, 1).to_vector<float>());
    CHECK(nn::GELU(nn::GELUOptions().approximate("tanh"))(x).to_vector<float>() ==
          kiln::gelu(x, "tanh").to_vector<float>());
    CHECK(nn::SiLU()(x).to_vector<float>() == kiln::silu(x).to_vector<float>());
    nn::Sequential seq(nn::Conv2d(3, 2, 3), nn::ReLU(), nn::Flatten(), nn::Linear(72, 3), nn::Tanh());
    Tensor manual = x;
    manual = kiln::conv2d(manual, seq->ptr<nn::Conv2dImpl>(0)->weight, seq->ptr<nn::Conv2dImpl>(0)->bias);
    manual = kiln::relu(manual).flatten(1);
    manual = kiln::tanh(kiln::linear(manual, seq->ptr<nn::LinearImpl>(3)->weight,
                                     seq->ptr<nn::LinearImpl>(3)->bias));
    CHECK(seq(x).to_vector<float>() == manual.to_vector<float>());
}
