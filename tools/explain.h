#pragma once
/// What fusion made of a graph, step by step: which ops each kernel computes, what it reads and
/// writes (bytes) and its arithmetic (FLOPs), and for every value passed between steps through
/// memory why it was not fused (the rule that materialized it) and what that costs. `kiln
/// explain` prints it as text or JSON, `kiln dot` draws it, `kiln bench` adds times to it.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "passes/pipeline.h"

namespace kiln::cli {

/// Version of the `kiln explain --json` document (schema "kiln.explain"); bumped when a field
/// changes meaning or goes away (new fields may appear without a bump).
inline constexpr int kExplainSchemaVersion = 1;

/// One step of the program: a generated kernel or an extern call (matmul, conv, gather, ...).
struct ExplainedStep {
    int64_t index = 0;
    bool is_kernel = true;
    /// The kernel's name, or the extern op ("matmul", "conv2d_grad_input", "gather", ...).
    std::string name;
    /// Outer loops of a kernel (empty for an extern call).
    ir::Shape loops;
    std::vector<const ir::Node*> outputs;  ///< values it stores (their buffers)
    std::vector<const ir::Node*> ops;      ///< values it computes, inputs first (its fused region)
    std::vector<const ir::Node*> reads;    ///< buffers it reads (inputs and other steps' outputs)
    /// Ops (not views) this step computes that an earlier step computes too: fusion inlines a
    /// cheap value into each consumer instead of storing it.
    std::vector<const ir::Node*> recomputed;
    int64_t bytes_read = 0, bytes_written = 0;
    /// Arithmetic per run: an elementwise op counts one per element, a reduction one per input
    /// element, a matmul or convolution 2 per multiply-add; copies, casts and selects count none.
    int64_t flops = 0;
    /// For a kernel made by merge_kernels: the kernels it replaced and why.
    std::vector<std::string> merged;
    std::string merge_reason;
};

/// A value one step writes and a later step reads: the fusion boundary between them.
struct ExplainedEdge {
    const ir::Node* value = nullptr;
    int64_t from = 0, to = 0;  ///< step indices
    int64_t bytes = 0;         ///< the buffer's size (written once, read again)
    std::string reason;        ///< why the value has a buffer (the fusion rule)
};

struct Explanation {
    /// Owns the graph the raw pointers below point into (the pipeline result may be gone).
    std::vector<ir::NodeRef> graph;
    std::vector<const ir::Node*> nodes;  ///< the simplified graph, in `%k` numbering order
    std::unordered_map<const ir::Node*, int64_t> id;  ///< node -> k of its `%k`
    std::vector<const ir::Node*> outputs;             ///< the graph's roots
    std::vector<ExplainedStep> steps;
    std::vector<ExplainedEdge> edges;
    /// Why each materialized node has a buffer (graph inputs have none).
    std::unordered_map<const ir::Node*, std::string> reasons;

    int64_t kernels() const;
    int64_t externs() const { return static_cast<int64_t>(steps.size()) - kernels(); }
    int64_t compute_ops() const;  ///< ops of the graph that compute values (not views, inputs)
};

/// The explanation of a pipeline result (its plan, program, merges and buffer nodes).
Explanation explain(const passes::PipelineResult& result);

/// "%12 add f32[256,512]".
std::string describe_value(const Explanation& e, const ir::Node* n);
/// Byte counts for people: "512 B", "1.5 KiB", "3.2 MiB".
std::string human_bytes(int64_t bytes);

/// The report `kiln explain` prints.
std::string explain_text(const Explanation& e);
/// The document `kiln explain --json` prints (schema in docs/cli.md).
nlohmann::json explain_json(const Explanation& e);
/// A value as JSON: {"id", "op", "dtype", "shape", "bytes"}.
nlohmann::json value_json(const Explanation& e, const ir::Node* n);

}  // namespace kiln::cli
