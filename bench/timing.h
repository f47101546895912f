#pragma once
// Timing helpers shared by the benchmark programs (bench/*.cpp): wall seconds and medians.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace kiln_bench {

/// Wall seconds `f` takes.
inline double seconds(const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The median of `v` (the upper one for an even count).
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// Median time of `reps` runs of `f` after one warm-up.
inline double median_seconds(int reps, const std::function<void()>& f) {
    f();
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) t.push_back(seconds(f));
    return median(std::move(t));
}

}  // namespace kiln_bench
