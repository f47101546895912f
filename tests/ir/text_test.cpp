// Printer and parser of the `.kir` text: exact text, round trips over every op and attribute
// kind, and exact error messages for malformed input.
#include <bit>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "ir/build.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "kiln/error.h"

using namespace kiln;
using namespace kiln::ir;

namespace {

NodeRef input(int64_t id, DType t, Shape s) {
    return Node::make(Op::Input, t, std::move(s), {}, InputAttr{id, nullptr});
}
NodeRef un(Op op, const NodeRef& x, DType t) { return Node::make(op, t, x->shape(), {x}); }
NodeRef bin(Op op, const NodeRef& a, const NodeRef& b, DType t) {
    return Node::make(op, t, a->shape(), {a, b});
}
/// A graph using every op and every attribute kind, with awkward constants.
std::vector<NodeRef> every_op_graph() {
    std::vector<NodeRef> r;
    NodeRef x = input(0, kFloat32, {2, 3});
    NodeRef y = input(1, kFloat32, {2, 3});
    NodeRef c = make_const(1.5, kFloat32, {2, 3});
    r.push_back(bin(Op::Add, x, c, kFloat32));
    for (Op op : {Op::Neg, Op::Exp, Op::Log, Op::Sqrt, Op::Abs, Op::Sin, Op::Cos, Op::Tanh,
                  Op::Sigmoid, Op::Erf, Op::Reciprocal})
        r.push_back(un(op, x, kFloat32));
    for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Mod, Op::Max, Op::Min, Op::Pow})
        r.push_back(bin(op, x, y, kFloat32));
    NodeRef lt = bin(Op::Lt, x, y, kBool);
    NodeRef eq = bin(Op::Eq, x, y, kBool);
    r.push_back(bin(Op::Ne, x, y, kBool));
    r.push_back(bin(Op::Le, x, y, kBool));
    r.push_back(bin(Op::And, lt, eq, kBool));
    r.push_back(bin(Op::Or, lt, eq, kBool));
    r.push_back(un(Op::Not, lt, kBool));
    r.push_back(un(Op::Cast, x, kInt32));
    r.push_back(Node::make(Op::Where, kFloat32, {2, 3}, {lt, x, y}));
    for (Op op : {Op::ReduceSum, Op::ReduceMax, Op::ReduceMin})
        r.push_back(Node::make(op, kFloat32, {2, 1}, {x}, AxesAttr{{1}}));
    r.push_back(Node::make(Op::ReduceSum, kFloat32, {2, 3}, {x}, AxesAttr{{}}));
    r.push_back(Node::make(Op::Reshape, kFloat32, {3, 2}, {x}));
    r.push_back(Node::make(Op::Permute, kFloat32, {3, 2}, {x}, PermuteAttr{{1, 0}}));
    NodeRef col = input(2, kFloat64, {2, 1});
    r.push_back(Node::make(Op::Expand, kFloat64, {2, 5}, {col}));
    r.push_back(Node::make(Op::Slice, kFloat32, {2, 2}, {x}, SliceAttr{{1, 2}, {-1, -2}}));
    r.push_back(Node::make(Op::Pad, kFloat32, {3, 4}, {x}, PadAttr{{0, 1}, {1, 0}}));
    r.push_back(Node::make(Op::Flip, kFloat32, {2, 3}, {x}, AxesAttr{{0, 1}}));
    NodeRef w = input(3, kFloat32, {3, 4});
    r.push_back(Node::make(Op::Matmul, kFloat32, {2, 4}, {x, w}));
    r.push_back(Node::make(Op::Iota, kInt64, {4, 2}, {}, AxisAttr{1}));
    r.push_back(input(4, kBool, {}));
    // Autograd markers, randomness, windows, indexing and convolutions.
    r.push_back(un(Op::Detach, x, kFloat32));
    r.push_back(Node::make(Op::Leaf, kFloat32, {2, 3}, {y}, LeafAttr{7, {}}));
    NodeRef seed = input(5, kInt64, {}), offset = input(6, kInt64, {});
    r.push_back(Node::make(Op::Random, kFloat32, {2, 3}, {seed, offset}, RandomAttr{3}));
    r.push_back(Node::make(Op::Random, kFloat64, {4}, {seed, offset}, RandomAttr{2}));
    r.push_back(Node::make(Op::Window, kFloat32, {2, 2, 1}, {x}, WindowAttr{1, 2, 2, 1}));
    NodeRef index = input(7, kInt64, {5});
    NodeRef rows = build::gather(x, index, IndexAttr{0, 3});
    r.push_back(rows);
    r.push_back(build::scatter_add(index, rows, {2, 3}, IndexAttr{0, 3}));
    NodeRef image = input(8, kFloat32, {2, 4, 7, 6});
    NodeRef kernel = input(9, kFloat32, {6, 2, 3, 2});
    ConvAttr conv{{2, 1}, {1, 0}, {1, 2}, 2};
    NodeRef conv_out = build::conv2d(image, kernel, conv);
    r.push_back(conv_out);
    r.push_back(build::conv2d_grad_input(conv_out, kernel, image->shape(), conv));
    r.push_back(build::conv2d_grad_weight(image, conv_out, kernel->shape(), conv));
    // Constants: every dtype, non-finite values, NaN payloads, values needing 17 digits.
    constexpr double kInf = std::numeric_limits<double>::infinity();
    double qnan = std::numeric_limits<double>::quiet_NaN();
    for (double v : {0.1, -0.0, 1e-300, 5e-324, 1.0 / 3.0, 1e300, kInf, -kInf, qnan, -qnan,
                     std::bit_cast<double>(uint64_t{0x7ff8000000000123})})
        r.push_back(make_const(v, kFloat64));
    for (double v : {0.1, -2.5, 1e30, 1e-45, 16777217.0, kInf, -kInf, qnan, -qnan})
        r.push_back(make_const(v, kFloat32, {3}));
    r.push_back(make_int_const(-7, kInt32, {2}));
    r.push_back(make_int_const(std::numeric_limits<int32_t>::min(), kInt32));
    r.push_back(make_int_const(std::numeric_limits<int64_t>::min(), kInt64));
    r.push_back(make_int_const((int64_t{1} << 53) + 1, kInt64));
    r.push_back(make_int_const(1, kBool, {1}));
    r.push_back(make_int_const(0, kBool));
    // Loop-level ops.
    NodeRef var = Node::make(Op::LoopVar, kInt64, {}, {}, VarAttr{2, 16});
    NodeRef valid = Node::make(Op::Lt, kBool, {}, {var, make_int_const(4, kInt64)});
    r.push_back(Node::make(Op::Load, kFloat32, {}, {var}, LoadAttr{1}));
    r.push_back(Node::make(Op::Load, kFloat32, {}, {var, valid}, LoadAttr{3}));
    r.push_back(Node::make(Op::StageResult, kFloat64, {}, {}, StageAttr{0}));
    r.push_back(Node::make(Op::Philox, kFloat32, {}, {seed, var}, RandomAttr{1}));
    r.push_back(r.front());  // roots may repeat
    return r;
}

