#pragma once
/// Compiling a `.kir` graph for the host CPU and running it the way the tool's `run` and `bench`
/// need: on deterministic or given inputs, keeping every intermediate buffer, and timing each
/// step alone on the values the whole program computed.
#include <cstdint>
#include <memory>
#include <vector>

#include "ir/interpreter.h"
#include "passes/pipeline.h"
#include "runtime/executor.h"
#include "tools/cli_common.h"

namespace kiln::cli {

/// A canonical graph through the pipeline and compiled for the host CPU (kernels from the
/// process-wide compiler and its disk cache, as a Kiln program gets them).
struct CompiledGraph {
    passes::PipelineResult pipeline;
    runtime::CompiledProgram compiled;
};
CompiledGraph compile_for_cpu(const CanonicalGraph& graph,
                              const passes::PipelineOptions& options = {});

/// Deterministic data for input placeholder `index`: floats uniform in [-1, 1) (f32 values
/// exactly representable, so the reference sees what the kernel sees), integers in [-8, 8],
/// bools 0/1.
ir::RefTensor random_tensor(const ir::Node& input, int64_t index, uint64_t seed);
/// Deterministic data for every placeholder of `graph` (random_tensor), except that an integer
/// input that indexes a gather or scatter_add (through views) holds valid indices: [0, size).
std::vector<ir::RefTensor> random_inputs(const CanonicalGraph& graph, uint64_t seed);
/// A runtime buffer holding `t`'s values in its dtype.
std::shared_ptr<runtime::Buffer> to_buffer(const ir::RefTensor& t);
/// Element `i` of a buffer, as a double.
double element(const runtime::Buffer& b, size_t i);

/// Every program buffer's value after one run (temporaries kept): values[b] for buffer b.
std::vector<std::shared_ptr<runtime::Buffer>>
run_keeping_all(const CompiledGraph& g, const std::vector<std::shared_ptr<runtime::Buffer>>& inputs);

/// Median, fastest and slowest of timed runs, in seconds.
struct Timing {
    double median = 0, min = 0, max = 0;
    int runs = 0;
};

/// A time for people: "850 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string human_time(double seconds);

/// Times `f` (one warm-up run first): at least `min_runs` runs and until about `budget_s`
/// seconds have passed, at most `max_runs`.
Timing time_runs(const std::function<void()>& f, int min_runs, int max_runs, double budget_s);

/// Times each step of `g` run alone (its reads bound to `values` from run_keeping_all), so
/// that every kernel is measured on the data it sees in the program.
std::vector<Timing> time_steps(const CompiledGraph& g,
                               const std::vector<std::shared_ptr<runtime::Buffer>>& values,
                               int min_runs, double budget_s);

}  // namespace kiln::cli
