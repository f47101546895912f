// The realize driver. Each call takes the graph reachable from the requested tensors, rewrites it
// into canonical form (realized buffers become numbered placeholders), looks the structure up in
// the program cache and only on a miss runs the pass pipeline and the compiler. Then it runs the
// program and swaps each requested tensor's node for an input node owning its result.
#include "frontend/realize.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "codegen/cpu_compiler.h"
#include "codegen/cuda/cuda_compiler.h"
#include "frontend/checks.h"
#include "frontend/const_lifting.h"
#include "frontend/dump.h"
#include "frontend/index_sites.h"
#include "frontend/pending.h"
#include "frontend/realize_stats.h"
#include "passes/pipeline.h"
#include "runtime/cpu_allocator.h"
#include "runtime/executor.h"
#include "runtime/indexing.h"
#include "runtime/thread_pool.h"
#include "support/profiler.h"

namespace kiln::detail {
namespace {

using ir::Node;
using ir::NodeRef;

/// A program is compiled for a canonical graph on one device.
struct ProgramKey {
    std::vector<NodeRef> roots;
    Device device;
    bool operator==(const ProgramKey&) const = default;
};

struct ProgramKeyHash {
    size_t operator()(const ProgramKey& key) const {
        size_t h = key.roots.size() * 31u + static_cast<size_t>(key.device.type) * 7u +
                   static_cast<size_t>(key.device.index);
        for (const NodeRef& r : key.roots) h = h * 1000003u ^ std::hash<const Node*>{}(r.get());
        return h;
    }
};

struct Realizer {
    /// A compiled program, or the right to compile it: the first thread to miss compiles while
    /// threads missing on the same structure wait for it; a compile that throws lets the next
    /// one retry.
    struct ProgramSlot {
        std::once_flag once;
        std::shared_ptr<runtime::CompiledProgram> program;
        int64_t nodes = 0;                  ///< size of the canonical graph the key keeps alive
        std::atomic<uint64_t> last_use{0};  ///< for evicting the least recently used
        /// KILN_DUMP: the kernels file written when the program was compiled (set once, in
        /// `once`), which later graphs that hit this slot link to.
        std::optional<std::filesystem::path> kernels_file;
    };
    std::mutex programs_mutex;
    /// Canonical roots -> compiled program. The key keeps the canonical graph alive, so pointer
    /// equality of roots is structural equality.
    std::unordered_map<ProgramKey, std::shared_ptr<ProgramSlot>, ProgramKeyHash> programs;
    /// Nodes the keys keep alive, and the clock of last uses. Past kMaxCachedProgramNodes the
    /// least recently used programs are dropped, so a loop that keeps building new big graphs
    /// does not keep every one of them.
    int64_t cached_nodes = 0;
    std::atomic<uint64_t> use_clock{0};
    static constexpr int64_t kMaxCachedProgramNodes = int64_t(1) << 18;

    /// Drops least recently used programs past the bound; their keys (graphs) are moved to
    /// `dropped`, to be destroyed after the lock is released.
    void evict_locked(const ProgramSlot* keep, std::vector<ProgramKey>& dropped) {
        while (cached_nodes > kMaxCachedProgramNodes && programs.size() > 1) {
            auto oldest = programs.end();
            for (auto it = programs.begin(); it != programs.end(); ++it) {
                if (it->second.get() == keep) continue;
                if (oldest == programs.end() ||
                    it->second->last_use.load() < oldest->second->last_use.load())
                    oldest = it;
            }
            cached_nodes -= oldest->second->nodes;
            auto node = programs.extract(oldest);  // a thread running it holds its own reference
            dropped.push_back(std::move(node.key()));
        }
    }

    /// Nodes computed earlier -> the input node holding their value, so that graphs still
    /// referring to the old computation reuse the result. Weak on both sides. Read by every
    /// canonicalization (shared lock), written when a realization finishes.
    struct Computed {
        std::weak_ptr<const Node> node;
        std::weak_ptr<const Node> value;
    };
    std::shared_mutex computed_mutex;
    std::unordered_map<const Node*, Computed> computed;
    size_t computed_purge_at = 1024;

    NodeRef computed_value_locked(const Node* n) const {
        auto it = computed.find(n);
        if (it == computed.end()) return nullptr;
        if (it->second.node.lock().get() != n) return nullptr;
        return it->second.value.lock();
    }
    NodeRef computed_value(const Node* n) {
        std::shared_lock lock(computed_mutex);
        return computed_value_locked(n);
    }