/// The whole message of the ParseError parsing `text` raises: "FILE:LINE:COL: error: WHAT", then
/// the source line and a caret.
std::string parse_message(std::string_view text, std::string_view file = "x.kir") {
    try {
        parse_graph(text, file);
    } catch (const ParseError& e) {
        return e.what();
    }
    return "(no error)";
}
/// Its first line, "FILE:LINE:COL: error: WHAT".
std::string parse_error(std::string_view text, std::string_view file = "x.kir") {
    std::string m = parse_message(text, file);
    return m.substr(0, m.find('\n'));
}

}  // namespace

TEST_CASE("printer writes the documented text", "[ir][text]") {
    NodeRef x = input(0, kFloat32, {2, 3});
    NodeRef c = make_const(1.5, kFloat32, {2, 3});
    NodeRef s = bin(Op::Add, x, c, kFloat32);
    NodeRef r = Node::make(Op::ReduceSum, kFloat32, {2, 1}, {s}, AxesAttr{{1}});
    NodeRef p = Node::make(Op::Permute, kFloat32, {1, 2}, {r}, PermuteAttr{{1, 0}});
    NodeRef sl = Node::make(Op::Slice, kFloat32, {2, 1}, {x}, SliceAttr{{0, 1}, {1, 2}});
    NodeRef pd = Node::make(Op::Pad, kFloat32, {3, 4}, {x}, PadAttr{{0, 1}, {1, 0}});
    NodeRef io = Node::make(Op::Iota, kInt64, {4}, {}, AxisAttr{0});
    NodeRef ca = un(Op::Cast, s, kInt32);
    NodeRef sc = make_const(0.1, kFloat32);
    CHECK(print_graph({r, p, sl, pd, io, ca, sc, r}) ==
          "%0 = input 0 : f32[2,3]\n"
          "%1 = const 1.5 : f32[2,3]\n"
          "%2 = add %0, %1 : f32[2,3]\n"
          "%3 = reduce_sum %2 {axes=[1]} : f32[2,1]\n"
          "%4 = permute %3 {perm=[1,0]} : f32[1,2]\n"
          "%5 = slice %0 {start=[0,1], step=[1,2]} : f32[2,1]\n"
          "%6 = pad %0 {before=[0,1], after=[1,0]} : f32[3,4]\n"
          "%7 = iota {axis=0} : i64[4]\n"
          "%8 = cast %2 : i32[2,3]\n"
          "%9 = const 0.1 : f32[]\n"
          "return %3, %4, %5, %6, %7, %8, %9, %3\n");
}

