// Kiln's default initializations against real PyTorch's: tests/nn/data/torch_init.safetensors
// holds, per parameter of six layers as torch 1.13 draws them (make_torch_init_fixture.py writes
// it; the suite never runs Python), its statistics and the bound PyTorch's own code computes.
// Kiln makes the same layers after kiln::manual_seed; its generator is not PyTorch's, so the
// values differ, but each parameter must have the same distribution: the same number of
// elements, inside PyTorch's bound and reaching close to it, the same mean and standard
// deviation within five standard errors of the two samples (and of the distribution's), the
// same shape (kurtosis) for large tensors, and exactly PyTorch's value for a constant.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <kiln/kiln.h>
#include <kiln/serialize.h>

namespace nn = kiln::nn;
using kiln::Tensor;

namespace {

const std::string kFixture = std::string(KILN_NN_DATA_DIR) + "/torch_init.safetensors";

/// A layer of the fixture: its name, PyTorch's description of it (the fixture's
/// "layer.<name>" metadata) and Kiln's module.
struct Layer {
    std::string name;
    std::string description;
    std::shared_ptr<nn::Module> module;
};

/// The fixture's layers, made by Kiln after manual_seed(seed).
std::vector<Layer> layers(uint64_t seed) {
    kiln::manual_seed(seed);
    return {
        {"fc1", "Linear(784, 512)", nn::Linear(784, 512).ptr()},
        {"fc2", "Linear(512, 10)", nn::Linear(512, 10).ptr()},
        {"conv1", "Conv2d(1, 16, 3)", nn::Conv2d(1, 16, 3).ptr()},
        {"conv2", "Conv2d(16, 32, 3)", nn::Conv2d(16, 32, 3).ptr()},
        {"emb", "Embedding(1000, 64)", nn::Embedding(1000, 64).ptr()},
        {"ln", "LayerNorm(64)", nn::LayerNorm(nn::LayerNormOptions({64})).ptr()},
    };
}

/// A sample's statistics, as the fixture's (population moments).
struct Stats {
    double numel = 0, min = 0, max = 0, mean = 0, std = 0, kurtosis = 0;
};

Stats stats_of(const Tensor& t) {
    std::vector<double> v = t.to(kiln::kFloat64).to_vector<double>();
    Stats s;
    double n = static_cast<double>(v.size());
    s.numel = n;
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
    double m2 = 0, m4 = 0;
    for (double x : v) {
        double d = (x - s.mean) * (x - s.mean);
        m2 += d;
        m4 += d * d;
    }
    m2 /= n, m4 /= n;
    s.std = std::sqrt(m2);
    s.kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0;
    return s;
}

/// The fixture's scalars, on the host (no Kiln tensors: it lives until the program exits).
struct Fixture {
    std::map<std::string, double> scalars;
    std::map<std::string, std::string> metadata = kiln::load_safetensors_metadata(kFixture);

