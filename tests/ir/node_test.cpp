#include <catch2/catch.hpp>

#include "ir/node.h"

using namespace kiln;
using namespace kiln::ir;

TEST_CASE("equal nodes are the same object", "[ir]") {
    NodeRef a = make_const(1.0, kFloat32, {2, 3});
    NodeRef b = make_const(1.0, kFloat32, {2, 3});
    CHECK(a == b);
    NodeRef s1 = Node::make(Op::Add, kFloat32, {2, 3}, {a, b});
    NodeRef s2 = Node::make(Op::Add, kFloat32, {2, 3}, {a, b});
    CHECK(s1 == s2);
    CHECK(make_const(2.0, kFloat32, {2, 3}) != a);
    CHECK(make_const(1.0, kFloat64, {2, 3}) != a);
}

TEST_CASE("dead nodes leave the intern table", "[ir]") {
    size_t before = live_node_count();
    {
        NodeRef a = make_const(42.5, kFloat64, {7});
        NodeRef e = Node::make(Op::Exp, kFloat64, {7}, {a});
        CHECK(live_node_count() == before + 2);
    }
    CHECK(live_node_count() == before);
}

TEST_CASE("input nodes are distinct per id", "[ir]") {
    NodeRef a = Node::make(Op::Input, kFloat32, {4}, {}, InputAttr{1, nullptr});
    NodeRef b = Node::make(Op::Input, kFloat32, {4}, {}, InputAttr{2, nullptr});
    CHECK(a != b);
    CHECK(Node::make(Op::Input, kFloat32, {4}, {}, InputAttr{1, nullptr}) == a);
}

TEST_CASE("a very long chain is destroyed without deep recursion", "[ir]") {
    size_t before = live_node_count();
    {
        NodeRef x = Node::make(Op::Input, kFloat32, {2}, {}, InputAttr{7, nullptr});
        for (int i = 0; i < 1000000; ++i) x = Node::make(Op::Neg, kFloat32, {2}, {x});
        CHECK(live_node_count() == before + 1000001);
    }
    CHECK(live_node_count() == before);
}
