// The CUDA driver probe (runtime/cuda/driver.h) and kiln::cuda: one build runs with or without a
// GPU. Without a usable driver (CI) CUDA reports itself unavailable with a reason, and asking for
// a CUDA tensor is an error naming the device, the reason and the caller's line.
#include <catch2/catch.hpp>

#include "kiln/kiln.h"
#include "runtime/cuda/driver.h"

using namespace kiln;

TEST_CASE("the driver probe is consistent with kiln::cuda", "[runtime][cuda]") {
    const runtime::CudaDriverStatus& s = runtime::cuda_driver_status();
    CHECK(cuda::is_available() == s.available);
    CHECK(cuda::device_count() == s.device_count);
    CHECK(&runtime::cuda_driver_status() == &s);  // probed once
    if (!s.available) {
        WARN("no usable CUDA driver here: " << s.reason);
        CHECK(s.device_count == 0);
        bool known = s.reason.rfind("no CUDA driver (", 0) == 0 ||
                     s.reason.rfind("no CUDA device", 0) == 0 ||
                     s.reason.rfind("the CUDA driver", 0) == 0;
        CHECK(known);
        CHECK(runtime::cuda_unavailable_reason(0) == s.reason);
    } else {
        CHECK(s.device_count > 0);
        CHECK(s.reason.empty());
        CHECK(runtime::cuda_unavailable_reason(s.device_count) ==
              "this machine has " + std::to_string(s.device_count) + " CUDA device" +
                  (s.device_count == 1 ? "" : "s"));
    }
}

TEST_CASE("asking for a CUDA tensor names the device, why, and the caller's line", "[runtime][cuda]") {
    Tensor x = kiln::ones({2});
    int line = __LINE__ + 2;
    try {
        (void)x.to(kCUDA);
        FAIL("expected kiln::Error");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(what.rfind("to: device cuda:0 is not available: " +
                             runtime::cuda_unavailable_reason(0),
                         0) == 0);
        CHECK(what.find("cuda_driver_test.cpp:" + std::to_string(line)) != std::string::npos);
    }
}
