// The verifier: one rejected example (with its exact message) per rule, plus accepted nodes.
#include <catch2/catch.hpp>

#include "ir/verify.h"
#include "kiln/error.h"

using namespace kiln;
using namespace kiln::ir;

namespace {

NodeRef in(DType t, Shape s, int64_t id = 0) {
    return Node::make(Op::Input, t, std::move(s), {}, InputAttr{id, nullptr});
}
std::string check(Op op, DType t, Shape s, std::vector<NodeRef> inputs, Attr attr = NoAttr{}) {
    return check_node(*Node::make(op, t, std::move(s), std::move(inputs), std::move(attr)));
}
NodeRef raw_const(DType t, double f, int64_t i) {
    ConstAttr c;
    c.f = f;
    c.i = i;
    return Node::make(Op::Const, t, {}, {}, c);
}

}  // namespace

TEST_CASE("verifier accepts well-formed nodes", "[ir][verify]") {
    NodeRef x = in(kFloat32, {2, 3});
    NodeRef b = in(kBool, {2, 3}, 1);
    CHECK(check(Op::Add, kFloat32, {2, 3}, {x, x}) == "");
    CHECK(check(Op::Lt, kBool, {2, 3}, {x, x}) == "");
    CHECK(check(Op::Cast, kBool, {2, 3}, {x}) == "");
    CHECK(check(Op::Where, kFloat32, {2, 3}, {b, x, x}) == "");
    CHECK(check(Op::ReduceMax, kFloat32, {1, 1}, {x}, AxesAttr{{0, 1}}) == "");
    CHECK(check(Op::Slice, kFloat32, {2, 0}, {x}, SliceAttr{{1, 99}, {-1, 5}}) == "");
    CHECK(check(Op::Slice, kFloat32, {1, 2}, {x}, SliceAttr{{1, 2}, {1, -2}}) == "");
    CHECK(check(Op::Matmul, kFloat64, {4, 2, 5},
                {in(kFloat64, {4, 2, 3}), in(kFloat64, {4, 3, 5})}) == "");
    CHECK(check(Op::Iota, kFloat32, {3, 2}, {}, AxisAttr{1}) == "");
    CHECK(check_node(*make_const(0.1, kFloat32)) == "");
    CHECK_NOTHROW(verify_graph({x, b}));
}

TEST_CASE("verifier rejects bad sources and attribute kinds", "[ir][verify]") {
    NodeRef x = in(kFloat32, {2, 3});
    CHECK(check(Op::Iota, kInt64, {3}, {}, AxisAttr{1}) ==
          "iota: axis 1 out of range for shape [3]");
    CHECK(check(Op::Iota, kBool, {3}, {}, AxisAttr{0}) == "iota: dtype bool is not numeric");
    CHECK(check(Op::Input, kFloat32, {2, -1}, {}, InputAttr{}) ==
          "input: negative dimension in shape [2,-1]");
    CHECK(check(Op::Input, kFloat32, {int64_t(1) << 32, int64_t(1) << 32}, {}, InputAttr{}) ==
          "input: shape [4294967296,4294967296] has more than 9223372036854775807 elements");
    CHECK(check(Op::ReduceSum, kFloat32, {2, 1}, {x}) ==
          "reduce_sum: attribute kind is 'none', expected 'axes'");
    CHECK(check(Op::Add, kFloat32, {2, 3}, {x, x}, AxisAttr{0}) ==
          "add: attribute kind is 'axis', expected 'none'");
    CHECK(check_node(*raw_const(kFloat32, 0.1, 0)) ==
          "const: value 0.1 is not exactly representable in f32");
    CHECK(check_node(*raw_const(kFloat64, 1.0, 3)) ==
          "const: f64 constant has nonzero integer field 3");
    CHECK(check_node(*raw_const(kInt64, 1.5, 1)) ==
          "const: i64 constant has nonzero float field 1.5");
    CHECK(check_node(*raw_const(kInt32, 0, int64_t{1} << 40)) ==
          "const: value 1099511627776 out of range for i32");
    CHECK(check_node(*raw_const(kBool, 0, 2)) == "const: bool value 2 is not 0 or 1");
}

