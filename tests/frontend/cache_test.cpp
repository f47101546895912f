// The program cache: a graph of the same structure on new data compiles nothing.
#include <catch2/catch.hpp>

#include <kiln/kiln.h>

TEST_CASE("a second run of the same structure compiles nothing", "[cache]") {
    auto step = [](const kiln::Tensor& x, const kiln::Tensor& w) {
        return (kiln::tanh(x * w) + x).sum({1}).to_vector<float>();
    };
    // Data arrives realized, as from a loader (randn itself is lazy: realizing it is a program
    // of its own, of one structure too).
    auto w = kiln::randn({8, 16});
    w.realize();
    auto x0 = kiln::randn({8, 16});
    x0.realize();
    step(x0, w);
    kiln::reset_stats();
    for (int i = 0; i < 3; ++i) {
        auto x = kiln::randn({8, 16});
        x.realize();
        auto got = step(x, w);
        // The values are really recomputed for each new input.
        auto xv = x.to_vector<float>(), wv = w.to_vector<float>();
        for (int r = 0; r < 8; ++r) {
            double expect = 0;
            for (int c = 0; c < 16; ++c) expect += std::tanh(xv[r * 16 + c] * wv[r * 16 + c]) + xv[r * 16 + c];
            CHECK(got[r] == Approx(expect).epsilon(1e-4));
        }
    }
    kiln::Stats s = kiln::stats();
    CHECK(s.program_cache_hits == 6);  // three draws and three steps
    CHECK(s.program_cache_misses == 0);
    CHECK(s.kernels_compiled == 0);
    CHECK(s.kernels_launched == 6);
}

TEST_CASE("a different structure compiles again", "[cache]") {
    kiln::reset_stats();
    auto x = kiln::randn({5, 7});
    (x * 3).realize();
    (x * 3).realize();  // same structure (new handle, same recipe): cache hit
    CHECK(kiln::stats().program_cache_misses == 1);
    CHECK(kiln::stats().program_cache_hits == 1);
    (x * 3).sum().realize();
    CHECK(kiln::stats().program_cache_misses == 2);
}

TEST_CASE("results are reused by later graphs", "[cache]") {
    auto x = kiln::randn({64});
    auto y = kiln::exp(x);
    auto z = y * 2;
    y.realize();
    kiln::reset_stats();
    // z still refers to the exp node; its value comes from y's buffer, exp is not recomputed.
    auto text = kiln::graph_text({z});
    CHECK(text.find("exp") == std::string::npos);
    auto zv = z.to_vector<float>();
    auto yv = y.to_vector<float>();
    for (size_t i = 0; i < zv.size(); ++i) CHECK(zv[i] == yv[i] * 2);
}

TEST_CASE("a graph whose simplification drops an input still runs", "[cache]") {
    auto x = kiln::randn({4});
    auto y = kiln::randn({4});
    auto r = kiln::where(kiln::ones({4}, kiln::kBool), y, x).to_vector<float>();
    CHECK(r == y.to_vector<float>());
}
