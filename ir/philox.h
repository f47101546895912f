#pragma once
/// Philox-4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11), the
/// counter-based generator behind Kiln's random numbers. This is the definition: the reference
/// interpreter calls it, and every backend emits the same arithmetic, so a seed gives the same
/// numbers on every device.
#include <array>
#include <cstdint>

#include "kiln/dtype.h"

namespace kiln::ir {

inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

/// The 4 output words for a 128-bit counter and a 64-bit key.
constexpr std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c,
                                                std::array<uint32_t, 2> k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k[0] += kPhiloxW0;
            k[1] += kPhiloxW1;
        }
        uint64_t p0 = uint64_t{kPhiloxM0} * c[0];
        uint64_t p1 = uint64_t{kPhiloxM1} * c[2];
        c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
             static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
    }
    return c;
}

/// Kiln's uniform [0, 1) number for element counter `counter` under `seed`: the counter is
/// (counter low, counter high, 0, 0), the key (seed low, seed high). f32 takes the top 24 bits
/// of output word `word`; f64 the top 53 bits of words word (low half) and word + 1 (high).
inline double philox_uniform(DType dtype, uint64_t seed, uint64_t counter, int64_t word) {
    std::array<uint32_t, 4> out = philox4x32_10(
        {static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0, 0},
        {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
    if (dtype == DType::Float32) return static_cast<double>(out[word] >> 8) * 0x1p-24;
    uint64_t bits = (uint64_t{out[word + 1]} << 32) | out[word];
    return static_cast<double>(bits >> 11) * 0x1p-53;
}

}  // namespace kiln::ir