TEST_CASE("verifier rejects bad elementwise nodes", "[ir][verify]") {
    NodeRef x = in(kFloat32, {2, 3});
    NodeRef v = in(kFloat32, {3}, 1);
    NodeRef i = in(kInt32, {2, 3}, 2);
    NodeRef b = in(kBool, {2, 3}, 3);
    CHECK(check(Op::Exp, kFloat32, {3}, {x}) == "exp: input shape [2,3] differs from result [3]");
    CHECK(check(Op::Exp, kInt32, {2, 3}, {i}) == "exp: needs a float dtype, got i32");
    CHECK(check(Op::Sqrt, kFloat64, {2, 3}, {x}) ==
          "sqrt: result dtype f64 differs from input dtype f32");
    CHECK(check(Op::Neg, kBool, {2, 3}, {b}) == "neg: needs a numeric dtype, got bool");
    CHECK(check(Op::Not, kBool, {2, 3}, {i}) ==
          "not: needs bool input and result, got i32 -> bool");
    CHECK(check(Op::Add, kFloat32, {2, 3}, {x, v}) ==
          "add: input shapes [2,3] and [3] differ from result [2,3]");
    CHECK(check(Op::Add, kFloat32, {2, 3}, {x, i}) == "add: input dtypes f32 and i32 differ");
    CHECK(check(Op::Add, kFloat64, {2, 3}, {x, x}) ==
          "add: result dtype f64 differs from input dtype f32");
    CHECK(check(Op::Mul, kBool, {2, 3}, {b, b}) == "mul: needs a numeric dtype, got bool");
    CHECK(check(Op::Eq, kFloat32, {2, 3}, {x, x}) == "eq: result dtype must be bool, got f32");
    CHECK(check(Op::And, kBool, {2, 3}, {i, i}) ==
          "and: needs bool inputs and result, got i32 -> bool");
    CHECK(check(Op::Where, kFloat32, {2, 3}, {i, x, x}) ==
          "where: condition dtype must be bool, got i32");
    CHECK(check(Op::Where, kFloat32, {2, 3}, {b, x, i}) ==
          "where: branch dtypes f32 and i32 differ from result f32");
    CHECK(check(Op::Where, kFloat32, {2, 3}, {b, x, v}) ==
          "where: input shapes [2,3], [2,3] and [3] differ from result [2,3]");
}

TEST_CASE("verifier rejects bad reductions and movement", "[ir][verify]") {
    NodeRef x = in(kFloat32, {2, 3});
    NodeRef b = in(kBool, {2, 3}, 1);
    CHECK(check(Op::ReduceSum, kFloat32, {1, 1}, {x}, AxesAttr{{1, 0}}) ==
          "reduce_sum: axes [1,0] must be sorted and unique");
    CHECK(check(Op::ReduceSum, kFloat32, {1, 1}, {x}, AxesAttr{{1, 1}}) ==
          "reduce_sum: axes [1,1] must be sorted and unique");
    CHECK(check(Op::ReduceMin, kFloat32, {2, 1}, {x}, AxesAttr{{2}}) ==
          "reduce_min: axis 2 out of range for input rank 2");
    CHECK(check(Op::ReduceMax, kFloat32, {2}, {x}, AxesAttr{{1}}) ==
          "reduce_max: result shape [2] should be [2,1] (input [2,3], axes [1])");
    CHECK(check(Op::ReduceSum, kFloat64, {2, 1}, {x}, AxesAttr{{1}}) ==
          "reduce_sum: result dtype f64 differs from input dtype f32");
    CHECK(check(Op::ReduceSum, kBool, {2, 1}, {b}, AxesAttr{{1}}) ==
          "reduce_sum: needs a numeric dtype, got bool");
    CHECK(check(Op::Reshape, kFloat32, {4}, {x}) ==
          "reshape: cannot reshape [2,3] (6 elements) to [4] (4 elements)");
    CHECK(check(Op::Reshape, kInt32, {6}, {x}) ==
          "reshape: result dtype i32 differs from input dtype f32");
    CHECK(check(Op::Permute, kFloat32, {2, 2}, {x}, PermuteAttr{{0, 0}}) ==
          "permute: perm [0,0] is not a permutation of the 2 axes of [2,3]");
    CHECK(check(Op::Permute, kFloat32, {2, 3}, {x}, PermuteAttr{{1, 0}}) ==
          "permute: result shape [2,3] should be [3,2] (input [2,3], perm [1,0])");
    CHECK(check(Op::Expand, kFloat32, {1, 2, 3}, {x}) ==
          "expand: rank of input [2,3] differs from result [1,2,3]");
    CHECK(check(Op::Expand, kFloat32, {2, 4}, {x}) ==
          "expand: cannot expand [2,3] to [2,4] (dim 1: 3 is neither 4 nor 1)");
    CHECK(check(Op::Slice, kFloat32, {2, 3}, {x}, SliceAttr{{0}, {1, 1}}) ==
          "slice: start [0] and step [1,1] need 2 entries (rank of [2,3])");
    CHECK(check(Op::Slice, kFloat32, {2, 3}, {x}, SliceAttr{{0, 0}, {1, 0}}) ==
          "slice: step 0 in dim 1");
    CHECK(check(Op::Slice, kFloat32, {2, 2}, {x}, SliceAttr{{0, 1}, {1, 2}}) ==
          "slice: dim 1 reads index 3 outside [0,3) (start 1, step 2, size 2)");
    CHECK(check(Op::Slice, kFloat32, {2, 2}, {x}, SliceAttr{{0, 0}, {1, -1}}) ==
          "slice: dim 1 reads index -1 outside [0,3) (start 0, step -1, size 2)");
    CHECK(check(Op::Slice, kFloat32, {2, 1}, {x}, SliceAttr{{0, 3}, {1, 1}}) ==
          "slice: dim 1 reads index 3 outside [0,3) (start 3, step 1, size 1)");
    CHECK(check(Op::Pad, kFloat32, {2, 3}, {x}, PadAttr{{0, -1}, {0, 1}}) ==
          "pad: negative padding in dim 1 (before [0,-1], after [0,1])");
    CHECK(check(Op::Pad, kFloat32, {2, 4}, {x}, PadAttr{{0, 1}, {1, 0}}) ==
          "pad: result shape [2,4] should be [3,4] (input [2,3], before [0,1], after [1,0])");
    CHECK(check(Op::Flip, kFloat32, {2, 3}, {x}, AxesAttr{{1, 0}}) ==
          "flip: axes [1,0] must be sorted and unique");
    CHECK(check(Op::Flip, kFloat32, {3, 2}, {x}, AxesAttr{{0}}) ==
          "flip: result shape [3,2] differs from input [2,3]");
}

