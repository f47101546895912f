// The inspection commands: `kiln dump`, `fuse`, `explain`, `dot` and `codegen`. `kiln run` and
// `bench` are in tools/run_command.cpp and tools/bench_command.cpp, `cache` in
// tools/cache_command.cpp.
#include "tools/commands.h"

#include <cstdlib>
#include <filesystem>
#include <unordered_set>
#include <variant>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "codegen/cpu_compiler.h"
#include "codegen/cuda/cuda_source.h"
#include "codegen/cuda/nvrtc.h"
#include "frontend/serialize/atomic_file.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "tools/cli_common.h"
#include "tools/explain.h"

namespace kiln::cli {
namespace {

/// "# note: ..." lines telling the user their inputs were renumbered (they are comments, so the
/// output of `dump --after simplify` stays valid .kir).
void print_renumbering(const CanonicalGraph& c) {
    if (!c.renumbered) return;
    fmt::print("# note: input ids are not 0..{}; renumbered in order of appearance:",
               c.placeholders.size() - 1);
    for (size_t i = 0; i < c.file_ids.size(); ++i)
        fmt::print("{} input {} -> {}", i ? "," : "", c.file_ids[i], i);
    fmt::print("\n");
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
std::string program_text(const ir::Program& program) {
    std::string s;
    int64_t kernels = 0, externs = 0;
    for (const ir::Step& step : program.steps) {
        if (const auto* k = std::get_if<ir::KernelStep>(&step)) {
            s += ir::print_loop_kernel(k->kernel);
            ++kernels;
        } else {
            s += fmt::format("extern {}\n", describe_extern(step));
            ++externs;
        }
    }
    return s + fmt::format("{}, {}\n", plural(kernels, "kernel"), plural(externs, "extern call"));
}

/// The graph of `file` through the pass pipeline.
passes::PipelineResult pipeline_of(const std::string& file,
                                   const passes::PipelineOptions& options = {}) {
    CanonicalGraph c = canonicalize(load_graph(file));
    print_renumbering(c);
    return passes::run_pipeline(c.roots, options);
}

// ---- dump

int run_dump(const std::string& file, const std::string& after) {
    if (after.empty()) {
        fmt::print("{}", ir::print_graph(load_graph(file).roots));
        return kExitOk;
    }
    passes::PipelineOptions options;
    options.after_pass = [&](std::string_view pass, const std::string& text) {
        if (after == "all")
            fmt::print("# after {}\n{}", pass, text);
        else if (pass == after)
            fmt::print("{}", text);
    };
    passes::PipelineResult r = pipeline_of(file, options);
    if (after == "merge" && r.merges.empty()) fmt::print("# no kernels merged\n");
    return kExitOk;
}

// ---- dot

/// Graphviz text: one cluster per step holding the ops it computes; values that cross steps
/// through memory are bold edges labelled with their bytes.
std::string dot_text(const Explanation& e) {
    std::string out = "digraph kiln {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", "
                      "fontsize=10];\n  edge [fontname=\"monospace\", fontsize=9];\n";
    std::unordered_map<const ir::Node*, int64_t> placed;  // node -> the step drawing it
    for (const ExplainedStep& s : e.steps) {
        out += fmt::format("  subgraph cluster_{} {{\n    label=\"step {}: {} {}\";\n    "
                           "style=rounded; color={};\n",
                           s.index, s.index, s.is_kernel ? "kernel" : "extern", s.name,
                           s.is_kernel ? "blue" : "darkgreen");
        for (const ir::Node* n : s.ops) {
            if (!placed.emplace(n, s.index).second) continue;  // recomputed: drawn once
            out += fmt::format("    n{} [label=\"{}\"];\n", e.id.at(n), describe_value(e, n));
        }
        out += "  }\n";
    }
    for (const ir::Node* n : e.nodes) {
        if (n->op() != ir::Op::Input) continue;
        out += fmt::format("  n{} [label=\"{}\", shape=ellipse];\n", e.id.at(n), describe_value(e, n));
        placed.emplace(n, -1);
    }
    // Edges between drawn nodes; inside a kernel a view between two ops is skipped over, so an
    // op's drawn inputs are the nearest drawn nodes below it.
    for (const ir::Node* n : e.nodes) {
        if (!placed.count(n) || n->op() == ir::Op::Input) continue;
        std::vector<const ir::Node*> stack;
        for (const ir::NodeRef& in : n->inputs()) stack.push_back(in.get());
        std::unordered_set<const ir::Node*> seen;
        while (!stack.empty()) {
            const ir::Node* in = stack.back();
            stack.pop_back();
            if (!seen.insert(in).second || in->op() == ir::Op::Const) continue;
            if (!placed.count(in)) {
                for (const ir::NodeRef& deeper : in->inputs()) stack.push_back(deeper.get());
                continue;
            }
            auto reason = e.reasons.find(in);
            bool memory = in->op() == ir::Op::Input || reason != e.reasons.end();
            if (memory && in->op() != ir::Op::Input)
                out += fmt::format("  n{} -> n{} [style=bold, label=\"{}\"];\n", e.id.at(in),
                                   e.id.at(n), human_bytes(ir::numel(in->shape()) *
                                                           dtype_size(in->dtype())));
            else
                out += fmt::format("  n{} -> n{};\n", e.id.at(in), e.id.at(n));
        }
    }
    for (const ir::Node* n : e.outputs)
        out += fmt::format("  out{0} [label=\"output\", shape=plaintext];\n  n{0} -> out{0};\n",
                           e.id.at(n));
    return out + "}\n";
}

int run_dot(const std::string& file, const std::string& output) {
    std::string text = dot_text(explain(pipeline_of(file)));
    if (output.empty()) {
        fmt::print("{}", text);
        return kExitOk;
    }
    std::filesystem::path out(output);
    std::string ext = out.extension().string();
    if (ext == ".dot" || ext == ".gv") {
        detail::write_file_atomically(output, {text}, "kiln dot");
        return kExitOk;
    }
    if (ext != ".svg" && ext != ".png")
        throw UsageError(fmt::format("kiln dot: -o {}: expected a .dot, .svg or .png file", output));
    std::filesystem::path dot_file = out;
    dot_file.replace_extension(".dot");
    if (std::system("command -v dot >/dev/null 2>&1") != 0) {
        detail::write_file_atomically(dot_file.string(), {text}, "kiln dot");
        fmt::print("Graphviz's 'dot' is not installed: wrote {} instead (render it with "
                   "'dot -T{} {} -o {}')\n",
                   dot_file.string(), ext.substr(1), dot_file.string(), output);
        return kExitOk;
    }
    // dot writes the image: render to a temporary name in the same directory, then rename, so
    // a failed render never leaves a partial image behind.
    std::filesystem::path temp_dot = out, temp_image = out;
    temp_dot += ".kiln-tmp.dot";
    temp_image += ".kiln-tmp" + ext;
    detail::write_file_atomically(temp_dot.string(), {text}, "kiln dot");
    std::string command = fmt::format("dot -T{} '{}' -o '{}'", ext.substr(1), temp_dot.string(),
                                      temp_image.string());
    int status = std::system(command.c_str());
    std::error_code ec;
    std::filesystem::remove(temp_dot, ec);
    if (status != 0) {
        std::filesystem::remove(temp_image, ec);
        throw Error(fmt::format("dot failed to render {} (status {})", output, status));
    }
    std::filesystem::rename(temp_image, out, ec);
    if (ec) {
        std::filesystem::remove(temp_image, ec);
        throw Error(fmt::format("cannot write {}: {}", output, ec.message()));
    }
    return kExitOk;
}

// ---- codegen

/// A kernel as CUDA C (with its launch shape) or, for "ptx", compiled by NVRTC.
std::string cuda_code(const ir::LoopKernel& kernel, int64_t index, const std::string& target) {
    std::string name = fmt::format("kiln_{}_{}", kernel.name, index);
    std::string source = codegen::render_cuda(kernel, name);
    if (target == "ptx") return codegen::compile_ptx(source, name);
    codegen::CudaLaunch l = codegen::launch_shape(kernel);
    std::string unit = l.block_per_point      ? "one block per outer point"
                       : l.points_per_thread > 1 ? fmt::format("{} consecutive outer points per "
                                                               "thread (vector loads)",
                                                               l.points_per_thread)
                                                 : "one thread per outer point";
    return fmt::format("// launch: {} threads per block, {}\n{}", l.block_threads, unit, source);
}

int run_codegen(const std::string& file, const std::string& target, int64_t only) {
    bool cuda = target == "cuda" || target == "ptx";
    if (target == "ptx" && !codegen::nvrtc_available())
        throw Error("--target ptx: " + codegen::nvrtc_unavailable_reason());
    passes::PipelineResult r = pipeline_of(file);
    // A private compiler without a disk cache: printing code must not touch the user's cache.
    codegen::CpuCompiler compiler{std::filesystem::path()};
    int64_t index = 0, kernels = 0;
    for (const ir::Step& step : r.program.steps)
        kernels += std::holds_alternative<ir::KernelStep>(step);
    if (only >= kernels)
        throw UsageError(fmt::format("kiln codegen: --kernel {}: the program has {}", only,
                                     plural(kernels, "kernel")));
    if (target == "ptx")
        fmt::print("; target: compute_90 PTX (NVRTC {})\n", codegen::nvrtc_version());
    else if (cuda)
        fmt::print("; target: CUDA C for NVRTC\n");
    else
        fmt::print("; target: {}\n", compiler.target_description());
    for (const ir::Step& step : r.program.steps) {
        const auto* k = std::get_if<ir::KernelStep>(&step);
        if (!k) {
            if (only < 0) fmt::print("\n; extern {}\n", describe_extern(step));
            continue;
        }
        int64_t i = index++;
        if (only >= 0 && i != only) continue;
        fmt::print("\n; kernel {}: {}\n", i, k->kernel.name);
        if (cuda)
            fmt::print("{}", cuda_code(k->kernel, i, target));
        else if (target == "asm")
            fmt::print("{}", compiler.assembly(k->kernel));
        else
            fmt::print("{}", compiler.llvm_ir(k->kernel, target == "llvm-opt"));
    }
    return kExitOk;
}

}  // namespace

const CLI::Validator& kNonNegative = *new CLI::Validator(
    [](std::string& text) -> std::string {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(v >= 0))
            return "expected a number >= 0, got " + ir::quoted(text);
        return {};
    },
    "NUMBER>=0", "non-negative number");

void set_help(CLI::App& command, const std::string& about, const std::string& examples) {
    std::string text = "\n", line;
    size_t start = 0;
    while (start < about.size()) {
        size_t end = about.find(' ', start);
        if (end == std::string::npos) end = about.size();
        std::string word = about.substr(start, end - start);
        if (!line.empty() && line.size() + 1 + word.size() > 90) {
            text += line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        start = end + 1;
    }
    text += line + "\n\nExamples:\n" + examples;
    command.footer(text);
}

void add_file_argument(CLI::App& command, std::string& file) {
    command.add_option("FILE", file, "a .kir file, or - for standard input")
        ->required()
        ->check(CLI::Validator(
            [](std::string& path) -> std::string {
                std::error_code ec;
                if (path == "-" || std::filesystem::is_regular_file(path, ec)) return {};
                if (std::filesystem::is_directory(path, ec)) return "is a directory: " + path;
                return "no such file: " + path;
            },
            "FILE", "file"));
}

void add_dump(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("dump", "print and verify the IR, or a pass's result");
    std::string about = "Parse and verify FILE and print it as canonical text, or the result of a "
                     "pass of the pipeline (--after).";
    auto file = std::make_shared<std::string>();
    auto after = std::make_shared<std::string>();
    add_file_argument(*cmd, *file);
    std::vector<std::string> passes(std::begin(passes::kPassNames), std::end(passes::kPassNames));
    passes.push_back("all");
    cmd->add_option("--after", *after,
                    "print the result of this pass instead (simplify, split, colsums: the graph; "
                    "fusion: the partition; lower: the loop kernels; merge: the merged kernels; "
                    "all: after every pass)")
        ->check(CLI::IsMember(passes));
    set_help(*cmd, about, "  kiln dump step.kir\n  kiln dump step.kir --after simplify\n"
                "  kiln dump step.kir --after all | less");
    cmd->callback([&action, file, after] { action = [file, after] { return run_dump(*file, *after); }; });
}

void add_fuse(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("fuse", "the kernel partition and every loop kernel");
    std::string about = "Simplify, fuse and lower FILE: the kernel partition with the reason for "
                     "every buffer, the merged kernels and every loop kernel.";
    auto file = std::make_shared<std::string>();
    add_file_argument(*cmd, *file);
    set_help(*cmd, about, "  kiln fuse softmax.kir");
    cmd->callback([&action, file] {
        action = [file] {
            passes::PipelineResult r = pipeline_of(*file);
            // The plan after lowering: lowering may have materialized more nodes, with reasons.
            fmt::print("# fusion\n{}", passes::print_fusion(r.plan));
            if (!r.merges.empty()) fmt::print("# merged kernels\n{}", passes::print_merges(r.merges));
            fmt::print("# loop kernels\n{}", program_text(r.program));
            return kExitOk;
        };
    });
}

void add_explain(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("explain", "every fusion decision, with bytes and FLOPs");
    std::string about = "Every fusion decision in FILE: the ops each kernel computes, the bytes it "
                     "reads and writes and its FLOPs, and for every value passed between "
                     "kernels through memory the rule that kept it out of a kernel and what it "
                     "costs.";
    auto file = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    add_file_argument(*cmd, *file);
    cmd->add_flag("--json", *json,
                  "print a JSON document instead (schema \"kiln.explain\", see docs/cli.md)");
    set_help(*cmd, about, "  kiln explain softmax.kir\n"
                "  kiln explain step.kir --json | python3 -m json.tool");
    cmd->callback([&action, file, json] {
        action = [file, json] {
            Explanation e = explain(pipeline_of(*file));
            if (*json)
                fmt::print("{}\n", explain_json(e).dump(2));
            else
                fmt::print("{}", explain_text(e));
            return kExitOk;
        };
    });
}

void add_dot(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("dot", "Graphviz drawing, one cluster per kernel");
    std::string about = "FILE as a Graphviz graph: one cluster per kernel or extern call, values "
                     "passed through memory as bold edges labelled with their bytes.";
    auto file = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    add_file_argument(*cmd, *file);
    cmd->add_option("-o,--output", *output,
                    "write OUT.dot, or render OUT.svg / OUT.png with Graphviz's dot (when it is "
                    "not installed, OUT.dot is written instead); default: .dot text on stdout");
    set_help(*cmd, about, "  kiln dot softmax.kir -o softmax.svg\n  kiln dot step.kir | dot -Tpng -o step.png");
    cmd->callback([&action, file, output] {
        action = [file, output] { return run_dot(*file, *output); };
    });
}

void add_codegen(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("codegen", "generated code: LLVM IR, assembly");
    std::string about = "The code generated for each kernel of FILE.";
    auto file = std::make_shared<std::string>();
    auto target = std::make_shared<std::string>("llvm-opt");
    auto kernel = std::make_shared<int64_t>(-1);
    add_file_argument(*cmd, *file);
    cmd->add_option("--target", *target,
                    "llvm: LLVM IR as emitted; llvm-opt: after optimization (default); asm: "
                    "machine assembly for this CPU; cuda: CUDA C as NVRTC compiles it; ptx: "
                    "that compiled by NVRTC for compute_90 (needs the CUDA toolkit's NVRTC)")
        ->check(CLI::IsMember({"llvm", "llvm-opt", "asm", "cuda", "ptx"}));
    cmd->add_option("--kernel", *kernel, "only kernel N (counting kernels from 0, in run order)")
        ->check(kNonNegative);
    set_help(*cmd, about, "  kiln codegen chain.kir\n  kiln codegen step.kir --target asm --kernel 3");
    cmd->callback([&action, file, target, kernel] {
        action = [file, target, kernel] { return run_codegen(*file, *target, *kernel); };
    });
}

}  // namespace kiln::cli
