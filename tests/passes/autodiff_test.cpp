// The autodiff pass: IR text in, gradient graph (after simplify) and its kernel count out.
#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

#include "ir/build.h"
#include "ir/loop_kernel.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/autodiff/autodiff.h"
#include "passes/pipeline.h"
#include "passes/simplify.h"

using namespace kiln;

namespace {

/// The gradients of the (single-element) last root of `text` with respect to its leaf nodes,
/// in order of appearance.
struct Backward {
    std::vector<ir::NodeRef> forward, leaves, grads;
};
Backward backward(const char* text) {
    Backward b;
    b.forward = ir::parse_graph(text);
    std::vector<const ir::Node*> seen;
    std::function<void(const ir::NodeRef&)> visit = [&](const ir::NodeRef& n) {
        if (std::find(seen.begin(), seen.end(), n.get()) != seen.end()) return;
        seen.push_back(n.get());
        for (const ir::NodeRef& in : n->inputs()) visit(in);
        if (n->op() == ir::Op::Leaf) b.leaves.push_back(n);
    };
    for (const ir::NodeRef& r : b.forward) visit(r);
    const ir::NodeRef& out = b.forward.back();
    b.grads = passes::gradients({out}, {ir::make_const(1, out->dtype(), out->shape())}, b.leaves);
    return b;
}

int count_kernels(const ir::Program& p) {
    int n = 0;
    for (const auto& s : p.steps) n += std::holds_alternative<ir::KernelStep>(s);
    return n;
}

}  // namespace

TEST_CASE("the gradient of sum(x * x) is 2x, as a graph", "[autodiff]") {
    Backward b = backward(R"(
%0 = input 0 : f32[3]
%x = leaf %0 {id=1} : f32[3]
%sq = mul %x, %x : f32[3]
%s = reduce_sum %sq {axes=[0]} : f32[1]
%out = reshape %s : f32[]
return %out
)");
    REQUIRE(b.grads.size() == 1);
    std::vector<ir::NodeRef> simplified = passes::simplify({b.grads[0]});
    CHECK(ir::print_graph(simplified) == R"(%0 = input 0 : f32[3]
%1 = add %0, %0 : f32[3]
return %1
)");
}

TEST_CASE("views differentiate into views: permute, slice and expand", "[autodiff]") {
    // y = sum(expand(slice(permute(x)))): the gradient is a pad of the permuted sum, no copy.
    Backward b = backward(R"(
%0 = input 0 : f32[2,4]
%x = leaf %0 {id=1} : f32[2,4]
%t = permute %x {perm=[1,0]} : f32[4,2]
%s = slice %t {start=[1,0], step=[2,1]} : f32[2,2]
%r = reshape %s : f32[2,1,2]
%e = expand %r : f32[2,3,2]
%sum = reduce_sum %e {axes=[0,1,2]} : f32[1,1,1]
%out = reshape %sum : f32[]
return %out
)");
    std::vector<ir::NodeRef> g = passes::simplify({b.grads[0]});
    for (const ir::Node* n : ir::topo_order(g)) {
        INFO(ir::print_graph(g));
        ir::OpCategory c = ir::op_category(n->op());
        CHECK((c == ir::OpCategory::Movement || c == ir::OpCategory::Source ||
               n->op() == ir::Op::ReduceSum));
    }
    // d/dx = 3 at the sliced positions (odd rows of x^T, i.e. odd columns of x), 0 elsewhere.
    passes::PipelineResult r = passes::run_pipeline(g);
    CHECK(count_kernels(r.program) == 1);
}

