#include "passes/column_sums.h"

#include "ir/build.h"
#include "ir/rewrite.h"

namespace kiln::passes {

std::vector<ir::NodeRef> column_sums(const std::vector<ir::NodeRef>& roots,
                                     int64_t min_elements) {
    using ir::NodeRef;
    using ir::Op;
    return ir::rewrite_graph(roots, [&](const ir::Node& n, const std::vector<NodeRef>& ins) -> NodeRef {
        if (n.op() != Op::ReduceSum || !is_floating(n.dtype())) return nullptr;
        const NodeRef& x = ins[0];
        const auto& axes = n.attr_as<ir::AxesAttr>().axes;
        int64_t lead = static_cast<int64_t>(axes.size());
        if (lead == 0 || lead >= x->rank()) return nullptr;
        for (int64_t i = 0; i < lead; ++i)
            if (axes[i] != i) return nullptr;  // not a leading prefix
        int64_t rows = 1;
        for (int64_t i = 0; i < lead; ++i) rows *= x->shape()[i];
        int64_t cols = ir::numel(x->shape()) / std::max<int64_t>(rows, 1);
        if (rows < 64 || cols < 16 || rows * cols < min_elements) return nullptr;
        NodeRef ones = ir::make_const(1, n.dtype(), {1, rows});
        NodeRef sum = ir::build::matmul(ones, ir::build::reshape(x, {rows, cols}));
        return ir::build::reshape(sum, n.shape());
    });
}

}  // namespace kiln::passes
