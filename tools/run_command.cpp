// `kiln run`: compile a .kir graph for the CPU, run it on given or deterministic pseudo-random
// inputs, print the outputs as PyTorch prints tensors and each step's time; with --check,
// compare every output with the reference interpreter (float64, no fusion).
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "ir/interpreter.h"
#include "kiln/serialize.h"
#include "tools/commands.h"
#include "tools/explain.h"
#include "tools/program_runner.h"

namespace kiln::cli {
namespace {

using ir::Node;
using ir::NodeRef;

struct RunOptions {
    std::string file, inputs;
    uint64_t seed = 0;
    bool check = false;
    double rtol = -1, atol = -1;  // < 0: the defaults for the output's dtype
};

/// A value with the digits that tell two values of dtype `t` apart (9 for f32, 17 for f64).
std::string exact_value(double v, DType t) {
    if (t == DType::Bool) return v != 0 ? "true" : "false";
    if (is_integral(t)) return fmt::format("{}", static_cast<int64_t>(v));
    return t == DType::Float32 ? fmt::format("{:.9g}", v) : fmt::format("{:.17g}", v);
}

/// The values of a loaded tensor, as the reference interpreter holds them.
ir::RefTensor ref_of(const Tensor& t) {
    ir::RefTensor r{t.dtype(), t.sizes(), {}};
    auto copy = [&](auto values) { r.values.assign(values.begin(), values.end()); };
    switch (t.dtype()) {
    case DType::Float32: copy(t.to_vector<float>()); break;
    case DType::Float64: copy(t.to_vector<double>()); break;
    case DType::Int32: copy(t.to_vector<int32_t>()); break;
    case DType::Int64: copy(t.to_vector<int64_t>()); break;
    case DType::Bool: copy(t.to_vector<bool>()); break;
    }
    return r;
}

/// Input placeholder i's values: the file's tensor "inputI" (or "I") when --inputs names a
/// file, else deterministic pseudo-random data.
std::vector<ir::RefTensor> input_values(const CanonicalGraph& c, const RunOptions& o) {
    if (o.inputs.empty()) return random_inputs(c, o.seed);
    std::map<std::string, Tensor> given = load_safetensors(o.inputs);
    std::vector<ir::RefTensor> values;
    for (size_t i = 0; i < c.placeholders.size(); ++i) {
        const Node& p = *c.placeholders[i];
        auto it = given.find(fmt::format("input{}", i));
        if (it == given.end()) it = given.find(std::to_string(i));
        if (it == given.end())
            throw Error(fmt::format("{}: no tensor 'input{}' for input {} ({}{})", o.inputs, i,
                                    i, dtype_name(p.dtype()), ir::shape_str(p.shape())));
        const Tensor& t = it->second;
        if (t.dtype() != p.dtype() || t.sizes() != p.shape())
            throw Error(fmt::format("{}: tensor '{}' is {}{}, input {} needs {}{}", o.inputs,
                                    it->first, dtype_name(t.dtype()), ir::shape_str(t.sizes()),
                                    i, dtype_name(p.dtype()), ir::shape_str(p.shape())));
        values.push_back(ref_of(t));
    }
    return values;
}

/// A buffer printed as PyTorch prints a tensor (Kiln's tensor printing).
std::string tensor_text(const std::shared_ptr<runtime::Buffer>& b, const ir::Shape& shape) {
    std::ostringstream os;
    os << make_tensor(detail::input_node(b, shape));
    return os.str();
}

struct Tolerance {
    double rtol = 0, atol = 0;
};

/// Default tolerances: f32 kernels use vectorized approximations of exp/erf/... and reassociate
/// reductions, the reference computes in float64; integers and bools must match exactly. A
/// float output is as precise as the least precise float op it depends on: an f64 output cast
/// from f32 arithmetic gets the f32 tolerance.
Tolerance default_tolerance(const NodeRef& root) {
    if (!is_floating(root->dtype())) return {0, 0};
    for (const Node* n : ir::topo_order({root})) {
        if (n->dtype() == DType::Float32 && n->op() != ir::Op::Input && n->op() != ir::Op::Const)
            return {1e-4, 1e-5};
    }
    return {1e-9, 1e-12};
}

struct Comparison {
    double max_abs_error = 0;
    bool ok = true;
    size_t worst = 0;  ///< the element furthest outside the tolerance (when !ok)
    double worst_excess = 0;
};

Comparison compare(const runtime::Buffer& got, const ir::RefTensor& expected, Tolerance tol) {
    Comparison c;
    for (size_t i = 0; i < expected.values.size(); ++i) {
        double g = element(got, i), e = expected.values[i];
        bool equal_special = (std::isnan(g) && std::isnan(e)) || (std::isinf(e) && g == e);
        double err = std::abs(g - e);
        if (!equal_special && std::isfinite(err)) c.max_abs_error = std::max(c.max_abs_error, err);
        if (equal_special) continue;
        double allowed = tol.atol + tol.rtol * std::abs(e);
        // NaN where none is expected (or the reverse) and infinities count as beyond any bound.
        double excess = std::isfinite(err) ? err - allowed : HUGE_VAL;
        if (!(excess <= 0) && (c.ok || excess > c.worst_excess)) {
            c.ok = false;
            c.worst = i;
            c.worst_excess = excess;
        }
    }
    return c;
}

int run(const RunOptions& o) {
    CanonicalGraph c = canonicalize(load_graph(o.file));
    std::vector<ir::RefTensor> ref_inputs = input_values(c, o);
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    for (size_t i = 0; i < ref_inputs.size(); ++i) {
        inputs.push_back(to_buffer(ref_inputs[i]));
        std::string origin = c.renumbered ? fmt::format(" (file's input {})", c.file_ids[i]) : "";
        fmt::print("input {}{}: {}\n", i, origin,
                   tensor_text(inputs.back(), c.placeholders[i]->shape()));
    }

    // Compile and run, as the frontend's realize driver does; then each step alone for times.
    CompiledGraph g = compile_for_cpu(c);
    std::vector<std::shared_ptr<runtime::Buffer>> values = run_keeping_all(g, inputs);
    const ir::Program& p = g.compiled.program;
    std::vector<std::shared_ptr<runtime::Buffer>> outputs;
    for (int64_t b : p.outputs) outputs.push_back(values.at(static_cast<size_t>(b)));
    for (size_t i = 0; i < outputs.size(); ++i)
        fmt::print("output {}: {}\n", i, tensor_text(outputs[i], c.roots[i]->shape()));

    Explanation e = explain(g.pipeline);
    std::vector<Timing> times = time_steps(g, values, 3, 0.05);
    fmt::print("\n{:>4}  {:<8} {:<32} {:>10}\n", "step", "kind", "name", "median");
    double total = 0;
    for (size_t s = 0; s < times.size(); ++s) {
        fmt::print("{:>4}  {:<8} {:<32} {:>10}\n", s, e.steps[s].is_kernel ? "kernel" : "extern",
                   e.steps[s].name, human_time(times[s].median));
        total += times[s].median;
    }
    fmt::print("{:>4}  {:<8} {:<32} {:>10}\n", "", "", "all steps", human_time(total));
    if (!o.check) return kExitOk;

    // The oracle, on the graph as written (before simplification).
    std::vector<ir::RefTensor> expected = ir::interpret(c.roots, [&](const Node& input) {
        return ref_inputs.at(static_cast<size_t>(input.attr_as<ir::InputAttr>().id));
    });
    fmt::print("\n");
    bool all_ok = true;
    std::string first_failure;
    for (size_t i = 0; i < outputs.size(); ++i) {
        const NodeRef& root = c.roots[i];
        Tolerance tol = default_tolerance(root);
        if (is_floating(root->dtype())) {
            if (o.rtol >= 0) tol.rtol = o.rtol;
            if (o.atol >= 0) tol.atol = o.atol;
        }
        Comparison cmp = compare(*outputs[i], expected[i], tol);
        fmt::print("output {}: max abs error {:.3g} vs reference (rtol {:g}, atol {:g}): {}\n", i,
                   cmp.max_abs_error, tol.rtol, tol.atol, cmp.ok ? "ok" : "MISMATCH");
        if (!cmp.ok && all_ok) {
            all_ok = false;
            first_failure = fmt::format(
                "output {} differs from the reference at element {}: got {}, expected {}", i,
                cmp.worst, exact_value(element(*outputs[i], cmp.worst), root->dtype()),
                exact_value(expected[i].values[cmp.worst], root->dtype()));
        }
    }
    if (!all_ok) {
        fmt::print("FAILED: {}\n", first_failure);
        // Also on stderr, so a failure is seen when stdout goes to a file.
        fmt::print(stderr, "kiln run: {}: {}\n", o.file, first_failure);
        return kExitFailure;
    }
    fmt::print("ok: {} output{} match{} the reference\n", outputs.size(),
               outputs.size() == 1 ? "" : "s", outputs.size() == 1 ? "es" : "");
    return kExitOk;
}

}  // namespace

void add_run(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("run", "execute; print outputs and step times");
    std::string about = "Compile and run FILE on given or seeded random inputs: print the outputs "
                     "as PyTorch prints tensors and each step's time; --check compares them "
                     "with the reference interpreter.";
    auto o = std::make_shared<RunOptions>();
    add_file_argument(*cmd, o->file);
    cmd->add_option("--inputs", o->inputs,
                    "a safetensors file holding input K as tensor 'inputK' (or 'K'); default: "
                    "deterministic pseudo-random data (floats in [-1, 1), integers in [-8, 8])")
        ->check(CLI::ExistingFile);
    cmd->add_option("--seed", o->seed, "seed of the random inputs (default 0)");
    cmd->add_flag("--check", o->check,
                  "compare every output with the reference interpreter; exit 1 on a mismatch");
    cmd->add_option("--rtol", o->rtol, "relative tolerance of --check (default: by dtype)")
        ->check(kNonNegative);
    cmd->add_option("--atol", o->atol, "absolute tolerance of --check (default: by dtype)")
        ->check(kNonNegative);
    set_help(*cmd, about, "  kiln run softmax.kir --check\n"
                "  kiln run step.kir --inputs batch.safetensors");
    cmd->callback([&action, o] { action = [o] { return run(*o); }; });
}

}  // namespace kiln::cli