TEST_CASE("sum(gelu(x*w+b)) forward and backward fuse into few kernels", "[autodiff]") {
    // x [256,64], w and b [64] broadcast over rows, as the frontend records it.
    Backward b = backward(R"(
%x0 = input 0 : f32[256,64]
%w0 = input 1 : f32[64]
%b0 = input 2 : f32[64]
%x = leaf %x0 {id=1} : f32[256,64]
%w = leaf %w0 {id=2} : f32[64]
%b = leaf %b0 {id=3} : f32[64]
%wr = reshape %w : f32[1,64]
%we = expand %wr : f32[256,64]
%br = reshape %b : f32[1,64]
%be = expand %br : f32[256,64]
%3 = mul %x, %we : f32[256,64]
%4 = add %3, %be : f32[256,64]
%5 = const 0.70710677 : f32[256,64]
%6 = mul %4, %5 : f32[256,64]
%7 = erf %6 : f32[256,64]
%8 = const 1 : f32[256,64]
%9 = add %8, %7 : f32[256,64]
%10 = const 0.5 : f32[256,64]
%11 = mul %4, %10 : f32[256,64]
%12 = mul %11, %9 : f32[256,64]
%13 = reduce_sum %12 {axes=[0,1]} : f32[1,1]
%out = reshape %13 : f32[]
return %out
)");
    REQUIRE(b.grads.size() == 3);
    std::vector<ir::NodeRef> roots = {b.forward.back(), b.grads[0], b.grads[1], b.grads[2]};
    passes::PipelineResult r = passes::run_pipeline(roots);
    INFO(passes::print_fusion(r.plan));
    // One kernel per output, nothing materialized in between: the loss (a full reduction), dx
    // (elementwise, recomputing gelu' from x, w and b) and dw, db (column sums).
    CHECK(count_kernels(r.program) == 4);
    CHECK(r.program.steps.size() == 4);
}

TEST_CASE("softmax's backward is one row kernel", "[autodiff]") {
    // loss = sum(softmax(x, 1) * c): dx = y * (c - sum(c * y, 1)), one kernel over rows.
    Backward b = backward(R"(
%x0 = input 0 : f32[64,128]
%c = input 1 : f32[64,128]
%x = leaf %x0 {id=1} : f32[64,128]
%m = reduce_max %x {axes=[1]} : f32[64,1]
%me = expand %m : f32[64,128]
%d = sub %x, %me : f32[64,128]
%e = exp %d : f32[64,128]
%s = reduce_sum %e {axes=[1]} : f32[64,1]
%se = expand %s : f32[64,128]
%y = div %e, %se : f32[64,128]
%yc = mul %y, %c : f32[64,128]
%t = reduce_sum %yc {axes=[0,1]} : f32[1,1]
%out = reshape %t : f32[]
return %out
)");
    passes::PipelineResult r = passes::run_pipeline({b.grads[0]});
    INFO(passes::print_fusion(r.plan));
    CHECK(count_kernels(r.program) == 1);
    CHECK(r.program.steps.size() == 1);
}

TEST_CASE("relu's backward fuses into its neighbours; a bias gradient is one BLAS call",
          "[autodiff]") {
    // loss = sum(relu(x @ w + b) * c): the relu mask, the upstream gradient and the bias
    // broadcast all fuse into the kernel that feeds the weight gradient's matmul.
    Backward b = backward(R"(
%x = input 0 : f32[1024,64]
%w0 = input 1 : f32[64,64]
%b0 = input 2 : f32[64]
%c = input 3 : f32[1024,64]
%w = leaf %w0 {id=1} : f32[64,64]
%b = leaf %b0 {id=2} : f32[64]
%mm = matmul %x, %w : f32[1024,64]
%br = reshape %b : f32[1,64]
%be = expand %br : f32[1024,64]
%h = add %mm, %be : f32[1024,64]
%zero = const 0 : f32[1024,64]
%r = max %h, %zero : f32[1024,64]
%rc = mul %r, %c : f32[1024,64]
%t = reduce_sum %rc {axes=[0,1]} : f32[1,1]
%out = reshape %t : f32[]
return %out
)");
    passes::PipelineResult r = passes::run_pipeline({b.grads[0], b.grads[1]});
    INFO(passes::print_fusion(r.plan));
    // matmul x @ w (the forward value relu' needs), one kernel for dL/dh = c * (h > 0), then
    // dW = x^T @ dh (x read transposed in place) and db = ones @ dh: two BLAS calls.
    int matmuls = 0;
    for (const auto& s : r.program.steps) matmuls += std::holds_alternative<ir::MatmulStep>(s);
    // Kernels: dh, the row of ones, and the copy of db's [1,64] result into its [64] output.
    CHECK(count_kernels(r.program) == 3);
    CHECK(matmuls == 3);
    for (const auto& s : r.program.steps)
        if (const auto* m = std::get_if<ir::MatmulStep>(&s); m && m->m == 64) CHECK(m->trans_a);
}

