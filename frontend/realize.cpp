// The realize driver. Each call takes the graph reachable from the requested tensors, rewrites it
// into canonical form (realized buffers become numbered placeholders), looks the structure up in
// the program cache and only on a miss runs the pass pipeline and the compiler. Then it runs the
// program and swaps each requested tensor's node for an input node owning its result.
#include "frontend/realize.h"

#include <mutex>
#include <unordered_map>

#include "codegen/cpu_compiler.h"
#include "frontend/dump.h"
#include "frontend/realize_stats.h"
#include "passes/pipeline.h"
#include "runtime/executor.h"

namespace kiln::detail {
namespace {

using ir::Node;
using ir::NodeRef;

struct RootsHash {
    size_t operator()(const std::vector<NodeRef>& roots) const {
        size_t h = roots.size();
        for (const NodeRef& r : roots) h = h * 1000003u ^ std::hash<const Node*>{}(r.get());
        return h;
    }
};

struct Realizer {
    std::mutex mutex;
    /// Canonical roots -> compiled program. The key keeps the canonical graph alive, so pointer
    /// equality of roots is structural equality.
    std::unordered_map<std::vector<NodeRef>, std::shared_ptr<runtime::CompiledProgram>, RootsHash>
        programs;
    /// Nodes computed earlier -> the input node holding their value, so that graphs still
    /// referring to the old computation reuse the result. Weak on both sides.
    struct Computed {
        std::weak_ptr<const Node> node;
        std::weak_ptr<const Node> value;
    };
    std::unordered_map<const Node*, Computed> computed;
    size_t computed_purge_at = 1024;

    NodeRef computed_value(const Node* n) {
        auto it = computed.find(n);
        if (it == computed.end()) return nullptr;
        if (it->second.node.lock().get() != n) return nullptr;
        return it->second.value.lock();
    }

    void remember(const NodeRef& node, const NodeRef& value) {
        if (computed.size() >= computed_purge_at) {
            std::erase_if(computed, [](const auto& kv) {
                return kv.second.node.expired() || kv.second.value.expired();
            });
            computed_purge_at = std::max<size_t>(1024, computed.size() * 2);
        }
        computed[node.get()] = Computed{node, value};
    }

    /// Rewrites the graph with placeholders for buffers (collected in `inputs`, in order of first
    /// appearance) and with earlier results substituted (their inputs are not visited).
    std::vector<NodeRef> canonicalize(const std::vector<NodeRef>& roots,
                                      std::vector<std::shared_ptr<runtime::Buffer>>& inputs) {
        std::unordered_map<const Node*, NodeRef> done;
        std::unordered_map<const Node*, NodeRef> placeholders;  // buffer's input node -> placeholder
        auto leaf = [&](const Node* n) -> NodeRef {
            NodeRef source = computed_value(n);
            const Node* m = source ? source.get() : n;
            if (m->op() != ir::Op::Input) return nullptr;
            KILN_CHECK(m->attr_as<ir::InputAttr>().data != nullptr, "placeholder in a user graph");
            auto it = placeholders.find(m);
            if (it != placeholders.end()) return it->second;
            NodeRef p = Node::make(ir::Op::Input, m->dtype(), m->shape(), {},
                                   ir::InputAttr{static_cast<int64_t>(inputs.size()), nullptr});
            inputs.push_back(buffer_of(*m));
            placeholders[m] = p;
            return p;
        };
        // Iterative post-order DFS: graphs can be long chains.
        std::vector<std::pair<const Node*, size_t>> stack;
        for (const NodeRef& root : roots) {
            if (done.count(root.get())) continue;
            stack.push_back({root.get(), 0});
            while (!stack.empty()) {
                auto& [n, next] = stack.back();
                if (next == 0) {
                    if (NodeRef l = leaf(n)) {
                        done[n] = l;
                        stack.pop_back();
                        continue;
                    }
                }
                if (next < n->inputs().size()) {
                    const Node* in = n->inputs()[next++].get();
                    if (!done.count(in)) stack.push_back({in, 0});
                    continue;
                }
                std::vector<NodeRef> ins;
                ins.reserve(n->inputs().size());
                for (const NodeRef& in : n->inputs()) ins.push_back(done.at(in.get()));
                done[n] = Node::make(n->op(), n->dtype(), n->shape(), std::move(ins), n->attr());
                stack.pop_back();
            }
        }
        std::vector<NodeRef> canonical;
        for (const NodeRef& r : roots) canonical.push_back(done.at(r.get()));
        return canonical;
    }