TEST_CASE("verifier rejects bad matmul and loop ops", "[ir][verify]") {
    NodeRef a = in(kFloat32, {2, 3});
    CHECK(check(Op::Matmul, kFloat32, {2}, {in(kFloat32, {3}), a}) ==
          "matmul: inputs need rank >= 2, got [3] and [2,3]");
    CHECK(check(Op::Matmul, kFloat32, {2, 4}, {a, in(kFloat32, {1, 3, 4})}) ==
          "matmul: input ranks differ: [2,3] and [1,3,4]");
    CHECK(check(Op::Matmul, kFloat32, {2, 2, 4},
                {in(kFloat32, {2, 2, 3}), in(kFloat32, {3, 3, 4})}) ==
          "matmul: batch dims of [2,2,3] and [3,3,4] differ");
    CHECK(check(Op::Matmul, kFloat32, {2, 4}, {a, in(kFloat32, {2, 4}, 1)}) ==
          "matmul: inner dims differ: [2,3] x [2,4]");
    CHECK(check(Op::Matmul, kFloat32, {2, 5}, {a, in(kFloat32, {3, 4}, 1)}) ==
          "matmul: result shape [2,5] should be [2,4] ([2,3] x [3,4])");
    CHECK(check(Op::Matmul, kInt32, {2, 4}, {in(kInt32, {2, 3}), in(kInt32, {3, 4})}) ==
          "matmul: needs a float dtype, got i32");
    CHECK(check(Op::Matmul, kFloat32, {2, 4}, {a, in(kFloat64, {3, 4})}) ==
          "matmul: input dtypes f32 and f64 differ from result f32");

    NodeRef var = Node::make(Op::LoopVar, kInt64, {}, {}, VarAttr{0});
    CHECK(check(Op::LoopVar, kInt64, {}, {}, VarAttr{1, -4}) == "var: negative extent -4");
    CHECK(check(Op::LoopVar, kInt32, {}, {}, VarAttr{0}) == "var: dtype must be i64, got i32");
    CHECK(check(Op::LoopVar, kInt64, {2}, {}, VarAttr{0}) ==
          "var: result must be a scalar, got [2]");
    CHECK(check(Op::Load, kFloat32, {}, {in(kInt32, {})}, LoadAttr{0}) ==
          "load: index must be an i64 scalar, got i32[]");
    CHECK(check(Op::Load, kFloat32, {}, {var, var}, LoadAttr{0}) ==
          "load: mask must be a bool scalar, got i64[]");
    CHECK(check(Op::Load, kFloat32, {}, {}, LoadAttr{0}) == "load: takes 1 or 2 inputs, got 0");
    CHECK(check(Op::Load, kFloat32, {}, {var}, LoadAttr{0}) == "");
    CHECK(check(Op::StageResult, kBool, {}, {}, StageAttr{1}) == "");
    CHECK(check(Op::StageResult, kBool, {}, {}, StageAttr{-1}) == "stage: negative stage -1");
}

TEST_CASE("verify_graph names the first bad node", "[ir][verify]") {
    NodeRef x = in(kFloat32, {2, 3});
    NodeRef good = Node::make(Op::Exp, kFloat32, {2, 3}, {x});
    NodeRef bad = Node::make(Op::Add, kFloat32, {2, 3}, {good, in(kFloat32, {3}, 1)});
    NodeRef worse = Node::make(Op::Neg, kFloat64, {2, 3}, {bad});
    CHECK_THROWS_MATCHES(verify_graph({worse}), InternalError,
                         Catch::Message("IR verification failed at node %3 (add): add: input "
                                        "shapes [2,3] and [3] differ from result [2,3]"));
}
