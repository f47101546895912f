// Philox-4x32-10 against the published known-answer vectors (Random123's kat_vectors).
#include <catch2/catch.hpp>

#include "ir/philox.h"

using kiln::ir::philox4x32_10;

TEST_CASE("philox4x32-10 matches the published test vectors", "[ir][philox]") {
    using W = std::array<uint32_t, 4>;
    CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) == W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    CHECK(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                        {0xffffffff, 0xffffffff}) ==
          W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    CHECK(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                        {0xa4093822, 0x299f31d0}) ==
          W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
    static_assert(philox4x32_10({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5);  // usable at compile time
}

TEST_CASE("uniform numbers from philox words are in [0, 1)", "[ir][philox]") {
    using kiln::DType;
    // The largest word gives the largest value below 1.
    for (uint64_t c = 0; c < 1000; ++c) {
        double f = kiln::ir::philox_uniform(DType::Float32, 7, c, c % 4);
        double d = kiln::ir::philox_uniform(DType::Float64, 7, c, 2 * (c % 2));
        CHECK((f >= 0 && f < 1));
        CHECK((d >= 0 && d < 1));
        CHECK(static_cast<double>(static_cast<float>(f)) == f);  // exact in f32
    }
}
