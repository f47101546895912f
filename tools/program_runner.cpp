// Compiling and running `.kir` graphs for `kiln run` and `kiln bench`.
#include "tools/program_runner.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "codegen/cpu_compiler.h"

namespace kiln::cli {
namespace {

/// splitmix64: tiny, fast and good enough to make test data; the same on every machine.
uint64_t next_random(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// Simplification may drop an input (where(true, a, b) loses b), leaving a placeholder number
/// without a program buffer; the executor wants every number 0..n-1 bound. Give such inputs an
/// unused buffer so that the program's inputs are exactly the file's.
void bind_dropped_inputs(ir::Program& program, const CanonicalGraph& c) {
    std::vector<bool> bound(c.placeholders.size(), false);
    for (const ir::ProgramBuffer& b : program.buffers)
        if (b.kind == ir::BufferKind::Input) bound.at(static_cast<size_t>(b.index)) = true;
    for (size_t i = 0; i < bound.size(); ++i) {
        if (bound[i]) continue;
        const ir::NodeRef& p = c.placeholders[i];
        program.buffers.push_back(
            {p->dtype(), p->shape(), ir::BufferKind::Input, static_cast<int64_t>(i)});
    }
    program.num_inputs = static_cast<int64_t>(c.placeholders.size());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

CompiledGraph compile_for_cpu(const CanonicalGraph& graph, const passes::PipelineOptions& options) {
    CompiledGraph g;
    g.pipeline = passes::run_pipeline(graph.roots, options);
    g.compiled.program = g.pipeline.program;
    bind_dropped_inputs(g.compiled.program, graph);
    g.pipeline.buffer_nodes.resize(g.compiled.program.buffers.size(), nullptr);
    for (const ir::Step& step : g.compiled.program.steps)
        if (const auto* k = std::get_if<ir::KernelStep>(&step))
            g.compiled.kernels.push_back(codegen::CpuCompiler::global().compile(k->kernel));
    runtime::plan_execution(g.compiled);
    return g;
}

ir::RefTensor random_tensor(const ir::Node& input, int64_t index, uint64_t seed) {
    ir::RefTensor t{input.dtype(), input.shape(), {}};
    int64_t n = ir::numel(input.shape());
    t.values.resize(static_cast<size_t>(n));
    uint64_t state = seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(index) + 1;
    for (double& v : t.values) {
        uint64_t r = next_random(state);
        double u = static_cast<double>(r >> 11) * 0x1.0p-53 * 2.0 - 1.0;  // [-1, 1)
        switch (input.dtype()) {
        case DType::Float32: v = static_cast<float>(u); break;
        case DType::Float64: v = u; break;
        case DType::Int32:
        case DType::Int64: v = static_cast<double>(static_cast<int64_t>(r % 17) - 8); break;
        case DType::Bool: v = static_cast<double>(r & 1); break;
        }
    }
    return t;
}

std::vector<ir::RefTensor> random_inputs(const CanonicalGraph& graph, uint64_t seed) {
    // The smallest axis each input indexes (a gather's dense input, a scatter_add's result).
    std::map<int64_t, int64_t> bound;
    for (const ir::Node* n : ir::topo_order(graph.roots)) {
        if (n->op() != ir::Op::Gather && n->op() != ir::Op::ScatterAdd) continue;
        bool scatter = n->op() == ir::Op::ScatterAdd;
        const ir::Node* dense = scatter ? n : n->input(0).get();
        const ir::Node* index = n->input(scatter ? 0 : 1).get();
        while (ir::op_category(index->op()) == ir::OpCategory::Movement)
            index = index->input(0).get();
        if (index->op() != ir::Op::Input) continue;
        int64_t size = dense->shape().at(static_cast<size_t>(n->attr_as<ir::IndexAttr>().axis));
        int64_t id = index->attr_as<ir::InputAttr>().id;
        bound[id] = bound.count(id) ? std::min(bound[id], size) : size;
    }
    std::vector<ir::RefTensor> values;
    for (size_t i = 0; i < graph.placeholders.size(); ++i) {
        auto id = static_cast<int64_t>(i);
        values.push_back(random_tensor(*graph.placeholders[i], id, seed));
        auto b = bound.find(id);
        if (b == bound.end() || b->second <= 0) continue;
        uint64_t state = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(id);
        for (double& v : values.back().values)
            v = static_cast<double>(next_random(state) % static_cast<uint64_t>(b->second));
    }
    return values;
}

std::shared_ptr<runtime::Buffer> to_buffer(const ir::RefTensor& t) {
    auto b = runtime::Buffer::allocate(t.dtype, static_cast<int64_t>(t.values.size()));
    for (size_t i = 0; i < t.values.size(); ++i) {
        double v = t.values[i];
        switch (t.dtype) {
        case DType::Float32: static_cast<float*>(b->data())[i] = static_cast<float>(v); break;
        case DType::Float64: static_cast<double*>(b->data())[i] = v; break;
        case DType::Int32: static_cast<int32_t*>(b->data())[i] = static_cast<int32_t>(v); break;
        case DType::Int64: static_cast<int64_t*>(b->data())[i] = static_cast<int64_t>(v); break;
        case DType::Bool: static_cast<uint8_t*>(b->data())[i] = v != 0; break;
        }
    }
    return b;
}

double element(const runtime::Buffer& b, size_t i) {
    switch (b.dtype()) {
    case DType::Float32: return static_cast<const float*>(b.data())[i];
    case DType::Float64: return static_cast<const double*>(b.data())[i];
    case DType::Int32: return static_cast<const int32_t*>(b.data())[i];
    case DType::Int64: return static_cast<double>(static_cast<const int64_t*>(b.data())[i]);
    case DType::Bool: return static_cast<const uint8_t*>(b.data())[i] != 0;
    }
    return 0;
}

std::vector<std::shared_ptr<runtime::Buffer>>
run_keeping_all(const CompiledGraph& g, const std::vector<std::shared_ptr<runtime::Buffer>>& inputs) {
    // The same program with every temporary made an output, so the executor hands it back.
    runtime::CompiledProgram all = g.compiled;
    ir::Program& p = all.program;
    std::vector<int64_t> temps;
    for (size_t b = 0; b < p.buffers.size(); ++b) {
        if (p.buffers[b].kind != ir::BufferKind::Temp) continue;
        p.buffers[b].kind = ir::BufferKind::Output;
        p.buffers[b].index = static_cast<int64_t>(p.outputs.size());
        p.outputs.push_back(static_cast<int64_t>(b));
        temps.push_back(static_cast<int64_t>(b));
    }
    runtime::plan_execution(all);
    std::vector<std::shared_ptr<runtime::Buffer>> outputs = runtime::execute(all, inputs);
    std::vector<std::shared_ptr<runtime::Buffer>> values(p.buffers.size());
    for (size_t b = 0; b < p.buffers.size(); ++b)
        if (p.buffers[b].kind == ir::BufferKind::Input)
            values[b] = inputs.at(static_cast<size_t>(p.buffers[b].index));
    for (size_t i = 0; i < p.outputs.size(); ++i)
        values[static_cast<size_t>(p.outputs[i])] = outputs[i];
    return values;
}

std::string human_time(double s) {
    if (s < 1e-6) return fmt::format("{:.0f} ns", s * 1e9);
    if (s < 1e-3) return fmt::format("{:.1f} us", s * 1e6);
    if (s < 1) return fmt::format("{:.2f} ms", s * 1e3);
    return fmt::format("{:.2f} s", s);
}

Timing time_runs(const std::function<void()>& f, int min_runs, int max_runs, double budget_s) {
    f();
    std::vector<double> t;
    auto start = std::chrono::steady_clock::now();
    while (static_cast<int>(t.size()) < max_runs &&
           (static_cast<int>(t.size()) < min_runs || seconds_since(start) < budget_s)) {
        auto t0 = std::chrono::steady_clock::now();
        f();
        t.push_back(seconds_since(t0));
    }
    std::sort(t.begin(), t.end());
    return {t[t.size() / 2], t.front(), t.back(), static_cast<int>(t.size())};
}

std::vector<Timing> time_steps(const CompiledGraph& g,
                               const std::vector<std::shared_ptr<runtime::Buffer>>& values,
                               int min_runs, double budget_s) {
    const ir::Program& program = g.compiled.program;
    std::vector<Timing> timings;
    size_t kernel_index = 0;
    for (const ir::Step& step : program.steps) {
        // A one-step program: what the step reads are its inputs, what it writes its outputs.
        runtime::CompiledProgram one;
        ir::StepBuffers io = ir::step_buffers(step);
        std::map<int64_t, int64_t> renumber;
        std::vector<std::shared_ptr<runtime::Buffer>> inputs;
        for (int64_t b : io.writes) {
            renumber[b] = static_cast<int64_t>(one.program.buffers.size());
            ir::ProgramBuffer pb = program.buffers[static_cast<size_t>(b)];
            pb.kind = ir::BufferKind::Output;
            pb.index = static_cast<int64_t>(one.program.outputs.size());
            one.program.outputs.push_back(renumber[b]);
            one.program.buffers.push_back(pb);
        }
        for (int64_t b : io.reads) {
            if (renumber.count(b)) continue;
            renumber[b] = static_cast<int64_t>(one.program.buffers.size());
            ir::ProgramBuffer pb = program.buffers[static_cast<size_t>(b)];
            pb.kind = ir::BufferKind::Input;
            pb.index = static_cast<int64_t>(inputs.size());
            one.program.buffers.push_back(pb);
            inputs.push_back(values.at(static_cast<size_t>(b)));
        }
        one.program.num_inputs = static_cast<int64_t>(inputs.size());
        ir::Step copy = step;
        ir::for_each_buffer(copy, [&](int64_t& b) { b = renumber.at(b); });
        one.program.steps.push_back(std::move(copy));
        if (std::holds_alternative<ir::KernelStep>(step))
            one.kernels.push_back(g.compiled.kernels.at(kernel_index++));
        runtime::plan_execution(one);
        timings.push_back(time_runs([&] { runtime::execute(one, inputs); }, min_runs, 1000,
                                    budget_s));
    }
    return timings;
}

}  // namespace kiln::cli