    std::shared_ptr<runtime::CompiledProgram> program_for(const std::vector<NodeRef>& canonical) {
        auto it = programs.find(canonical);
        if (it != programs.end()) {
            realize_counters().program_cache_hits++;
            return it->second;
        }
        realize_counters().program_cache_misses++;
        auto compiled = std::make_shared<runtime::CompiledProgram>();
        compiled->program = passes::compile_graph(canonical);
        for (const ir::Step& step : compiled->program.steps) {
            if (const auto* k = std::get_if<ir::KernelStep>(&step))
                compiled->kernels.push_back(codegen::CpuCompiler::global().compile(k->kernel));
        }
        runtime::plan_execution(*compiled);
        programs.emplace(canonical, compiled);
        return compiled;
    }
};

Realizer& realizer() {
    static Realizer* r = new Realizer();  // leaked: tensors may die during static destruction
    return *r;
}

}  // namespace

ir::NodeRef input_node(const std::shared_ptr<runtime::Buffer>& buffer, const ir::Shape& shape) {
    KILN_CHECK(ir::numel(shape) == buffer->numel(), "input_node: shape does not match buffer");
    return Node::make(ir::Op::Input, buffer->dtype(), shape, {},
                      ir::InputAttr{buffer->id(), std::shared_ptr<const void>(buffer)});
}

std::shared_ptr<runtime::Buffer> buffer_of(const ir::Node& input) {
    const auto& attr = input.attr_as<ir::InputAttr>();
    KILN_CHECK(attr.data != nullptr, "buffer_of: a placeholder has no buffer");
    return std::const_pointer_cast<runtime::Buffer>(
        std::static_pointer_cast<const runtime::Buffer>(attr.data));
}

std::vector<ir::NodeRef> canonical_graph(const std::vector<ir::NodeRef>& roots,
                                         std::vector<std::shared_ptr<runtime::Buffer>>& inputs) {
    Realizer& r = realizer();
    std::lock_guard lock(r.mutex);
    return r.canonicalize(roots, inputs);
}

void realize_impls(const std::vector<TensorImpl*>& impls) {
    Realizer& r = realizer();
    std::lock_guard lock(r.mutex);
    std::vector<TensorImpl*> targets;
    std::vector<NodeRef> roots;
    for (TensorImpl* impl : impls) {
        if (impl->node->op() == ir::Op::Input) continue;
        if (NodeRef value = r.computed_value(impl->node.get())) {
            impl->node = value;
            continue;
        }
        targets.push_back(impl);
        roots.push_back(impl->node);
    }
    if (roots.empty()) return;
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    std::vector<NodeRef> canonical = r.canonicalize(roots, inputs);
    dump_graph_if_requested(canonical);
    std::shared_ptr<runtime::CompiledProgram> compiled = r.program_for(canonical);
    std::vector<std::shared_ptr<runtime::Buffer>> outputs = runtime::execute(*compiled, inputs);
    realize_counters().realizations++;
    for (size_t i = 0; i < targets.size(); ++i) {
        NodeRef old = targets[i]->node;
        NodeRef value = input_node(outputs[i], old->shape());
        // Tensors that shared a node share the value too.
        if (NodeRef earlier = r.computed_value(old.get())) value = earlier;
        targets[i]->node = value;
        r.remember(old, value);
    }
}

}  // namespace kiln::detail