TEST_CASE("printer spells special constants and loop attributes", "[ir][text]") {
    double qnan = std::numeric_limits<double>::quiet_NaN();
    NodeRef var = Node::make(Op::LoopVar, kInt64, {}, {}, VarAttr{1, 8});
    NodeRef ld = Node::make(Op::Load, kFloat32, {}, {var}, LoadAttr{2});
    NodeRef st = Node::make(Op::StageResult, kFloat32, {}, {}, StageAttr{0});
    NodeRef fl = Node::make(Op::Flip, kFloat32, {}, {ld}, AxesAttr{{}});
    CHECK(print_graph({make_const(qnan, kFloat64), make_const(-qnan, kFloat32),
                       make_const(INFINITY, kFloat32), make_const(-INFINITY, kFloat64),
                       make_const(1e300, kFloat64), make_int_const(-3, kInt32),
                       make_int_const(1, kBool), ld, st, fl}) ==
          "%0 = const nan : f64[]\n"
          "%1 = const -nan : f32[]\n"
          "%2 = const inf : f32[]\n"
          "%3 = const -inf : f64[]\n"
          "%4 = const 1e+300 : f64[]\n"
          "%5 = const -3 : i32[]\n"
          "%6 = const 1 : bool[]\n"
          "%7 = var {index=1, extent=8} : i64[]\n"
          "%8 = load %7 {buffer=2} : f32[]\n"
          "%9 = stage {stage=0} : f32[]\n"
          "%10 = flip %8 {axes=[]} : f32[]\n"
          "return %0, %1, %2, %3, %4, %5, %6, %8, %9, %10\n");
    CHECK(print_graph({}) == "return\n");
}

TEST_CASE("parse(print(g)) is g for every op and attribute kind", "[ir][text]") {
    std::vector<NodeRef> g = every_op_graph();
    REQUIRE_NOTHROW(verify_graph(g));
    std::string text = print_graph(g);
    std::vector<NodeRef> back = parse_graph(text, "roundtrip.kir");
    REQUIRE(back.size() == g.size());
    for (size_t i = 0; i < g.size(); ++i) {
        INFO("root " << i << ": " << print_graph({g[i]}));
        CHECK(back[i] == g[i]);
    }
    CHECK(print_graph(back) == text);
}

TEST_CASE("parser reads hand-written text", "[ir][text]") {
    std::vector<NodeRef> g = parse_graph("# a comment line\r\n"
                                         "\n"
                                         "   %x = input 7 : f32[2]   # trailing comment\n"
                                         "%one = const 1 : f32[2]\n"
                                         "%tenth=const 0.1:f32[]\n"
                                         "%b = const true : bool[]\n"
                                         "%y = add %x,%one : f32[2]\n"
                                         "%r = reduce_max %y { axes = [ 0 ] } : f32[1]\n"
                                         "\n"
                                         "return %r, %y, %tenth, %b   \n"
                                         "# done\n");
    REQUIRE(g.size() == 4);
    NodeRef x = input(7, kFloat32, {2});
    NodeRef y = bin(Op::Add, x, make_const(1.0, kFloat32, {2}), kFloat32);
    CHECK(g[0] == Node::make(Op::ReduceMax, kFloat32, {1}, {y}, AxesAttr{{0}}));
    CHECK(g[1] == y);
    CHECK(g[2] == make_const(0.1, kFloat32));  // f32 literals mean the nearest float
    CHECK(g[3] == make_int_const(1, kBool));
    CHECK(parse_graph("return\n").empty());
    // A loop variable's extent may be left out (0: unknown).
    CHECK(parse_graph("%v = var {index=3} : i64[]\nreturn %v")[0] ==
          Node::make(Op::LoopVar, kInt64, {}, {}, VarAttr{3, 0}));
    CHECK(parse_graph("%0 = input 0 : i64[]\nreturn %0").size() == 1);  // no final newline
}

