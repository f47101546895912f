// `kiln dump`, `kiln fuse` and `kiln codegen`: the inspection commands. `kiln run` is in
// tools/run_command.cpp.
#include "tools/commands.h"

#include <variant>

#include <fmt/format.h>

#include "codegen/cpu_compiler.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "tools/cli_common.h"

namespace kiln::cli {
namespace {

/// "# note: ..." lines telling the user their inputs were renumbered (they are comments, so the
/// output of `dump --after=simplify` stays valid .kir).
void print_renumbering(const CanonicalGraph& c, std::FILE* out) {
    if (!c.renumbered) return;
    fmt::print(out, "# note: input ids are not 0..{}; renumbered in order of appearance:",
               c.placeholders.size() - 1);
    for (size_t i = 0; i < c.file_ids.size(); ++i)
        fmt::print(out, "{} input {} -> {}", i ? "," : "", c.file_ids[i], i);
    fmt::print(out, "\n");
}

std::string describe_matmul(const ir::MatmulStep& m) {
    std::string batch = m.batch == 1 ? "" : fmt::format("{} x ", m.batch);
    return fmt::format("matmul {} {}[{},{}]{} x [{},{}]{} -> [{},{}] (runtime BLAS, no generated code)",
                       dtype_name(m.dtype), batch, m.m, m.k, m.trans_a ? " (transposed)" : "",
                       m.k, m.n, m.trans_b ? " (transposed)" : "", m.m, m.n);
}

std::string describe_index(const ir::IndexStep& s) {
    return fmt::format("{} {} [{},{},{}] by [{},{}] (runtime, no generated code)",
                       s.scatter ? "scatter_add" : "gather", dtype_name(s.dtype), s.split.outer,
                       s.split.size, s.split.inner, s.split.outer, s.count);
}

std::string describe_conv(const ir::ConvStep& s) {
    const ir::ConvGeometry& g = s.geometry;
    const char* what = s.pass == ir::ConvPass::Forward     ? "conv2d"
                       : s.pass == ir::ConvPass::InputGrad ? "conv2d_grad_input"
                                                           : "conv2d_grad_weight";
    return fmt::format("{} {} x {} w {} y {} stride [{},{}] padding [{},{}] dilation [{},{}] "
                       "groups {} (runtime, no generated code)",
                       what, dtype_name(s.dtype), ir::shape_str(g.input_shape()),
                       ir::shape_str(g.weight_shape()), ir::shape_str(g.output_shape()), g.sh,
                       g.sw, g.ph, g.pw, g.dh, g.dw, g.groups);
}

/// An extern step in words.
std::string describe_extern(const ir::Step& step) {
    if (const auto* m = std::get_if<ir::MatmulStep>(&step)) return describe_matmul(*m);
    if (const auto* c = std::get_if<ir::ConvStep>(&step)) return describe_conv(*c);
    return describe_index(std::get<ir::IndexStep>(step));
}

std::string plural(int64_t n, const char* word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

/// The loop kernels and extern calls of a program, in step order, and the summary line.
void print_program(const ir::Program& program, std::FILE* out) {
    int64_t kernels = 0, externs = 0;
    for (const ir::Step& step : program.steps) {
        if (const auto* k = std::get_if<ir::KernelStep>(&step)) {
            fmt::print(out, "{}", ir::print_loop_kernel(k->kernel));
            ++kernels;
        } else {
            fmt::print(out, "extern {}\n", describe_extern(step));
            ++externs;
        }
    }
    fmt::print(out, "{}, {}\n", plural(kernels, "kernel"), plural(externs, "extern call"));
}

}  // namespace

CommandArgs parse_command_args(const std::string& command, const std::vector<std::string>& args,
                               const OptionSpec& spec) {
    CommandArgs parsed;
    bool have_file = false;
    for (const std::string& a : args) {
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            size_t eq = a.find('=');
            std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            auto it = spec.find(name);
            if (it == spec.end())
                throw UsageError(fmt::format("kiln {}: unknown option {}", command, ir::quoted(a)));
            if (it->second && eq == std::string::npos)
                throw UsageError(fmt::format("kiln {}: option '--{}' needs a value (--{}=...)",
                                             command, name, name));
            if (!it->second && eq != std::string::npos)
                throw UsageError(
                    fmt::format("kiln {}: option '--{}' takes no value", command, name));
            parsed.options[name] = eq == std::string::npos ? "" : a.substr(eq + 1);
            continue;
        }
        if (a.size() > 1 && a[0] == '-')
            throw UsageError(fmt::format("kiln {}: unknown option {}", command, ir::quoted(a)));
        if (have_file)
            throw UsageError(fmt::format("kiln {}: unexpected argument {} (one FILE only)", command,
                                         ir::quoted(a)));
        parsed.file = a;
        have_file = true;
    }
    if (!have_file) throw UsageError(fmt::format("kiln {}: missing FILE argument", command));
    return parsed;
}

int cmd_dump(const std::vector<std::string>& args, std::FILE* out) {
    CommandArgs a = parse_command_args("dump", args, {{"after", true}});
    std::string after = a.has("after") ? a.options.at("after") : "";
    if (!after.empty() && after != "simplify" && after != "fusion" && after != "lower") {
        throw UsageError(fmt::format(
            "kiln dump: unknown pass {} for --after (expected simplify, fusion or lower)",
            ir::quoted(after)));
    }
    LoadedGraph g = load_graph(a.file);
    if (after.empty()) {
        // The file's own numbering is kept: `dump` is the printer's inverse of the parser.
        fmt::print(out, "{}", ir::print_graph(g.roots));
        return kExitOk;
    }
    CanonicalGraph c = canonicalize(g);
    print_renumbering(c, out);
    passes::PipelineResult r = passes::run_pipeline(c.roots);
    if (after == "simplify")
        fmt::print(out, "{}", ir::print_graph(r.simplified));
    else if (after == "fusion")
        fmt::print(out, "{}", passes::print_fusion(r.plan));
    else
        print_program(r.program, out);
    return kExitOk;
}

int cmd_fuse(const std::vector<std::string>& args, std::FILE* out) {
    CommandArgs a = parse_command_args("fuse", args, {});
    CanonicalGraph c = canonicalize(load_graph(a.file));
    print_renumbering(c, out);
    passes::PipelineResult r = passes::run_pipeline(c.roots);
    // The plan after lowering: lowering may have materialized more nodes, each with a reason.
    fmt::print(out, "# fusion\n{}", passes::print_fusion(r.plan));
    if (!r.merges.empty()) fmt::print(out, "# merged kernels\n{}", passes::print_merges(r.merges));
    fmt::print(out, "# loop kernels\n");
    print_program(r.program, out);
    return kExitOk;
}

int cmd_codegen(const std::vector<std::string>& args, std::FILE* out) {
    CommandArgs a = parse_command_args("codegen", args, {{"unoptimized", false}});
    bool optimized = !a.has("unoptimized");
    CanonicalGraph c = canonicalize(load_graph(a.file));
    passes::PipelineResult r = passes::run_pipeline(c.roots);
    // A private compiler without a disk cache: printing IR must not touch the user's cache.
    codegen::CpuCompiler compiler{std::filesystem::path()};
    fmt::print(out, "; target: {}\n", compiler.target_description());
    int64_t index = 0;
    for (const ir::Step& step : r.program.steps) {
        if (const auto* k = std::get_if<ir::KernelStep>(&step)) {
            fmt::print(out, "\n; kernel {}: {} ({})\n", index, k->kernel.name,
                       optimized ? "optimized" : "unoptimized");
            fmt::print(out, "{}", compiler.llvm_ir(k->kernel, optimized));
        } else {
            fmt::print(out, "\n; extern {}: {}\n", index,
                       describe_extern(step));
        }
        ++index;
    }
    return kExitOk;
}

}  // namespace kiln::cli
