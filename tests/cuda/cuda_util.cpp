// Listeners in a test file need Catch2's external interfaces (the summary printed at the end).
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "cuda/cuda_util.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <numeric>
#include <set>
#include <source_location>

#include <fmt/format.h>

#include "codegen/cuda/cuda_source.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "ir/parser.h"
#include "passes/pipeline.h"

namespace kiln::test {
namespace {

std::vector<ir::LoopKernel> kernels_of_roots(const std::vector<ir::NodeRef>& roots) {
    passes::PipelineResult r = passes::run_pipeline(roots);
    std::vector<ir::LoopKernel> out;
    for (const ir::Step& step : r.program.steps)
        if (const auto* k = std::get_if<ir::KernelStep>(&step)) out.push_back(k->kernel);
    return out;
}

std::vector<double>& times() {
    static std::vector<double> t;
    return t;
}

std::set<std::string>& compiled() {
    static std::set<std::string> s;
    return s;
}

}  // namespace

std::vector<ir::LoopKernel> kernels_of_text(const std::string& text) {
    return kernels_of_roots(ir::parse_graph(text));
}

std::vector<ir::LoopKernel> kernels_of(const std::vector<Tensor>& tensors) {
    std::vector<ir::NodeRef> roots;
    for (const Tensor& t : tensors)
        roots.push_back(node_of(t, "test", std::source_location::current()));
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    return kernels_of_roots(detail::canonical_graph(roots, inputs));
}

std::string symbol_of(const ir::LoopKernel& kernel) {
    size_t h = std::hash<std::string>{}(ir::print_loop_kernel(kernel));
    return fmt::format("kiln_{}_{:016x}", kernel.name, h);
}

int compile_all(const std::vector<ir::LoopKernel>& kernels, const std::string& what) {
    int count = 0;
    for (size_t i = 0; i < kernels.size(); ++i) {
        const ir::LoopKernel& k = kernels[i];
        std::string name = symbol_of(k);
        if (!compiled().insert(name).second) continue;
        INFO(what << ": kernel " << i << " (" << k.name << ")\n" << ir::print_loop_kernel(k));
        std::string source = codegen::render_cuda(k, name);
        auto t0 = std::chrono::steady_clock::now();
        std::string ptx = codegen::compile_ptx(source, name, "compute_90");
        auto t1 = std::chrono::steady_clock::now();
        times().push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        CHECK(ptx.find(".visible .entry " + name + "(") != std::string::npos);
        ++count;
    }
    return count;
}

const std::vector<double>& compile_times_ms() { return times(); }

std::string compile_summary() {
    std::vector<double> t = times();
    if (t.empty()) return "0 kernels compiled";
    double first = t.front();
    std::sort(t.begin(), t.end());
    return fmt::format("{} kernels compiled to PTX, NVRTC ms per kernel: first {:.1f}, median "
                       "{:.1f}, max {:.1f}, total {:.0f}",
                       t.size(), first, t[t.size() / 2], t.back(),
                       std::accumulate(t.begin(), t.end(), 0.0));
}

/// Prints the compile-time summary after the run (also when only some tests ran).
struct CompileSummaryListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    void testRunEnded(const Catch::TestRunStats&) override {
        if (!times().empty()) std::cout << "[cuda] " << compile_summary() << "\n";
    }
};
CATCH_REGISTER_LISTENER(CompileSummaryListener)

}  // namespace kiln::test
