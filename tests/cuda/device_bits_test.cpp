// Random numbers and math functions give the same bits on the CPU and on a CUDA device (a GPU,
// or tests/fake_cuda's emulation through KILN_CUDA_DRIVER_LIBRARY & co.): randn (Box-Muller:
// Kiln's log and cos on both devices), dropout masks, and exp/log/sin/cos/tanh/sigmoid/pow and
// erf-form gelu elementwise. Skipped with a warning where no device is usable.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "kiln/kiln.h"

namespace {

using namespace kiln;

#define KILN_REQUIRE_DEVICE_OR_SKIP()                                                              \
    do {                                                                                           \
        if (!::kiln::cuda::is_available()) {                                                       \
            WARN("SKIPPED: no usable CUDA device: " << ::kiln::cuda::unavailable_reason());        \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/// Equal bits, or both NaN (payloads may differ).
template <class T>
size_t mismatches(const std::vector<T>& a, const std::vector<T>& b) {
    REQUIRE(a.size() == b.size());
    size_t bad = 0;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0 && !(std::isnan(a[i]) && std::isnan(b[i])))
            ++bad;
    return bad;
}

template <class T>
std::vector<T> sample(size_t n, uint64_t seed) {
    using L = std::numeric_limits<T>;
    std::vector<T> v = {0,
                        -T(0),
                        1,
                        -1,
                        L::infinity(),
                        -L::infinity(),
                        L::quiet_NaN(),
                        L::denorm_min(),
                        L::min(),
                        L::max(),
                        T(1e5),
                        T(-100)};
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> d(-12, 12);
    while (v.size() < n) v.push_back(static_cast<T>(d(rng)));
    return v;
}

template <class T>
void check_math_ops() {
    const int64_t n = 4096;
    std::vector<T> xs = sample<T>(n, 7), ys = sample<T>(n, 8);
    Tensor x = tensor(xs, {n}), y = tensor(ys, {n});
    Tensor xd = x.to(kCUDA), yd = y.to(kCUDA);
    struct Case {
        const char* name;
        Tensor cpu, dev;
    };
    const Case cases[] = {
        {"exp", kiln::exp(x), kiln::exp(xd)},
        {"log", kiln::log(x), kiln::log(xd)},
        {"sin", kiln::sin(x), kiln::sin(xd)},
        {"cos", kiln::cos(x), kiln::cos(xd)},
        {"tanh", kiln::tanh(x), kiln::tanh(xd)},
        {"sigmoid", kiln::sigmoid(x), kiln::sigmoid(xd)},
        {"gelu (erf)", kiln::gelu(x), kiln::gelu(xd)},
        {"pow", kiln::pow(x, y), kiln::pow(xd, yd)},
    };
    for (const Case& c : cases) {
        INFO(c.name << " " << (sizeof(T) == 4 ? "f32" : "f64"));
        CHECK(mismatches(c.cpu.template to_vector<T>(), c.dev.template to_vector<T>()) == 0);
    }
}

}  // namespace

TEST_CASE("randn and dropout masks are the same bits on the CPU and the device", "[cuda][bits]") {
    KILN_REQUIRE_DEVICE_OR_SKIP();
    for (DType dt : {kFloat32, kFloat64}) {
        manual_seed(99);
        Tensor cpu = randn({4, 1000}, TensorOptions().dtype(dt));
        Tensor cpu_mask = kiln::dropout(ones({3000}), 0.3, true);
        manual_seed(99);
        Tensor dev = randn({4, 1000}, TensorOptions().dtype(dt).device(kCUDA));
        Tensor dev_mask = kiln::dropout(ones({3000}, TensorOptions().device(kCUDA)), 0.3, true);
        if (dt == kFloat32)
            CHECK(mismatches(cpu.to_vector<float>(), dev.to_vector<float>()) == 0);
        else
            CHECK(mismatches(cpu.to_vector<double>(), dev.to_vector<double>()) == 0);
        CHECK(mismatches(cpu_mask.to_vector<float>(), dev_mask.to_vector<float>()) == 0);
    }
}

TEST_CASE("math functions are the same bits on the CPU and the device", "[cuda][bits]") {
    KILN_REQUIRE_DEVICE_OR_SKIP();
    check_math_ops<float>();
    check_math_ops<double>();
}