TEST_CASE("a sum over leading axes becomes a product with ones", "[autodiff][colsums]") {
    auto g = ir::parse_graph(R"(
%0 = input 0 : f32[512,4,32]
%1 = reduce_sum %0 {axes=[0]} : f32[1,4,32]
%2 = reduce_sum %0 {axes=[1]} : f32[512,1,32]
return %1, %2
)");
    passes::PipelineResult r = passes::run_pipeline(g);
    INFO(passes::print_fusion(r.plan));
    int matmuls = 0;
    for (const auto& s : r.program.steps) matmuls += std::holds_alternative<ir::MatmulStep>(s);
    CHECK(matmuls == 1);  // axes [0] only: axis 1 is not a leading prefix
}

TEST_CASE("a window's gradient is the sum of its windows' slices, one kernel", "[autodiff]") {
    // im2col of a padded [2,3,8,8] input with 3x3 windows (two unfolds), multiplied by a weight.
    Backward b = backward(R"(
%x0 = input 0 : f32[2,3,8,8]
%x = leaf %x0 {id=1} : f32[2,3,8,8]
%p = pad %x {before=[0,0,1,1], after=[0,0,1,1]} : f32[2,3,10,10]
%h = window %p {axis=2, size=3, stride=1, dilation=1} : f32[2,3,3,8,10]
%w = window %h {axis=4, size=3, stride=1, dilation=1} : f32[2,3,3,8,3,8]
%c = input 1 : f32[2,3,3,8,3,8]
%m = mul %w, %c : f32[2,3,3,8,3,8]
%s = reduce_sum %m {axes=[0,1,2,3,4,5]} : f32[1,1,1,1,1,1]
%out = reshape %s : f32[]
return %out
)");
    passes::PipelineResult r = passes::run_pipeline({b.grads[0]});
    INFO(passes::print_fusion(r.plan));
    CHECK(count_kernels(r.program) == 1);
    // No division or remainder survives in the kernel: every index is affine.
    const auto& k = std::get<ir::KernelStep>(r.program.steps[0]).kernel;
    std::string text = ir::print_loop_kernel(k);
    CHECK(text.find("div(") == std::string::npos);
    CHECK(text.find("mod(") == std::string::npos);
}

TEST_CASE("a conv's gradients are conv steps: one per gradient, and one for second order",
          "[autodiff][conv]") {
    Backward b = backward(R"(
%x0 = input 0 : f32[2,3,8,8]
%x = leaf %x0 {id=1} : f32[2,3,8,8]
%w0 = input 1 : f32[4,3,3,3]
%w = leaf %w0 {id=2} : f32[4,3,3,3]
%y = conv2d %x, %w {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[2,4,8,8]
%r = input 2 : f32[2,4,8,8]
%m = mul %y, %r : f32[2,4,8,8]
%s = reduce_sum %m {axes=[0,1,2,3]} : f32[1,1,1,1]
%out = reshape %s : f32[]
return %out
)");
    REQUIRE(b.grads.size() == 2);
    auto conv_passes = [](const ir::Program& p) {
        std::vector<ir::ConvPass> out;
        for (const auto& st : p.steps)
            if (const auto* c = std::get_if<ir::ConvStep>(&st)) out.push_back(c->pass);
        return out;
    };
    // dy = r: the input gradient reads w and r, the weight gradient x and r; nothing else runs.
    passes::PipelineResult r = passes::run_pipeline({b.grads[0], b.grads[1]});
    INFO(passes::print_fusion(r.plan));
    CHECK(conv_passes(r.program) ==
          std::vector<ir::ConvPass>{ir::ConvPass::InputGrad, ir::ConvPass::WeightGrad});
    CHECK(count_kernels(r.program) == 0);
    // d/dw of sum(dx * v) with dx = conv2d_grad_input(r, w): a weight gradient of its own.
    ir::NodeRef v = ir::Node::make(ir::Op::Input, kiln::DType::Float32, {2, 3, 8, 8}, {},
                                   ir::InputAttr{3, nullptr});
    ir::NodeRef sum = ir::build::reduce(ir::Op::ReduceSum, ir::build::binary(ir::Op::Mul, b.grads[0], v),
                                        {0, 1, 2, 3});
    std::vector<ir::NodeRef> second = passes::gradients(
        {sum}, {ir::make_const(1, sum->dtype(), sum->shape())}, {b.leaves[1]});
    passes::PipelineResult r2 = passes::run_pipeline({second[0]});
    CHECK(conv_passes(r2.program) == std::vector<ir::ConvPass>{ir::ConvPass::WeightGrad});
}