    void remember_locked(const NodeRef& node, const NodeRef& value) {
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
                                      std::vector<std::shared_ptr<runtime::Buffer>>& inputs,
                                      int64_t* node_count = nullptr) {
        std::unordered_map<const Node*, NodeRef> done;
        std::unordered_map<const Node*, NodeRef> placeholders;  // buffer's input node -> placeholder
        auto leaf = [&](const Node* n) -> NodeRef {
            NodeRef source = n->op() == ir::Op::Input ? nullptr : computed_value(n);
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
                if (n->op() == ir::Op::Detach || n->op() == ir::Op::Leaf) {
                    // Autograd markers are identities on values: programs never see them, so
                    // a step's cache key does not depend on which tensors require grad.
                    done[n] = done.at(n->input(0).get());
                    stack.pop_back();
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
        if (node_count) *node_count = static_cast<int64_t>(done.size());
        return canonical;
    }

    ConstLifter lifter;

    /// The not yet computed matmuls, gathers and reductions of the graph under `roots` that
    /// carry gradients (not the roots themselves): what a backward would otherwise recompute
    /// at a cost (elementwise ops are cheap to recompute from them, fused).
    std::vector<NodeRef> values_backward_needs(const std::vector<NodeRef>& roots) {
        std::vector<NodeRef> out;
        std::unordered_map<const Node*, bool> seen;
        for (const NodeRef& r : roots) seen[r.get()] = true;
        std::vector<NodeRef> stack = roots;
        while (!stack.empty()) {
            NodeRef n = std::move(stack.back());
            stack.pop_back();
            for (const NodeRef& in : n->inputs()) {
                if (!in->tracks_grad() || in->op() == ir::Op::Leaf || seen.count(in.get())) continue;
                seen[in.get()] = true;
                if (computed_value(in.get())) continue;
                ir::OpCategory c = ir::op_category(in->op());
                if (c == ir::OpCategory::Extern || c == ir::OpCategory::Reduce) out.push_back(in);
                stack.push_back(in);
            }
        }
        return out;
    }

    /// The program for `graph` (canonical, of `nodes` nodes), compiled on a miss. A miss on a
    /// graph that differs from an earlier one only in constant values runs the lifted graph
    /// instead (its constants' buffers are appended to `inputs`). `dumped`: the graph's
    /// KILN_DUMP file, which gets its kernels file beside it. `hit`: whether the program came
    /// from the cache.
    std::shared_ptr<runtime::CompiledProgram>
    program_for(const std::vector<NodeRef>& graph, int64_t nodes, Device device,
                std::vector<std::shared_ptr<runtime::Buffer>>& inputs,
                const std::optional<std::filesystem::path>& dumped, bool& hit) {
        std::shared_ptr<ProgramSlot> slot;
        std::vector<ProgramKey> dropped;  // destroyed after the lock, at return
        ProgramKey key{graph, device};
        {
            std::unique_lock lock(programs_mutex);
            if (!programs.count(key)) {
                lock.unlock();
                std::vector<NodeRef> lifted = lifter.lift(key.roots, inputs);
                if (!lifted.empty()) key.roots = std::move(lifted);
                lock.lock();
            }
            std::shared_ptr<ProgramSlot>& s = programs[key];
            if (!s) {
                s = std::make_shared<ProgramSlot>();
                s->nodes = nodes;
                cached_nodes += nodes;
                slot = s;  // (s may dangle once evict_locked erases entries)
                evict_locked(slot.get(), dropped);
            } else {
                slot = s;
            }
        }
        slot->last_use.store(use_clock.fetch_add(1) + 1);
        bool compiled_here = false;
        std::call_once(slot->once, [&] {
            slot->program = compile(key.roots, device);
            compiled_here = true;
            if (dumped) slot->kernels_file = dump_kernels(*dumped, slot->program->program);
        });
        (compiled_here ? realize_counters().program_cache_misses
                       : realize_counters().program_cache_hits)++;
        if (dumped && !compiled_here && slot->kernels_file)
            dump_cached_kernels(*slot->kernels_file, *dumped);
        hit = !compiled_here;
        return slot->program;
    }

    /// Passes, then every kernel compiled for `device` (in parallel: kernels are independent).
    static std::shared_ptr<runtime::CompiledProgram>
    compile(const std::vector<NodeRef>& canonical, Device device) {
        support::profiler::Span span("compile", "compile");
        auto compiled = std::make_shared<runtime::CompiledProgram>();
        compiled->device = device;
        compiled->program = passes::compile_graph(canonical);
        if (device.is_cuda()) {
            compile_cuda_steps(*compiled);
            runtime::plan_execution(*compiled);
            return compiled;
        }
        std::vector<const ir::LoopKernel*> kernels;
        for (const ir::Step& step : compiled->program.steps) {
            if (const auto* k = std::get_if<ir::KernelStep>(&step)) kernels.push_back(&k->kernel);
        }
        if (span) {
            span.arg("steps", static_cast<int64_t>(compiled->program.steps.size()));
            span.arg("kernels", static_cast<int64_t>(kernels.size()));
        }
        compiled->kernels.resize(kernels.size());
        runtime::ThreadPool::global().parallel_for(
            static_cast<int64_t>(kernels.size()), 1, [&](int64_t begin, int64_t end) {
                for (int64_t i = begin; i < end; ++i)
                    compiled->kernels[static_cast<size_t>(i)] =
                        codegen::CpuCompiler::global().compile(*kernels[static_cast<size_t>(i)]);
            });
        runtime::plan_execution(*compiled);
        return compiled;
    }

    /// One CUDA launch per kernel, index and conv step (matmuls go to cuBLAS), compiled in
    /// parallel.
    static void compile_cuda_steps(runtime::CompiledProgram& compiled) {
        const std::vector<ir::Step>& steps = compiled.program.steps;
        const int device = compiled.device.index;
        compiled.cuda_steps.resize(steps.size());
        runtime::ThreadPool::global().parallel_for(
            static_cast<int64_t>(steps.size()), 1, [&](int64_t begin, int64_t end) {
                codegen::CudaCompiler& compiler = codegen::CudaCompiler::global();
                for (int64_t i = begin; i < end; ++i) {
                    auto s = static_cast<size_t>(i);
                    runtime::CudaLaunchFn& fn = compiled.cuda_steps[s];
                    if (const auto* k = std::get_if<ir::KernelStep>(&steps[s]))
                        fn = compiler.compile(k->kernel, device);
                    else if (const auto* ix = std::get_if<ir::IndexStep>(&steps[s]))
                        fn = compiler.compile(runtime::index_step_source(*ix), device);
                    else if (const auto* cv = std::get_if<ir::ConvStep>(&steps[s]))
                        fn = compiler.compile(runtime::conv_step_source(*cv), device);
                }
            });
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
    return realizer().canonicalize(roots, inputs);
}

namespace {

/// Runs the realization of `impls` (all on `device`); memory errors are reported by the
/// caller.
void realize_unchecked(const std::vector<TensorImpl*>& impls, Device device) {
    Realizer& r = realizer();
    std::vector<TensorImpl*> targets;
    std::vector<NodeRef> roots;  // keeps the recorded graphs alive while other threads swap
    for (TensorImpl* impl : impls) {
        if (impl->value()) continue;
        NodeRef node = impl->node();
        // A value computed on another device is not this tensor's: the program below copies it.
        NodeRef value = r.computed_value(node.get());
        if (value && buffer_of(*value)->device() == device) {
            impl->set_value(node, value);
            continue;
        }
        targets.push_back(impl);
        roots.push_back(std::move(node));
    }
    if (roots.empty()) return;
    support::profiler::Span span("realize", "realize");
    // A tensor that requires grad, realized before its backward: the matmuls and reductions of
    // its graph are computed as extra outputs and kept, so the backward does not run them again.
    // A leaf (a parameter given its updated value) is never differentiated through.
    size_t requested = roots.size();
    std::vector<TensorImpl*> savers;
    for (TensorImpl* impl : targets) {
        const Node& n = *impl->node();
        if (n.tracks_grad() && n.op() != ir::Op::Leaf && !impl->graph_freed.load())
            savers.push_back(impl);
    }
    if (!savers.empty()) {
        for (NodeRef& n : r.values_backward_needs(roots)) roots.push_back(std::move(n));
    }
    std::vector<std::shared_ptr<runtime::Buffer>> inputs;
    int64_t nodes = 0;
    std::vector<NodeRef> canonical;
    {
        support::profiler::Span canonicalize_span("realize", "canonicalize");
        canonical = r.canonicalize(roots, inputs, &nodes);
    }
    std::optional<std::filesystem::path> dumped = dump_graph_if_requested(canonical);
    bool hit = false;
    std::shared_ptr<runtime::CompiledProgram> compiled =
        r.program_for(canonical, nodes, device, inputs, dumped, hit);
    if (span) {
        span.arg("outputs", static_cast<int64_t>(roots.size()));
        span.arg("requested", static_cast<int64_t>(requested));
        span.arg("nodes", nodes);
        span.arg("inputs", static_cast<int64_t>(inputs.size()));
        span.arg("cache", hit ? "hit" : "miss");
    }
    std::vector<std::shared_ptr<runtime::Buffer>> outputs = runtime::execute(*compiled, inputs);
    realize_counters().realizations++;
    std::vector<NodeRef> values(targets.size());
    {
        std::unique_lock lock(r.computed_mutex);
        for (size_t i = 0; i < targets.size(); ++i) {
            // Tensors that shared a node share the value too (also when another thread
            // computed it meanwhile).
            values[i] = r.computed_value_locked(roots[i].get());
            if (!values[i] || buffer_of(*values[i])->device() != device) {
                values[i] = input_node(outputs[i], roots[i]->shape());
                r.remember_locked(roots[i], values[i]);
            }
        }
    }
    for (size_t i = 0; i < targets.size(); ++i) targets[i]->set_value(roots[i], values[i]);
    if (roots.size() > requested) {
        auto saved = std::make_shared<std::vector<NodeRef>>();
        {
            std::unique_lock lock(r.computed_mutex);
            for (size_t i = requested; i < roots.size(); ++i) {
                NodeRef v = r.computed_value_locked(roots[i].get());
                if (!v || buffer_of(*v)->device() != device) {
                    v = input_node(outputs[i], roots[i]->shape());
                    r.remember_locked(roots[i], v);
                }
                saved->push_back(std::move(v));
            }
        }
        for (TensorImpl* impl : savers) impl->set_saved(saved);
    }
}

}  // namespace

void realize_impls(const std::vector<TensorImpl*>& impls, const char* op,
                   const std::source_location& loc) {
    // A default location (line 0: printing, which has no call site) is left out.
    auto out_of_memory = [&](const std::string& what) {
        std::string where = loc.line() > 0 ? " at " + format_location(loc) : "";
        throw OutOfMemoryError(std::string(op) + ": " + what + where);
    };
    try {
        std::vector<std::shared_ptr<TensorImpl>> extra = co_pending(impls);
        reset_recorded_ops();
        std::vector<TensorImpl*> with_extra;  // copied only when there are co-pending tensors
        if (!extra.empty()) {
            with_extra = impls;
            for (const auto& e : extra) with_extra.push_back(e.get());
        }
        const std::vector<TensorImpl*>& all = extra.empty() ? impls : with_extra;
        // One program per device: tensors on different devices are computed separately.
        Device first = all.empty() ? Device() : all.front()->device;
        bool one_device = std::all_of(all.begin(), all.end(),
                                      [&](const TensorImpl* t) { return t->device == first; });
        if (one_device) {
            realize_unchecked(all, first);
        } else {
            std::vector<Device> devices;
            for (const TensorImpl* t : all)
                if (std::find(devices.begin(), devices.end(), t->device) == devices.end())
                    devices.push_back(t->device);
            for (Device d : devices) {
                std::vector<TensorImpl*> group;
                for (TensorImpl* t : all)
                    if (t->device == d) group.push_back(t);
                realize_unchecked(group, d);
            }
        }
    } catch (const runtime::IndexOutOfRange& e) {
        throw IndexError(index_error_message(e.site, e.value, e.bound));
    } catch (const OutOfMemoryError& e) {
        out_of_memory(e.what());
    } catch (const std::bad_alloc&) {
        runtime::AllocatorStats held = runtime::CpuAllocator::global().stats();
        out_of_memory("out of memory while computing the tensor (a host allocation failed); "
                      "the CPU allocator holds " +
                      runtime::format_bytes(held.bytes_in_use) + " in use and " +
                      runtime::format_bytes(held.bytes_cached) + " cached");
    }
}

std::shared_ptr<runtime::Buffer> host_buffer(TensorImpl& impl, const char* op,
                                             const std::source_location& loc) {
    std::shared_ptr<runtime::Buffer> buffer = buffer_of(*realized_node(impl, op, loc));
    if (buffer->device().is_cpu()) return buffer;
    try {
        return runtime::copy_to_device(*buffer, Device());  // waits for the device
    } catch (const runtime::IndexOutOfRange& e) {
        throw IndexError(index_error_message(e.site, e.value, e.bound));
    }
}

ir::NodeRef realized_node(TensorImpl& impl, const char* op, const std::source_location& loc) {
    realize_impls({&impl}, op, loc);
    NodeRef value = impl.value();
    // Another thread may have given the tensor a new pending value in between.
    while (!value) {
        realize_impls({&impl}, op, loc);
        value = impl.value();
    }
    return value;
}

}  // namespace kiln::detail
