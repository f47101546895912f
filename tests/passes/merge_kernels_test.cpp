// merge_kernels (multi-output fusion): IR text in, program steps out.
#include <catch2/catch.hpp>

#include "ir/loop_kernel.h"
#include "ir/parser.h"
#include "passes/pipeline.h"

using namespace kiln;

namespace {
passes::PipelineResult run(const char* text) { return passes::run_pipeline(ir::parse_graph(text)); }

/// One line per step: the kernel's name and outer loops, or the extern step's kind.
std::string steps_of(const ir::Program& p) {
    std::string s;
    for (const ir::Step& st : p.steps) {
        if (const auto* k = std::get_if<ir::KernelStep>(&st))
            s += k->kernel.name + " " + ir::shape_str(k->kernel.outer) + "\n";
        else if (std::holds_alternative<ir::MatmulStep>(st))
            s += "matmul\n";
        else
            s += "extern\n";
    }
    return s;
}

// Adam's update of a weight whose gradient is the transpose of a matmul: the gradient (held by
// the caller), both moments and the new weight are four outputs over the same elements.
constexpr const char* kAdamUpdate = R"(
%0 = input 0 : f32[6,4]
%1 = input 1 : f32[6,3]
%2 = permute %0 {perm=[1,0]} : f32[4,6]
%3 = matmul %2, %1 : f32[4,3]
%4 = permute %3 {perm=[1,0]} : f32[3,4]
%5 = input 2 : f32[3,4]
%6 = const 0.9 : f32[3,4]
%7 = mul %5, %6 : f32[3,4]
%8 = const 0.1 : f32[3,4]
%9 = mul %4, %8 : f32[3,4]
%10 = add %7, %9 : f32[3,4]
%11 = input 3 : f32[3,4]
%12 = const 0.999 : f32[3,4]
%13 = mul %11, %12 : f32[3,4]
%14 = mul %4, %4 : f32[3,4]
%15 = const 0.001 : f32[3,4]
%16 = mul %14, %15 : f32[3,4]
%17 = add %13, %16 : f32[3,4]
%18 = sqrt %17 : f32[3,4]
%19 = const 1e-08 : f32[3,4]
%20 = add %18, %19 : f32[3,4]
%21 = div %10, %20 : f32[3,4]
%22 = input 4 : f32[]
%23 = reshape %22 : f32[1,1]
%24 = expand %23 : f32[3,4]
%25 = mul %21, %24 : f32[3,4]
%26 = input 5 : f32[3,4]
%27 = sub %26, %25 : f32[3,4]
return %4, %10, %17, %27
)";
}  // namespace

TEST_CASE("an optimizer update stores gradient, state and weight from one kernel", "[merge]") {
    auto r = run(kAdamUpdate);
    CHECK(steps_of(r.program) == "matmul\nm4_add_div_mul_sqrt [3,4]\n");
    REQUIRE(r.merges.size() == 1);
    CHECK(r.merges[0].merged.size() == 4);
    CHECK(passes::print_merges(r.merges) ==
          "m4_add_div_mul_sqrt: e + e_add_mul + e_add_mul + e_add_div_mul_sqrt -- 4 elementwise "
          "kernels over [3,4] reading each other's outputs at the same element\n");
    // Later stores read what earlier ones stored at the same element: the gradient is read
    // transposed from the matmul once, by the first store.
    CHECK(ir::print_loop_kernel(std::get<ir::KernelStep>(r.program.steps[1]).kernel) ==
          "kernel m4_add_div_mul_sqrt(buf0: f32[12], buf1: f32[12] out, buf2: f32[12], "
          "buf3: f32[12] out, buf4: f32[12], buf5: f32[12] out, buf6: f32[12], buf7: f32[1], "
          "buf8: f32[12] out)\n"
          "  outer [3,4]\n"
          "  %0 = add(mul(var0, 4:i64), var1)\n"
          "  store buf1[%0] = load[0](add(mul(var1, 3:i64), var0))\n"
          "  %1 = load[1](%0)\n"
          "  store buf3[%0] = add(mul(load[2](%0), 0.8999999761581421:f32), "
          "mul(%1, 0.10000000149011612:f32))\n"
          "  store buf5[%0] = add(mul(load[4](%0), 0.9990000128746033:f32), "
          "mul(mul(%1, %1), 0.0010000000474974513:f32))\n"
          "  store buf8[%0] = sub(load[6](%0), mul(div(load[3](%0), add(sqrt(load[5](%0)), "
          "9.99999993922529e-09:f32)), load[7](0:i64)))\n");
}

