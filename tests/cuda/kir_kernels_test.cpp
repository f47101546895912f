// Kernels from IR text compile to PTX: graphs written here for the ops the frontend does not
// expose directly (integer division and remainder, logic, bool comparisons, every cast, long view
// chains, Philox words), the example files of tools/examples, and the parser fuzzer's corpus
// (real dumps, minimized; the inputs that no longer parse are skipped).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cuda/cuda_util.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

void compile_text(const std::string& text, const std::string& what) {
    INFO(what << "\n" << text);
    std::vector<ir::LoopKernel> kernels = kernels_of_text(text);
    CHECK(!kernels.empty());
    compile_all(kernels, what);
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const char* kIntOps = R"(
%0 = input 0 : T[16,33]
%1 = input 1 : T[16,33]
%2 = div %0, %1 : T[16,33]
%3 = mod %0, %1 : T[16,33]
%4 = pow %0, %1 : T[16,33]
%5 = sub %1, %0 : T[16,33]
%6 = const 4 : T[16,33]
%7 = div %0, %6 : T[16,33]
%8 = mod %0, %6 : T[16,33]
%9 = const -1 : T[16,33]
%10 = div %0, %9 : T[16,33]
%11 = mul %2, %3 : T[16,33]
%12 = sub %11, %4 : T[16,33]
%13 = abs %12 : T[16,33]
%14 = neg %13 : T[16,33]
%15 = max %14, %7 : T[16,33]
%16 = min %15, %8 : T[16,33]
%17 = add %16, %10 : T[16,33]
%18 = add %17, %5 : T[16,33]
%19 = lt %18, %0 : bool[16,33]
%20 = reduce_max %18 {axes=[1]} : T[16,1]
%21 = reduce_min %18 {axes=[0]} : T[1,33]
%22 = reduce_sum %18 {axes=[0,1]} : T[1,1]
return %18, %19, %20, %21, %22
)";

const char* kLogic = R"(
%0 = input 0 : f32[8,9]
%1 = input 1 : f32[8,9]
%2 = lt %0, %1 : bool[8,9]
%3 = le %1, %0 : bool[8,9]
%4 = eq %0, %1 : bool[8,9]
%5 = ne %0, %1 : bool[8,9]
%6 = and %2, %3 : bool[8,9]
%7 = or %6, %4 : bool[8,9]
%8 = not %7 : bool[8,9]
%9 = or %8, %5 : bool[8,9]
%10 = where %9, %0, %1 : f32[8,9]
%11 = mod %10, %1 : f32[8,9]
%12 = const nan : f32[8,9]
%13 = const -inf : f32[8,9]
%14 = max %11, %12 : f32[8,9]
%15 = min %14, %13 : f32[8,9]
return %15, %9
)";

const char* kBoolOps = R"(
%0 = input 0 : bool[8,9]
%1 = input 1 : bool[8,9]
%2 = lt %0, %1 : bool[8,9]
%3 = le %2, %1 : bool[8,9]
%4 = eq %3, %0 : bool[8,9]
%5 = not %4 : bool[8,9]
%6 = cast %5 : f32[8,9]
%7 = reduce_max %6 {axes=[1]} : f32[8,1]
return %4, %7
)";

const char* kViews = R"(
%0 = input 0 : f32[5,7,9]
%1 = pad %0 {before=[1,0,2], after=[0,3,1]} : f32[6,10,12]
%2 = slice %1 {start=[5,9,0], step=[-1,-2,1]} : f32[6,5,12]
%3 = flip %2 {axes=[0,2]} : f32[6,5,12]
%4 = permute %3 {perm=[2,0,1]} : f32[12,6,5]
%5 = reshape %4 : f32[72,5]
%6 = window %5 {axis=0, size=3, stride=2, dilation=2} : f32[3,34,5]
%7 = reduce_max %6 {axes=[0]} : f32[1,34,5]
return %7, %5
)";

const char* kRandom = R"(
%0 = input 0 : i64[]
%1 = input 1 : i64[]
%2 = random %0, %1 {word=0} : f32[4,50]
%3 = random %0, %1 {word=3} : f32[4,50]
%4 = random %0, %1 {word=2} : f64[4,50]
%5 = iota {axis=1} : i64[4,50]
%6 = cast %5 : f64[4,50]
%7 = add %4, %6 : f64[4,50]
%8 = mul %2, %3 : f32[4,50]
return %8, %7
)";

const char* kEmpty = R"(
%0 = input 0 : f32[0,5]
%1 = exp %0 : f32[0,5]
%2 = input 1 : f32[3,0]
%3 = reduce_sum %2 {axes=[1]} : f32[3,1]
%4 = reduce_max %2 {axes=[1]} : f32[3,1]
return %1, %3, %4
)";

}  // namespace

TEST_CASE("CUDA: integer division / remainder / powers / reductions compile (skipped without "
          "NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    for (const char* t : {"i32", "i64"})
        compile_text(replace_all(kIntOps, "T[", std::string(t) + "["), t);
}

TEST_CASE("CUDA: logic / bool compare / NaN constants / every cast compile (skipped without "
          "NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    compile_text(kLogic, "logic");
    compile_text(kBoolOps, "bool compare");
    const char* dtypes[] = {"f32", "f64", "i32", "i64", "bool"};
    std::string text, ret;
    for (int i = 0; i < 5; ++i) {
        text += fmt::format("%in{} = input {} : {}[6,7]\n", i, i, dtypes[i]);
        for (int j = 0; j < 5; ++j) {
            if (i == j) continue;
            text += fmt::format("%c{}{} = cast %in{} : {}[6,7]\n", i, j, i, dtypes[j]);
            ret += fmt::format("{}%c{}{}", ret.empty() ? "return " : ", ", i, j);
        }
    }
    compile_text(text + ret + "\n", "casts");
}

TEST_CASE("CUDA: view chains / Philox words / empty loops compile (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    compile_text(kViews, "views");
    compile_text(kRandom, "random");
    std::vector<ir::LoopKernel> kernels = kernels_of_text(kEmpty);
    compile_all(kernels, "empty");
}

TEST_CASE("CUDA: the example graphs compile (skipped without NVRTC)", "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    int files = 0;
    for (const char* dir : {"tools/examples", "tools/examples/bench"}) {
        fs::path path = fs::path(KILN_SOURCE_DIR) / dir;
        if (!fs::is_directory(path)) continue;
        for (const fs::directory_entry& e : fs::directory_iterator(path)) {
            if (e.path().extension() != ".kir" || e.path().stem() == "malformed") continue;
            compile_text(read(e.path()), e.path().string());
            ++files;
        }
    }
    CHECK(files >= 4);
}

TEST_CASE("CUDA: every kernel of the fuzz corpus graphs compiles (skipped without NVRTC)",
          "[cuda][nvrtc]") {
    KILN_REQUIRE_NVRTC_OR_SKIP();
    fs::path dir = fs::path(KILN_SOURCE_DIR) / "tests/fuzz/corpus";
    REQUIRE(fs::is_directory(dir));
    int graphs = 0, kernels = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
        std::vector<ir::LoopKernel> ks;
        try {
            ks = kernels_of_text(read(e.path()));
        } catch (const std::exception&) {
            continue;  // minimized fuzz inputs are often not valid graphs any more
        }
        ++graphs;
        kernels += compile_all(ks, e.path().string());
    }
    std::cout << "[cuda] fuzz corpus: " << graphs << " valid graphs, " << kernels
              << " kernels not compiled before\n";
    CHECK(graphs >= 20);
}

}  // namespace kiln::test
