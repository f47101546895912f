#include "kiln/inspect.h"

#include "frontend/realize.h"
#include "ir/printer.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {
std::vector<ir::NodeRef> canonical(const std::vector<Tensor>& tensors) {
    std::vector<ir::NodeRef> roots;
    for (const Tensor& t : tensors) roots.push_back(node_of(t, "inspect", std::source_location::current()));
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    return detail::canonical_graph(roots, inputs);
}
}  // namespace

std::string graph_text(const std::vector<Tensor>& tensors) {
    return ir::print_graph(canonical(tensors));
}

std::string kernels_text(const std::vector<Tensor>& tensors) {
    passes::PipelineResult r = passes::run_pipeline(canonical(tensors));
    std::string s = "# simplified\n" + ir::print_graph(r.simplified) + "# fusion\n" +
                    passes::print_fusion(r.plan) + "# loop kernels\n";
    for (const ir::Step& step : r.program.steps) {
        if (const auto* k = std::get_if<ir::KernelStep>(&step)) s += ir::print_loop_kernel(k->kernel);
        else s += "extern matmul\n";
    }
    return s;
}

}  // namespace kiln