TEST_CASE("kernels that share no buffer stay apart", "[merge]") {
    // Both read the same scalar, but no full-size buffer: merging would save nothing.
    auto r = run(R"(
%0 = input 0 : f32[8]
%1 = input 1 : f32[8]
%2 = input 2 : f32[]
%3 = reshape %2 : f32[1]
%4 = expand %3 : f32[8]
%5 = mul %0, %4 : f32[8]
%6 = add %1, %4 : f32[8]
return %5, %6
)");
    CHECK(steps_of(r.program) == "e_mul [8]\ne_add [8]\n");
    CHECK(r.merges.empty());
}

TEST_CASE("a kernel reading another's output at other elements is not merged", "[merge]") {
    // %3 reads %2 transposed: in one loop it would read elements not yet stored.
    auto r = run(R"(
%0 = input 0 : f32[4,4]
%1 = const 2 : f32[4,4]
%2 = mul %0, %1 : f32[4,4]
%3 = permute %2 {perm=[1,0]} : f32[4,4]
%4 = add %3, %0 : f32[4,4]
return %2, %4
)");
    CHECK(steps_of(r.program) == "e_mul [4,4]\ne_add [4,4]\n");
}

TEST_CASE("kernels over different loops are not merged", "[merge]") {
    auto r = run(R"(
%0 = input 0 : f32[4,6]
%1 = exp %0 : f32[4,6]
%2 = reshape %0 : f32[6,4]
%3 = neg %2 : f32[6,4]
return %1, %3
)");
    CHECK(steps_of(r.program) == "e_exp [4,6]\ne_neg [6,4]\n");
}

TEST_CASE("a dependency through another step keeps kernels apart", "[merge]") {
    // b = relu(a @ w) + a reads a directly and through the matmul: merged, a's kernel would have
    // to run both before and after the matmul.
    auto r = run(R"(
%0 = input 0 : f32[4,4]
%1 = exp %0 : f32[4,4]
%2 = input 1 : f32[4,4]
%3 = matmul %1, %2 : f32[4,4]
%4 = add %3, %1 : f32[4,4]
return %1, %4
)");
    CHECK(steps_of(r.program) == "e_exp [4,4]\nmatmul\ne_add [4,4]\n");
    CHECK(r.merges.empty());
}

TEST_CASE("a step that reads an earlier member moves after the merged kernel", "[merge]") {
    // %2 = exp(x) and %6 = x * 3 share x; the row sum of %2 (its own kernel) comes between them
    // in the fused schedule and reads %2, so it runs after the merged kernel.
    auto r = run(R"(
%0 = input 0 : f32[4,8]
%1 = input 1 : f32[4,8]
%2 = exp %0 : f32[4,8]
%3 = reduce_sum %2 {axes=[1]} : f32[4,1]
%4 = reduce_max %1 {axes=[1]} : f32[4,1]
%5 = const 3 : f32[4,8]
%6 = mul %0, %5 : f32[4,8]
return %2, %3, %4, %6
)");
    std::string steps = steps_of(r.program);
    CHECK(steps.find("m2_exp_mul [4,8]\n") != std::string::npos);
    CHECK(steps.find("m2_exp_mul") < steps.find("r_reduce_sum"));
    REQUIRE(r.merges.size() == 1);
    CHECK(r.merges[0].reason == "2 elementwise kernels over [4,8] reading the same buffers");
}
