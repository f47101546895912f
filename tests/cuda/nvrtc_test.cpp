// NVRTC loaded at run time: what it says when missing, its version, PTX and CUBIN output, and
// the error a source that does not compile gives (NVRTC's log and the numbered source).
#include "codegen/cuda/nvrtc.h"
#include "cuda/cuda_util.h"
#include "kiln/error.h"

namespace kiln::test {
namespace {

const char* kAxpy = R"(extern "C" __global__ void axpy(float* y, const float* x, float a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
)";

}  // namespace

TEST_CASE("NVRTC loads or says where it looked", "[cuda]") {
    if (!codegen::nvrtc_available()) {
        std::string why = codegen::nvrtc_unavailable_reason();
        CHECK_THAT(why, Catch::Contains("NVRTC") && Catch::Contains("not available") &&
                            Catch::Contains("libnvrtc.so.13") &&
                            Catch::Contains("/usr/local/cuda/lib64/libnvrtc.so"));
        CHECK_THROWS_AS(codegen::compile_ptx(kAxpy, "axpy"), Error);
        CHECK_THROWS_WITH(codegen::compile_ptx(kAxpy, "axpy"), Catch::Contains("not available"));
        WARN("SKIPPED (no NVRTC on this machine): the compile checks; " << why);
        return;
    }
    CHECK(codegen::nvrtc_unavailable_reason().empty());
    std::string version = codegen::nvrtc_version();
    CHECK_THAT(version, Catch::Matches("[0-9]+\\.[0-9]+"));
    std::string ptx = codegen::compile_ptx(kAxpy, "axpy", "compute_90");
    CHECK_THAT(ptx, Catch::Contains(".target sm_90") && Catch::Contains(".visible .entry axpy("));
    CHECK_THAT(codegen::compile_ptx(kAxpy, "axpy", "compute_80"), Catch::Contains(".target sm_80"));
}

TEST_CASE("NVRTC compiles to CUBIN for a real architecture only (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    std::vector<char> cubin = codegen::compile_cubin(kAxpy, "axpy", "sm_90");
    REQUIRE(cubin.size() > 4);
    CHECK(std::string(cubin.begin(), cubin.begin() + 4) == "\x7f"
                                                           "ELF");
    CHECK_THROWS_AS(codegen::compile_cubin(kAxpy, "axpy", "compute_90"), ValueError);
}

TEST_CASE("a source NVRTC rejects gives its log and the numbered source (skipped without "
          "NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    std::string bad = "extern \"C\" __global__ void broken(float* y) {\n"
                      "    y[0] = undeclared_thing;\n"
                      "}\n";
    try {
        codegen::compile_ptx(bad, "broken");
        FAIL("compiled a broken source");
    } catch (const InternalError& e) {
        std::string msg = e.what();
        INFO(msg);
        CHECK_THAT(msg, Catch::Contains("NVRTC " + codegen::nvrtc_version() +
                                        " could not compile 'broken'"));
        CHECK_THAT(msg, Catch::Contains("NVRTC_ERROR_COMPILATION"));
        CHECK_THAT(msg, Catch::Contains("broken.cu(2): error"));  // NVRTC's log, with the line
        CHECK_THAT(msg, Catch::Contains("undeclared_thing"));
        CHECK_THAT(msg, Catch::Contains("    2 |     y[0] = undeclared_thing;\n"));
    }
    // Kiln's options come first; the caller's are added (a bad one is NVRTC's error too).
    CHECK_THROWS_AS(codegen::compile_ptx(kAxpy, "axpy", "compute_90", {"--no-such-flag"}),
                    InternalError);
}

TEST_CASE("a source with #include gets the toolkit's headers (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    if (codegen::nvrtc_include_dir().empty()) {
        WARN("SKIPPED: NVRTC is here but the toolkit's include directory is not");
        return;
    }
    std::string src = "#include <cuda_fp16.h>\n"
                      "extern \"C\" __global__ void half_add(__half* y, const __half* x) {\n"
                      "    y[threadIdx.x] = __hadd(y[threadIdx.x], x[threadIdx.x]);\n"
                      "}\n";
    CHECK_THAT(codegen::compile_ptx(src, "half_add"), Catch::Contains(".entry half_add("));
}

}  // namespace kiln::test