TEST_CASE("parse errors name file, line and column", "[ir][text][errors]") {
    // Undefined value (the example from the docs).
    CHECK(parse_error("%0 = input 0 : f32[2]\n"
                      "%1 = input 1 : f32[2]\n"
                      "%2 = add %7, %0 : f32[2]\n"
                      "return %2\n",
                      "model.kir") == "model.kir:3:10: error: use of undefined value '%7'");
    CHECK(parse_error("%0 = input 0 : f32[2]\nreturn %0, %9\n") ==
          "x.kir:2:12: error: use of undefined value '%9'");
    // Unknown op.
    CHECK(parse_error("%0 = input 0 : f32[2]\n%1 = frob %0 : f32[2]\nreturn %1\n") ==
          "x.kir:2:6: error: unknown op 'frob'");
    // Bad dtype.
    CHECK(parse_error("%0 = input 0 : f16[2]\nreturn %0\n") ==
          "x.kir:1:16: error: unknown dtype 'f16'");
    // Wrong input count.
    CHECK(parse_error("%0 = input 0 : f32[2]\n%1 = add %0 : f32[2]\nreturn %1\n") ==
          "x.kir:2:6: error: add expects 2 operands, got 1");
    CHECK(parse_error("%0 = input 0 : f32[2]\n%1 = neg %0, %0 : f32[2]\nreturn %1\n") ==
          "x.kir:2:6: error: neg expects 1 operand, got 2");
    // Malformed attributes.
    const char* head = "%0 = input 0 : f32[2,3]\n";
    CHECK(parse_error(std::string(head) + "%1 = reduce_sum %0 {axes=1} : f32[2,1]\nreturn %1") ==
          "x.kir:2:26: error: attribute 'axes' must be a list of integers");
    CHECK(parse_error(std::string(head) + "%1 = reduce_sum %0 {axis=[1]} : f32[2,1]\nreturn %1") ==
          "x.kir:2:21: error: unknown attribute 'axis' for reduce_sum");
    CHECK(parse_error(std::string(head) + "%1 = reduce_sum %0 : f32[2,1]\nreturn %1") ==
          "x.kir:2:6: error: reduce_sum needs attribute 'axes'");
    CHECK(parse_error(std::string(head) + "%1 = slice %0 {start=[0,0]} : f32[2,3]\nreturn %1") ==
          "x.kir:2:15: error: slice needs attribute 'step'");
    CHECK(parse_error(std::string(head) + "%1 = reduce_sum %0 {axes [1]} : f32[2,1]\nreturn %1") ==
          "x.kir:2:26: error: expected '=' after attribute 'axes', found '['");
    CHECK(parse_error(std::string(head) + "%1 = reduce_sum %0 {axes=[1,]} : f32[2,1]\nreturn %1") ==
          "x.kir:2:29: error: expected an integer, found ']'");
    CHECK(parse_error(std::string(head) +
                      "%1 = reduce_sum %0 {axes=[1], axes=[1]} : f32[2,1]\nreturn %1") ==
          "x.kir:2:31: error: duplicate attribute 'axes'");
    CHECK(parse_error(std::string(head) + "%1 = exp %0 {axes=[1]} : f32[2,3]\nreturn %1") ==
          "x.kir:2:14: error: unknown attribute 'axes' for exp");
    // Missing return (reported where the input ends).
    CHECK(parse_error("%0 = input 0 : f32[2]\n") ==
          "x.kir:2:1: error: missing 'return' at end of input");
    CHECK(parse_error("%0 = input 0 : f32[2]") ==
          "x.kir:1:22: error: missing 'return' at end of input");
    // Verifier failure of a node, reported at its line.
    CHECK(parse_error("%0 = input 0 : f32[2,3]\n"
                      "%1 = input 1 : f32[3]\n"
                      "# add with a mismatched input\n"
                      "%2 = add %0, %1 : f32[2,3]\n"
                      "return %2\n") ==
          "x.kir:4:1: error: add: input shapes [2,3] and [3] differ from result [2,3]");
    CHECK(parse_error("%0 = input 0 : i32[2]\n  %1 = exp %0 : i32[2]\nreturn %1\n") ==
          "x.kir:2:3: error: exp: needs a float dtype, got i32");
    // Other malformed input.
    CHECK(parse_error("%0 = input 0 : f32[2]\n%0 = neg %0 : f32[2]\nreturn %0\n") ==
          "x.kir:2:1: error: redefinition of value '%0'");
    CHECK(parse_error("%0 = input 0 : f32[2]\nreturn %0\n%1 = neg %0 : f32[2]\n") ==
          "x.kir:3:1: error: unexpected text after 'return'");
    CHECK(parse_error("%0 = input 0 f32[2]\nreturn %0\n") ==
          "x.kir:1:14: error: expected ':' before the result type, found 'f32'");
    CHECK(parse_error("%0 = input 0 : f32[2, -1]\nreturn %0\n") ==
          "x.kir:1:19: error: negative dimension in shape [2,-1]");
    // Shapes that overflow a 64-bit element or byte count, or have too many dims.
    CHECK(parse_error("%0 = input 0 : f32[999999999999,999999999]\nreturn %0\n") ==
          "x.kir:1:19: error: shape [999999999999,999999999] has more than 9223372036854775807 "
          "elements");
    CHECK(parse_error("%0 = input 0 : f64[2305843009213693952]\nreturn %0\n") ==
          "x.kir:1:19: error: shape [2305843009213693952] has 2305843009213693952 elements of f64: "
          "more than 9223372036854775807 bytes");
    std::string rank65 = "1";
    for (int i = 1; i < 65; ++i) rank65 += ",1";
    CHECK(parse_error("%0 = input 0 : f32[" + rank65 + "]\nreturn %0\n") ==
          "x.kir:1:19: error: rank 65 is more than Kiln's limit of 64 dimensions");
    CHECK(parse_error("%0 = input 0 : f32[2] extra\nreturn %0\n") ==
          "x.kir:1:23: error: expected end of line, found 'extra'");
    CHECK(parse_error("%0 = input x : f32[2]\nreturn %0\n") ==
          "x.kir:1:12: error: expected an input id (an integer), found 'x'");
    CHECK(parse_error("%0 = const abc : f32[]\nreturn %0\n") ==
          "x.kir:1:12: error: invalid f32 constant 'abc'");
    CHECK(parse_error("%0 = const 1.5 : i32[]\nreturn %0\n") ==
          "x.kir:1:12: error: invalid i32 constant '1.5'");
    CHECK(parse_error("%0 = const 3000000000 : i32[]\nreturn %0\n") ==
          "x.kir:1:12: error: constant '3000000000' out of range for i32");
    CHECK(parse_error("%0 = const 1e40 : f32[]\nreturn %0\n") ==
          "x.kir:1:12: error: constant '1e40' out of range for f32");
    CHECK(parse_error("%0 = const 2 : bool[]\nreturn %0\n") ==
          "x.kir:1:12: error: bool constant must be 0 or 1, got '2'");
    CHECK(parse_error("%0 = const nan(0x1) : f64[]\nreturn %0\n") ==
          "x.kir:1:12: error: invalid NaN bit pattern 'nan(0x1)'");
    CHECK(parse_error("add %0\n") ==
          "x.kir:1:1: error: expected a definition '%name = ...' or 'return', found 'add'");
    CHECK(parse_error("%0 = input 0 : f32[2]\n% = neg %0 : f32[2]\nreturn %0\n") ==
          "x.kir:2:2: error: expected a value name after '%', found ' '");
    CHECK(parse_error("%0 = input 0 : f32[2]\nreturn 0\n") ==
          "x.kir:2:8: error: expected a value after 'return', found '0'");
    CHECK(parse_error("%0 = input 0 : f32[99999999999999999999]\nreturn %0\n") ==
          "x.kir:1:20: error: integer '99999999999999999999' out of range");
}

