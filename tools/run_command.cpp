// `kiln run`: compile a .kir graph for the CPU, run it on deterministic pseudo-random inputs and
// compare every output with the reference interpreter (float64, no fusion).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <variant>

#include <fmt/format.h>

#include "codegen/cpu_compiler.h"
#include "ir/interpreter.h"
#include "passes/pipeline.h"
#include "runtime/executor.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kiln::cli {
namespace {

using ir::Node;
using ir::NodeRef;

/// splitmix64: tiny, fast and good enough to make test data; the same on every machine.
uint64_t next_random(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// Values for input `index`: floats uniform in [-1, 1) (f32 values exactly representable, so the
/// reference sees what the kernel sees), integers in [-8, 8], bools 0/1.
ir::RefTensor random_tensor(const Node& input, int64_t index, uint64_t seed) {
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

/// A runtime buffer holding `t`'s values in its dtype.
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

/// A value for the listing (6 digits) or, with `exact`, with the digits that tell two values of
/// dtype `t` apart (9 for f32, 17 for f64).
std::string format_value(double v, DType t, bool exact = false) {
    if (t == DType::Bool) return v != 0 ? "true" : "false";
    if (is_integral(t)) return fmt::format("{}", static_cast<int64_t>(v));
    if (!exact) return fmt::format("{:.6g}", v);
    return t == DType::Float32 ? fmt::format("{:.9g}", v) : fmt::format("{:.17g}", v);
}

/// "[v0, v1, ..., vN-1, ...]" with the first `show` values.
template <class Get>
std::string format_values(size_t count, size_t show, DType t, Get get) {
    std::string s = "[";
    size_t n = std::min(count, show);
    for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + format_value(get(i), t);
    if (count > n) s += n ? ", ..." : "...";
    return s + "]";
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

double parse_number(const CommandArgs& a, const std::string& name, double fallback) {
    if (!a.has(name)) return fallback;
    const std::string& text = a.options.at(name);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0))
        throw UsageError(
            fmt::format("kiln run: --{} expects a non-negative number, got '{}'", name, text));
    return v;
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
        const NodeRef& p = c.placeholders[i];
        program.buffers.push_back(
            {p->dtype(), p->shape(), ir::BufferKind::Input, static_cast<int64_t>(i)});
    }
    program.num_inputs = static_cast<int64_t>(c.placeholders.size());
}

}  // namespace

int cmd_run(const std::vector<std::string>& args, std::FILE* out) {
    CommandArgs a = parse_command_args(
        "run", args, {{"seed", true}, {"show", true}, {"rtol", true}, {"atol", true}});
    double seed_value = parse_number(a, "seed", 0);
    double show_value = parse_number(a, "show", 8);
    if (seed_value != std::floor(seed_value) || seed_value > 9e15 ||
        show_value != std::floor(show_value))
        throw UsageError("kiln run: --seed and --show expect non-negative integers");
    auto seed = static_cast<uint64_t>(seed_value);
    auto show = static_cast<size_t>(std::min(show_value, 1e9));

    CanonicalGraph c = canonicalize(load_graph(a.file));

    // Inputs: deterministic data per placeholder number.
    std::vector<ir::RefTensor> ref_inputs;
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    for (size_t i = 0; i < c.placeholders.size(); ++i) {
        const Node& p = *c.placeholders[i];
        ref_inputs.push_back(random_tensor(p, static_cast<int64_t>(i), seed));
        inputs.push_back(to_buffer(ref_inputs.back()));
        std::string origin = c.renumbered ? fmt::format(" (file's input {})", c.file_ids[i]) : "";
        const auto& vals = ref_inputs.back().values;
        fmt::print(out, "input {}{}: {}{} = {}\n", i, origin, dtype_name(p.dtype()),
                   ir::shape_str(p.shape()),
                   format_values(vals.size(), show, p.dtype(), [&](size_t k) { return vals[k]; }));
    }

    // Compile and run, as the frontend's realize driver does.
    runtime::CompiledProgram compiled;
    compiled.program = passes::compile_graph(c.roots);
    bind_dropped_inputs(compiled.program, c);
    for (const ir::Step& step : compiled.program.steps)
        if (const auto* k = std::get_if<ir::KernelStep>(&step))
            compiled.kernels.push_back(codegen::CpuCompiler::global().compile(k->kernel));
    runtime::plan_execution(compiled);
    std::vector<std::shared_ptr<runtime::Buffer>> outputs = runtime::execute(compiled, inputs);

    // The oracle, on the graph as written (before simplification).
    std::vector<ir::RefTensor> expected = ir::interpret(c.roots, [&](const Node& input) {
        return ref_inputs.at(static_cast<size_t>(input.attr_as<ir::InputAttr>().id));
    });

    bool all_ok = true;
    std::string first_failure;
    for (size_t i = 0; i < outputs.size(); ++i) {
        const runtime::Buffer& got = *outputs[i];
        const NodeRef& root = c.roots[i];
        fmt::print(out, "output {}: {}{} = {}\n", i, dtype_name(root->dtype()),
                   ir::shape_str(root->shape()),
                   format_values(static_cast<size_t>(got.numel()), show, got.dtype(),
                                 [&](size_t k) { return element(got, k); }));
        Tolerance tol = default_tolerance(root);
        if (is_floating(root->dtype())) {
            tol.rtol = parse_number(a, "rtol", tol.rtol);
            tol.atol = parse_number(a, "atol", tol.atol);
        }
        Comparison cmp = compare(got, expected[i], tol);
        fmt::print(out, "  max abs error {:.3g} vs reference (rtol {:g}, atol {:g}): {}\n",
                   cmp.max_abs_error, tol.rtol, tol.atol, cmp.ok ? "ok" : "MISMATCH");
        if (!cmp.ok && all_ok) {
            all_ok = false;
            first_failure = fmt::format(
                "output {} differs from the reference at element {}: got {}, expected {}", i,
                cmp.worst, format_value(element(got, cmp.worst), root->dtype(), true),
                format_value(expected[i].values[cmp.worst], root->dtype(), true));
        }
    }
    if (!all_ok) {
        fmt::print(out, "FAILED: {}\n", first_failure);
        // Also on stderr, so a failure is seen when stdout goes to a file.
        fmt::print(stderr, "kiln run: {}: {}\n", a.file, first_failure);
        return kExitFailure;
    }
    fmt::print(out, "ok: {} output{} match{} the reference\n", outputs.size(),
               outputs.size() == 1 ? "" : "s", outputs.size() == 1 ? "es" : "");
    return kExitOk;
}

}  // namespace kiln::cli
