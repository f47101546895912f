// simplify: IR text in, IR text out.
#include <catch2/catch.hpp>

#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/simplify.h"

using namespace kiln;

namespace {
std::string simplified(const char* text) {
    return ir::print_graph(passes::simplify(ir::parse_graph(text)));
}
}  // namespace

TEST_CASE("constants fold", "[simplify]") {
    CHECK(simplified(R"(
%0 = const 2 : f32[3]
%1 = const 3 : f32[3]
%2 = mul %0, %1 : f32[3]
%3 = exp %2 : f32[3]
return %3
)") == "%0 = const 403.4288 : f32[3]\nreturn %0\n");
}

TEST_CASE("algebraic identities", "[simplify]") {
    CHECK(simplified(R"(
%0 = input 0 : f32[3]
%1 = const 1 : f32[3]
%2 = mul %0, %1 : f32[3]
%3 = const 0 : f32[3]
%4 = add %3, %2 : f32[3]
%5 = neg %4 : f32[3]
%6 = neg %5 : f32[3]
return %6
)") == "%0 = input 0 : f32[3]\nreturn %0\n");
}

TEST_CASE("movement peepholes", "[simplify]") {
    CHECK(simplified(R"(
%0 = input 0 : f32[2,3,4]
%1 = permute %0 {perm=[2,0,1]} : f32[4,2,3]
%2 = permute %1 {perm=[1,2,0]} : f32[2,3,4]
%3 = reshape %2 : f32[6,4]
%4 = reshape %3 : f32[24]
return %4
)") == "%0 = input 0 : f32[2,3,4]\n%1 = reshape %0 : f32[24]\nreturn %1\n");
    // a constant stays a constant through views
    CHECK(simplified(R"(
%0 = const 7 : i64[3,1]
%1 = expand %0 : i64[3,5]
%2 = permute %1 {perm=[1,0]} : i64[5,3]
return %2
)") == "%0 = const 7 : i64[5,3]\nreturn %0\n");
}

TEST_CASE("common subexpressions are one node", "[simplify]") {
    // The parser hash-conses, so the two exps are the same node already.
    CHECK(simplified(R"(
%0 = input 0 : f32[3]
%1 = exp %0 : f32[3]
%2 = exp %0 : f32[3]
%3 = add %1, %2 : f32[3]
return %3
)") == "%0 = input 0 : f32[3]\n%1 = exp %0 : f32[3]\n%2 = add %1, %1 : f32[3]\nreturn %2\n");
}