TEST_CASE("parse errors show the source line and a caret", "[ir][text][errors]") {
    // What follows the first line: the shown line and a caret `col` columns in, both indented.
    auto shown = [](const std::string& line, size_t col) {
        return "\n    " + line + "\n    " + std::string(col, ' ') + "^";
    };
    // The example of the docs, in full.
    CHECK(parse_message("%0 = input 0 : f32[4]\n"
                        "%1 = input 1 : f32[4]\n"
                        "%8 = add %7, %1 : f32[4]\n"
                        "return %8\n",
                        "model.kir") == "model.kir:3:10: error: use of undefined value '%7'\n"
                                        "    %8 = add %7, %1 : f32[4]\n"
                                        "             ^");
    // The caret may stand past the end of the line; a CRLF line end is not shown.
    CHECK(parse_message("%0 = input 0 : f32[2]") ==
          "x.kir:1:22: error: missing 'return' at end of input" +
              shown("%0 = input 0 : f32[2]", 21));
    CHECK(parse_message("%0 = input 0 : f32[2] extra\r\nreturn %0\r\n") ==
          "x.kir:1:23: error: expected end of line, found 'extra'" +
              shown("%0 = input 0 : f32[2] extra", 22));
    // An empty line has nothing to show.
    CHECK(parse_message("%0 = input 0 : f32[2]\n") ==
          "x.kir:2:1: error: missing 'return' at end of input");
    CHECK(parse_message("") == "x.kir:1:1: error: missing 'return' at end of input");
    // Tabs become spaces (tab stops of 4); the column still counts bytes.
    CHECK(parse_message("\t%0 =\tinput x : f32[2]\nreturn %0\n") ==
          "x.kir:1:13: error: expected an input id (an integer), found 'x'" +
              shown("    %0 =    input x : f32[2]", 18));
    // Control characters (C0, DEL, C1) and bytes that are not UTF-8 are shown escaped, the
    // caret under the escaped text; other UTF-8 characters are shown as they are.
    CHECK(parse_message("%0 =\r\rfrob : f32[2]\nreturn %0\n") ==
          "x.kir:1:7: error: unknown op 'frob'" + shown(R"(%0 =\x0d\x0dfrob : f32[2])", 12));
    std::string binary("\x7f"
                       "ELF\0\1\xff\xfe\n",
                       9);
    CHECK(parse_message(binary) ==
          R"(x.kir:1:1: error: expected a definition '%name = ...' or 'return', found '\x7f')" +
              shown(R"(\x7fELF\x00\x01\xff\xfe)", 0));
    CHECK(parse_message("%0 = input 0 : f32[2] \xc3\xa9t\xc3\xa9 \x01\xc2\x9b\nreturn %0\n") ==
          "x.kir:1:23: error: expected end of line, found '\xc3\xa9'" +
              shown("%0 = input 0 : f32[2] \xc3\xa9t\xc3\xa9 \\x01\\xc2\\x9b", 22));
    CHECK(parse_message("%0 = input 0 : f32[2]\n\xc2\x9b[2J\nreturn %0\n") ==
          R"(x.kir:2:1: error: expected a definition '%name = ...' or 'return', found '\xc2\x9b')" +
              shown(R"(\xc2\x9b[2J)", 0));
    // A long line is cut around the caret, "..." marking the cuts.
    std::string pad(200, ' ');
    CHECK(parse_message("%0 = input 0 : f32[2]" + pad + "x" + pad + "\nreturn %0\n") ==
          "x.kir:1:222: error: expected end of line, found 'x'" +
              shown("..." + std::string(60, ' ') + "x" + std::string(59, ' ') + "...", 63));
    CHECK(parse_message("%0 = input 0 : f32[2] x" + pad + "\nreturn %0\n") ==
          "x.kir:1:23: error: expected end of line, found 'x'" +
              shown("%0 = input 0 : f32[2] x" + std::string(97, ' ') + "...", 22));
    // A huge token is cut in the message too, and a huge line costs no more than a short one.
    std::string huge(1 << 20, 'a');
    CHECK(parse_message(huge) ==
          "x.kir:1:1: error: expected a definition '%name = ...' or 'return', found '" +
              std::string(61, 'a') + "...'" + shown(std::string(120, 'a') + "...", 0));
    CHECK(parse_error("%0 = input 0 : f32[2]\n%1 = neg %" + huge + " : f32[2]\nreturn %1\n") ==
          "x.kir:2:10: error: use of undefined value '%" + std::string(60, 'a') + "...'");
}

TEST_CASE("parsed inputs have no data", "[ir][text]") {
    auto data = std::make_shared<int>(5);
    NodeRef with_data = Node::make(Op::Input, kFloat32, {2}, {}, InputAttr{3, data});
    std::vector<NodeRef> back = parse_graph(print_graph({with_data}));
    CHECK(back[0] != with_data);
    CHECK(back[0] == input(3, kFloat32, {2}));
    CHECK(back[0]->attr_as<InputAttr>().data == nullptr);
}
