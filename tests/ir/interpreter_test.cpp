// The reference interpreter on small hand-computed cases, one or more per op family.
#include <cmath>
#include <limits>
#include <map>

#include <catch2/catch.hpp>

#include "ir/interpreter.h"
#include "ir/parser.h"
#include "kiln/error.h"

using namespace kiln;
using namespace kiln::ir;

namespace {

using Values = std::vector<double>;

/// Parses `text` and runs it; input k gets inputs[k] (dtype and shape taken from the node).
std::vector<RefTensor> run_text(const std::string& text, const std::vector<Values>& inputs = {}) {
    std::vector<NodeRef> roots = parse_graph(text, "test.kir");
    return interpret(roots, [&](const Node& n) {
        int64_t id = n.attr_as<InputAttr>().id;
        return RefTensor{n.dtype(), n.shape(), inputs.at(static_cast<size_t>(id))};
    });
}
/// The values of the single root.
Values run1(const std::string& text, const std::vector<Values>& inputs = {}) {
    std::vector<RefTensor> out = run_text(text, inputs);
    REQUIRE(out.size() == 1);
    return out[0].values;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

bool same(const Values& a, const Values& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
}

}  // namespace

TEST_CASE("interpreter: sources and result metadata", "[ir][interp]") {
    std::vector<RefTensor> out = run_text("%0 = iota {axis=1} : i32[2,3]\n"
                                          "%1 = iota {axis=0} : f32[2,3]\n"
                                          "%2 = const -2.5 : f64[2]\n"
                                          "%3 = input 0 : i64[]\n"
                                          "return %0, %1, %2, %3, %3\n",
                                          {{42}});
    REQUIRE(out.size() == 5);
    CHECK(out[0].dtype == kInt32);
    CHECK(out[0].shape == Shape{2, 3});
    CHECK(out[0].values == Values{0, 1, 2, 0, 1, 2});
    CHECK(out[1].values == Values{0, 0, 0, 1, 1, 1});
    CHECK(out[2].values == Values{-2.5, -2.5});
    CHECK(out[3].values == Values{42});
    CHECK(out[4].values == Values{42});
}

TEST_CASE("interpreter: unary ops", "[ir][interp]") {
    const std::string head = "%0 = input 0 : f64[3]\n";
    Values x = {-1.0, 0.25, 4.0};
    auto un = [&](const char* op) {
        return run1(head + "%1 = " + op + " %0 : f64[3]\nreturn %1\n", {x});
    };
    CHECK(un("neg") == Values{1.0, -0.25, -4.0});
    CHECK(un("abs") == Values{1.0, 0.25, 4.0});
    CHECK(un("exp") == Values{std::exp(-1.0), std::exp(0.25), std::exp(4.0)});
    CHECK(un("reciprocal") == Values{-1.0, 4.0, 0.25});
    CHECK(un("sigmoid")[0] == Approx(1.0 / (1.0 + std::exp(1.0))));
    CHECK(un("erf")[2] == std::erf(4.0));
    CHECK(un("tanh")[1] == std::tanh(0.25));
    CHECK(un("sin")[1] == std::sin(0.25));
    CHECK(un("cos")[1] == std::cos(0.25));
    Values s = un("sqrt");
    CHECK(std::isnan(s[0]));
    CHECK(s[2] == 2.0);
    Values l = un("log");
    CHECK(std::isnan(l[0]));
    CHECK(l[1] == std::log(0.25));
    CHECK(run1("%0 = input 0 : bool[2]\n%1 = not %0 : bool[2]\nreturn %1", {{1, 0}}) ==
          Values{0, 1});
}

TEST_CASE("interpreter: casts round, truncate and wrap", "[ir][interp]") {
    Values x = {0.1, -2.7, 2.7, 3e9};
    const std::string head = "%0 = input 0 : f64[4]\n";
    CHECK(run1(head + "%1 = cast %0 : f32[4]\nreturn %1", {x})[0] ==
          static_cast<double>(0.1f));  // f32 results round to float
    CHECK(run1(head + "%1 = cast %0 : i64[4]\nreturn %1", {x}) == Values{0, -2, 2, 3e9});
    CHECK(run1(head + "%1 = cast %0 : i32[4]\nreturn %1", {x}) ==
          Values{0, -2, 2, 3e9 - 4294967296.0});
    CHECK(run1(head + "%1 = cast %0 : bool[4]\nreturn %1", {x}) == Values{1, 1, 1, 1});
    CHECK(run1("%0 = input 0 : i64[2]\n%1 = cast %0 : i32[2]\nreturn %1", {{4294967297.0, -1}}) ==
          Values{1, -1});
    CHECK(run1("%0 = input 0 : bool[2]\n%1 = cast %0 : f32[2]\nreturn %1", {{1, 0}}) ==
          Values{1, 0});
}

TEST_CASE("interpreter: float binary ops, NaN through max/min", "[ir][interp]") {
    double nan = std::nan("");
    Values a = {7.0, -7.0, nan, 1.0, 2.0};
    Values b = {2.0, 2.0, 1.0, nan, 0.0};
    const std::string head = "%0 = input 0 : f64[5]\n%1 = input 1 : f64[5]\n";
    auto bin = [&](const char* op, const char* t = "f64") {
        return run1(head + "%2 = " + op + " %0, %1 : " + t + "[5]\nreturn %2\n", {a, b});
    };
    CHECK(same(bin("add"), {9, -5, nan, nan, 2}));
    CHECK(same(bin("sub"), {5, -9, nan, nan, 2}));
    CHECK(same(bin("mul"), {14, -14, nan, nan, 0}));
    CHECK(same(bin("div"), {3.5, -3.5, nan, nan, kInf}));
    CHECK(same(bin("mod"), {1, -1, nan, nan, nan}));  // C's fmod: sign of the dividend
    CHECK(same(bin("max"), {7, 2, nan, nan, 2}));
    CHECK(same(bin("min"), {2, -7, nan, nan, 0}));
    CHECK(same(bin("pow"), {49, 49, nan, 1, 1}));  // C pow: pow(1, NaN) = 1
    CHECK(bin("eq", "bool") == Values{0, 0, 0, 0, 0});
    CHECK(bin("ne", "bool") == Values{1, 1, 1, 1, 1});
    CHECK(bin("lt", "bool") == Values{0, 1, 0, 0, 0});
    CHECK(bin("le", "bool") == Values{0, 1, 0, 0, 0});
    CHECK(run1("%0 = input 0 : bool[4]\n%1 = input 1 : bool[4]\n%2 = and %0, %1 : bool[4]\n"
               "%3 = or %0, %1 : bool[4]\n%4 = not %2 : bool[4]\n%5 = and %4, %3 : bool[4]\n"
               "return %5",
               {{0, 0, 1, 1}, {0, 1, 0, 1}}) == Values{0, 1, 1, 0});  // xor
}

TEST_CASE("interpreter: integer wrap, truncation and division by zero", "[ir][interp]") {
    Values a = {2147483647, -7, 7, -2147483648.0, 5};
    Values b = {1, 2, -2, -1, 0};
    const std::string head = "%0 = input 0 : i32[5]\n%1 = input 1 : i32[5]\n";
    auto bin = [&](const char* op) {
        return run1(head + "%2 = " + op + " %0, %1 : i32[5]\nreturn %2\n", {a, b});
    };
    CHECK(bin("add") == Values{-2147483648.0, -5, 5, 2147483647, 5});
    CHECK(bin("sub") == Values{2147483646, -9, 9, -2147483647, 5});
    CHECK(bin("mul") == Values{2147483647, -14, -14, -2147483648.0, 0});
    CHECK(bin("div") == Values{2147483647, -3, -3, -2147483648.0, 0});
    CHECK(bin("mod") == Values{0, -1, 1, 0, 0});
    CHECK(bin("max") == Values{2147483647, 2, 7, -1, 5});
    CHECK(bin("pow") == Values{2147483647, 49, 0, 0, 1});
    CHECK(run1("%0 = input 0 : i32[2]\n%1 = neg %0 : i32[2]\n%2 = abs %1 : i32[2]\nreturn %2",
               {{-2147483648.0, 3}}) == Values{-2147483648.0, 3});
    CHECK(run1("%0 = input 0 : i32[1]\n%1 = const 65536 : i32[1]\n%2 = mul %0, %1 : i32[1]\n"
               "return %2",
               {{65536}}) == Values{0});
    CHECK(run1("%0 = input 0 : i64[1]\n%1 = const 2 : i64[1]\n%2 = mul %0, %1 : i64[1]\n"
               "return %2",
               {{4611686018427387904.0}}) == Values{-9223372036854775808.0});
    CHECK(run1("%0 = input 0 : i64[2]\n%1 = input 1 : i64[2]\n%2 = div %0, %1 : i64[2]\n"
               "return %2",
               {{-9223372036854775808.0, 9}, {-1, 0}}) == Values{-9223372036854775808.0, 0});
    CHECK(run1("%0 = input 0 : i32[2]\n%1 = input 1 : i32[2]\n%2 = pow %0, %1 : i32[2]\n"
               "return %2",
               {{2, -1}, {31, -3}}) == Values{-2147483648.0, -1});
}

TEST_CASE("interpreter: where", "[ir][interp]") {
    CHECK(run1("%0 = input 0 : bool[3]\n%1 = input 1 : i64[3]\n%2 = input 2 : i64[3]\n"
               "%3 = where %0, %1, %2 : i64[3]\nreturn %3",
               {{1, 0, 1}, {1, 2, 3}, {10, 20, 30}}) == Values{1, 20, 3});
}

TEST_CASE("interpreter: reductions, including empty axes", "[ir][interp]") {
    Values x = {1, 5, 3, 4, -2, 6};  // [[1,5,3],[4,-2,6]]
    const std::string head = "%0 = input 0 : f32[2,3]\n";
    CHECK(run1(head + "%1 = reduce_sum %0 {axes=[1]} : f32[2,1]\nreturn %1", {x}) == Values{9, 8});
    CHECK(run1(head + "%1 = reduce_sum %0 {axes=[0]} : f32[1,3]\nreturn %1", {x}) ==
          Values{5, 3, 9});
    CHECK(run1(head + "%1 = reduce_max %0 {axes=[0,1]} : f32[1,1]\nreturn %1", {x}) == Values{6});
    CHECK(run1(head + "%1 = reduce_min %0 {axes=[1]} : f32[2,1]\nreturn %1", {x}) == Values{1, -2});
    CHECK(run1(head + "%1 = reduce_sum %0 {axes=[]} : f32[2,3]\nreturn %1", {x}) == x);
    Values with_nan = {1, std::nan(""), 3, 4, 5, 6};
    CHECK(same(run1(head + "%1 = reduce_max %0 {axes=[1]} : f32[2,1]\nreturn %1", {with_nan}),
               {std::nan(""), 6}));
    CHECK(same(run1(head + "%1 = reduce_min %0 {axes=[1]} : f32[2,1]\nreturn %1", {with_nan}),
               {std::nan(""), 4}));
    // Reducing a size-0 axis gives the identity.
    const std::string empty = "%0 = input 0 : f32[2,0]\n";
    CHECK(run1(empty + "%1 = reduce_sum %0 {axes=[1]} : f32[2,1]\nreturn %1", {{}}) ==
          Values{0, 0});
    CHECK(run1(empty + "%1 = reduce_max %0 {axes=[1]} : f32[2,1]\nreturn %1", {{}}) ==
          Values{-kInf, -kInf});
    CHECK(run1(empty + "%1 = reduce_min %0 {axes=[1]} : f32[2,1]\nreturn %1", {{}}) ==
          Values{kInf, kInf});
    CHECK(run1("%0 = input 0 : i32[0]\n%1 = reduce_max %0 {axes=[0]} : i32[1]\nreturn %1", {{}}) ==
          Values{-2147483648.0});
    CHECK(run1("%0 = input 0 : i32[0]\n%1 = reduce_min %0 {axes=[0]} : i32[1]\nreturn %1", {{}}) ==
          Values{2147483647});
    CHECK(run1("%0 = input 0 : i64[0]\n%1 = reduce_max %0 {axes=[0]} : i64[1]\nreturn %1", {{}}) ==
          Values{-9223372036854775808.0});
    // Integer sums wrap at the dtype's width.
    CHECK(run1("%0 = input 0 : i32[2]\n%1 = reduce_sum %0 {axes=[0]} : i32[1]\nreturn %1",
               {{2147483647, 2}}) == Values{-2147483647});
}

TEST_CASE("interpreter: movement ops", "[ir][interp]") {
    Values x = {0, 1, 2, 3, 4, 5};  // [[0,1,2],[3,4,5]]
    const std::string head = "%0 = input 0 : i64[2,3]\n";
    CHECK(run1(head + "%1 = reshape %0 : i64[3,2]\nreturn %1", {x}) == x);
    CHECK(run1(head + "%1 = permute %0 {perm=[1,0]} : i64[3,2]\nreturn %1", {x}) ==
          Values{0, 3, 1, 4, 2, 5});
    CHECK(run1("%0 = input 0 : i64[2,3,1]\n%1 = permute %0 {perm=[2,0,1]} : i64[1,2,3]\nreturn %1",
               {x}) == x);
    // Broadcast: reshape + expand, [3] -> [1,3] -> [2,3], added to a [2,3].
    CHECK(run1("%0 = input 0 : i64[3]\n%1 = reshape %0 : i64[1,3]\n%2 = expand %1 : i64[2,3]\n"
               "%3 = input 1 : i64[2,3]\n%4 = add %2, %3 : i64[2,3]\nreturn %4",
               {{10, 20, 30}, x}) == Values{10, 21, 32, 13, 24, 35});
    CHECK(run1("%0 = input 0 : i64[2,1]\n%1 = expand %0 : i64[2,3]\nreturn %1", {{7, 8}}) ==
          Values{7, 7, 7, 8, 8, 8});
    // Slice with a negative step: rows reversed, every other column from the end.
    CHECK(run1(head + "%1 = slice %0 {start=[1,2], step=[-1,-2]} : i64[2,2]\nreturn %1", {x}) ==
          Values{5, 3, 2, 0});
    CHECK(run1(head + "%1 = slice %0 {start=[0,1], step=[1,1]} : i64[2,2]\nreturn %1", {x}) ==
          Values{1, 2, 4, 5});
    CHECK(
        run1(head + "%1 = slice %0 {start=[0,5], step=[1,1]} : i64[2,0]\nreturn %1", {x}).empty());
    CHECK(run1(head + "%1 = pad %0 {before=[1,0], after=[0,1]} : i64[3,4]\nreturn %1", {x}) ==
          Values{0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 5, 0});
    CHECK(run1(head + "%1 = flip %0 {axes=[1]} : i64[2,3]\nreturn %1", {x}) ==
          Values{2, 1, 0, 5, 4, 3});
    CHECK(run1(head + "%1 = flip %0 {axes=[0,1]} : i64[2,3]\nreturn %1", {x}) ==
          Values{5, 4, 3, 2, 1, 0});
}

TEST_CASE("interpreter: batched matmul", "[ir][interp]") {
    // Batch 0: [[1,2],[3,4]] x [[5],[6]] = [[17],[39]]; batch 1: [[1,0],[0,1]] x [[7],[8]].
    CHECK(run1("%0 = input 0 : f64[2,2,2]\n%1 = input 1 : f64[2,2,1]\n"
               "%2 = matmul %0, %1 : f64[2,2,1]\nreturn %2",
               {{1, 2, 3, 4, 1, 0, 0, 1}, {5, 6, 7, 8}}) == Values{17, 39, 7, 8});
    CHECK(run1("%0 = input 0 : f32[1,3]\n%1 = input 1 : f32[3,2]\n%2 = matmul %0, %1 : f32[1,2]\n"
               "return %2",
               {{1, 2, 3}, {1, 0, 0, 1, 1, 1}}) == Values{4, 5});
    CHECK(run1("%0 = input 0 : f32[2,0]\n%1 = input 1 : f32[0,2]\n%2 = matmul %0, %1 : f32[2,2]\n"
               "return %2",
               {{}, {}}) == Values{0, 0, 0, 0});
}

TEST_CASE("interpreter evaluates shared nodes once", "[ir][interp]") {
    // A chain where each node uses the previous one twice: 2^40 paths, 41 nodes.
    std::string text = "%0 = input 0 : f64[]\n";
    for (int i = 1; i <= 40; ++i)
        text += "%" + std::to_string(i) + " = add %" + std::to_string(i - 1) + ", %" +
                std::to_string(i - 1) + " : f64[]\n";
    text += "return %40\n";
    int calls = 0;
    std::vector<NodeRef> roots = parse_graph(text);
    std::vector<RefTensor> out = interpret(roots, [&](const Node& n) {
        ++calls;
        return RefTensor{n.dtype(), n.shape(), {1}};
    });
    CHECK(calls == 1);
    CHECK(out[0].values == Values{1099511627776.0});
}

TEST_CASE("interpreter rejects loop ops and bad inputs", "[ir][interp]") {
    NodeRef var = Node::make(Op::LoopVar, kInt64, {}, {}, VarAttr{0});
    auto no_input = [](const Node& n) -> RefTensor { return {}; };
    CHECK_THROWS_AS(interpret({var}, no_input), InternalError);
    NodeRef x = Node::make(Op::Input, kFloat32, {2}, {}, InputAttr{0, nullptr});
    CHECK_THROWS_AS(interpret({x},
                              [](const Node&) {
                                  return RefTensor{kFloat32, {3}, {1, 2, 3}};
                              }),
                    InternalError);
    NodeRef bad = Node::make(Op::Add, kFloat32, {2},
                             {x, Node::make(Op::Input, kFloat64, {2}, {}, InputAttr{1, nullptr})});
    CHECK_THROWS_WITH(interpret({bad},
                                [](const Node& n) {
                                    return RefTensor{n.dtype(), n.shape(), {1, 2}};
                                }),
                      "interpret: ill-formed node: add: input dtypes f32 and f64 differ");
}
