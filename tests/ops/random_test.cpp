// rand and randn: lazy Philox draws. Compiled kernels give exactly the reference definition's
// numbers; each draw uses fresh counters (new numbers, same program); manual_seed repeats.
#include <algorithm>
#include <cmath>

#include "ir/philox.h"
#include "ops/check.h"

namespace kiln::test {

TEST_CASE("compiled rand is bit-exact Philox", "[ops][random]") {
    for (DType dtype : kFloats) {
        kiln::manual_seed(1234);
        Tensor a = kiln::rand({3, 5}, dtype);
        Tensor b = kiln::rand({7}, dtype);  // the next counters
        std::vector<double> got_a = a.to(kFloat64).to_vector<double>();
        std::vector<double> got_b = b.to(kFloat64).to_vector<double>();
        for (uint64_t e = 0; e < 15; ++e)
            CHECK(got_a[e] == ir::philox_uniform(dtype, 1234, e, 0));
        for (uint64_t e = 0; e < 7; ++e)
            CHECK(got_b[e] == ir::philox_uniform(dtype, 1234, 15 + e, 0));
        check(kiln::rand({4, 4}, dtype) * 2, "rand * 2 " + std::string(dtype_name(dtype)));
    }
}

TEST_CASE("rand and randn draw new numbers every time without recompiling", "[ops][random]") {
    kiln::manual_seed(5);
    (kiln::rand({256}) + 1).sum().item<float>();
    reset_stats();
    std::vector<float> sums;
    for (int i = 0; i < 5; ++i) sums.push_back((kiln::rand({256}) + 1).sum().item<float>());
    CHECK(stats().program_cache_misses == 0);
    for (int i = 1; i < 5; ++i) CHECK(sums[i] != sums[i - 1]);
    kiln::manual_seed(5);
    float first = (kiln::rand({256}) + 1).sum().item<float>();
    kiln::manual_seed(5);
    CHECK((kiln::rand({256}) + 1).sum().item<float>() == first);
}

TEST_CASE("rand is uniform and randn standard normal", "[ops][random]") {
    for (DType dtype : kFloats) {
        kiln::manual_seed(99);
        const int64_t n = 1 << 16;
        std::vector<double> u = kiln::rand({n}, dtype).to(kFloat64).to_vector<double>();
        std::vector<double> z = kiln::randn({n}, dtype).to(kFloat64).to_vector<double>();
        double su = 0, su2 = 0, sz = 0, sz2 = 0, lo = 1, hi = 0;
        for (int64_t i = 0; i < n; ++i) {
            su += u[i];
            su2 += u[i] * u[i];
            lo = std::min(lo, u[i]);
            hi = std::max(hi, u[i]);
            sz += z[i];
            sz2 += z[i] * z[i];
        }
        CHECK(lo >= 0);
        CHECK(hi < 1);
        // Means and variances within ~5 standard errors.
        CHECK(std::abs(su / n - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
        CHECK(std::abs(su2 / n - su / n * su / n - 1.0 / 12) < 0.003);
        CHECK(std::abs(sz / n) < 5 / std::sqrt(double(n)));
        CHECK(std::abs(sz2 / n - 1) < 0.03);
        CHECK(std::all_of(z.begin(), z.end(), [](double v) { return std::isfinite(v); }));
    }
}

}  // namespace kiln::test