    Fixture() {
        for (const auto& [key, t] : kiln::load_safetensors(kFixture))
            scalars[key] = t.item<double>();
    }
    /// The scalar `<key>.<stat>`.
    double get(const std::string& key, const std::string& stat) const {
        auto it = scalars.find(key + "." + stat);
        INFO("the fixture's tensor " << key << "." << stat);
        REQUIRE(it != scalars.end());
        return it->second;
    }
};

const Fixture& fixture() {
    static const Fixture f;
    return f;
}

/// Checks Kiln's parameter `key` (e.g. "fc1.weight") against PyTorch's statistics.
void check_parameter(const std::string& key, const Tensor& p) {
    const Fixture& f = fixture();
    std::string kind = f.metadata.at("init." + key);
    Stats k = stats_of(p);
    Stats t{f.get(key, "numel"), f.get(key, "min"), f.get(key, "max"),
            f.get(key, "mean"),  f.get(key, "std"), f.get(key, "kurtosis")};
    double bound = f.get(key, "bound");
    double expected_mean = f.get(key, "expected_mean");
    double expected_std = f.get(key, "expected_std");
    INFO(key << " (" << kind << ", " << k.numel << " elements): kiln min " << k.min << " max "
             << k.max << " mean " << k.mean << " std " << k.std << " kurtosis " << k.kurtosis
             << "; torch min " << t.min << " max " << t.max << " mean " << t.mean << " std "
             << t.std << " kurtosis " << t.kurtosis << ", bound " << bound << ", expected mean "
             << expected_mean << " std " << expected_std);
    REQUIRE(k.numel == t.numel);
    CHECK(p.dtype() == kiln::kFloat32);  // torch's default dtype

    if (kind == "constant") {
        CHECK(k.min == t.min);
        CHECK(k.max == t.max);
        return;
    }
    REQUIRE((kind == "uniform" || kind == "normal"));
    double n = k.numel;
    if (kind == "uniform") {
        double reach = std::max(-k.min, k.max);
        CHECK(reach <= bound * (1 + 1e-6));
        // The largest |value| of n draws of U(-b, b) is below b (1 - 20 / n) with probability
        // (1 - 20 / n)^n < e^-20: for the large tensors that is above 0.98 b.
        CHECK(reach > bound * (1 - 20 / n));
        CHECK(-k.min > bound * (1 - 40 / n));  // each side has about n / 2 draws
        CHECK(k.max > bound * (1 - 40 / n));
    }
    // Standard errors from the sample size: the mean's is sigma / sqrt(n), the standard
    // deviation's sigma sqrt((kurtosis - 1) / 4n) (kurtosis 9/5 for a uniform, 3 for a normal);
    // a difference of two samples has sqrt(2) times that.
    double kurtosis = kind == "uniform" ? 1.8 : 3.0;
    double se_mean = expected_std / std::sqrt(n);
    double se_std = expected_std * std::sqrt((kurtosis - 1) / (4 * n));
    CHECK(std::abs(k.mean - t.mean) <= 5 * std::sqrt(2.0) * se_mean);
    CHECK(std::abs(k.mean - expected_mean) <= 5 * se_mean);
    CHECK(std::abs(k.std - t.std) <= 5 * std::sqrt(2.0) * se_std);
    CHECK(std::abs(k.std - expected_std) <= 5 * se_std);
    // The shape of the distribution, where the samples are large enough to tell (the sample
    // kurtosis of 50000 normal draws has a standard error below 0.022; a uniform's 1.8 and a
    // normal's 3 are far apart).
    if (n >= 50000) CHECK(std::abs(k.kurtosis - t.kurtosis) <= 0.15);
}

}  // namespace

TEST_CASE("the PyTorch init fixture describes the layers this test makes", "[nn][init][torch]") {
    const Fixture& f = fixture();
    std::set<std::string> in_file, here;
    for (const auto& [key, value] : f.metadata) {
        if (key.starts_with("init.")) in_file.insert(key.substr(5));
    }
    for (const Layer& layer : layers(0)) {
        INFO(layer.name);
        REQUIRE(f.metadata.count("layer." + layer.name) == 1);
        CHECK(f.metadata.at("layer." + layer.name) == layer.description);
        for (const auto& item : layer.module->named_parameters())
            here.insert(layer.name + "." + item.key());
    }
    CHECK(in_file == here);
}

TEST_CASE("default initializations match PyTorch's distributions", "[nn][init][torch]") {
    uint64_t seed = std::stoull(fixture().metadata.at("seed"));
    // Two seeds: the checks must hold for draws of Kiln's generator, not for one lucky draw.
    for (uint64_t s : {seed, seed + 1}) {
        INFO("kiln::manual_seed(" << s << ")");
        for (const Layer& layer : layers(s)) {
            for (const auto& item : layer.module->named_parameters())
                check_parameter(layer.name + "." + item.key(), item.value());
        }
    }
}
