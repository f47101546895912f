#include "frontend/const_lifting.h"

#include "ir/build.h"
#include "ir/rewrite.h"

namespace kiln::detail {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

inline void mix(size_t& h, size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

/// A hash of the graph's structure in which constants count only by dtype and shape.
size_t structure_hash(const std::vector<NodeRef>& roots) {
    std::unordered_map<const Node*, size_t> memo;
    std::vector<std::pair<const Node*, size_t>> stack;
    size_t h = roots.size();
    for (const NodeRef& root : roots) {
        stack.push_back({root.get(), 0});
        while (!stack.empty()) {
            auto& [n, next] = stack.back();
            if (next == 0 && memo.count(n)) {
                stack.pop_back();
                continue;
            }
            if (next < n->inputs().size()) {
                stack.push_back({n->inputs()[next++].get(), 0});
                continue;
            }
            size_t v = n->op() == Op::Const ? 0x5bd1e995u : ir::hash_attr(n->attr());
            mix(v, static_cast<size_t>(n->op()));
            mix(v, static_cast<size_t>(n->dtype()));
            for (int64_t d : n->shape()) mix(v, static_cast<size_t>(d));
            for (const NodeRef& in : n->inputs()) mix(v, memo.at(in.get()));
            memo[n] = v;
            stack.pop_back();
        }
        mix(h, memo.at(root.get()));
    }
    return h;
}

/// Walks `g` and `ref` side by side. On success (the same structure, a one-to-one
/// correspondence of nodes, constants equal up to value) `index` maps each constant of `g` to
/// the number of its counterpart among ref's constants and `differs` says which differ.
struct Match {
    std::unordered_map<const Node*, size_t> index;
    std::vector<bool> differs;
};
bool match(const std::vector<NodeRef>& g, const std::vector<NodeRef>& ref, Match& m) {
    if (g.size() != ref.size()) return false;
    std::unordered_map<const Node*, const Node*> to_ref, to_g;
    struct Frame {
        const Node* a;
        const Node* b;
        size_t next;
    };
    std::vector<Frame> stack;
    for (size_t r = 0; r < g.size(); ++r) {
        stack.push_back({g[r].get(), ref[r].get(), 0});
        while (!stack.empty()) {
            Frame& f = stack.back();
            if (f.next == 0) {
                auto seen = to_ref.find(f.a);
                if (seen != to_ref.end()) {
                    if (seen->second != f.b) return false;
                    stack.pop_back();
                    continue;
                }
                auto back = to_g.find(f.b);
                if (back != to_g.end() && back->second != f.a) return false;
                const Node& a = *f.a;
                const Node& b = *f.b;
                if (a.op() != b.op() || a.dtype() != b.dtype() || a.shape() != b.shape() ||
                    a.inputs().size() != b.inputs().size())
                    return false;
                if (a.op() != Op::Const && !(a.attr() == b.attr())) return false;
            }
            if (f.next < f.a->inputs().size()) {
                size_t i = f.next++;
                stack.push_back({f.a->input(i).get(), f.b->input(i).get(), 0});
                continue;
            }
            to_ref[f.a] = f.b;
            to_g[f.b] = f.a;
            if (f.a->op() == Op::Const) {
                m.index[f.a] = m.differs.size();
                m.differs.push_back(!(f.a->attr() == f.b->attr()));
            }
            stack.pop_back();
        }
    }
    return true;
}

}  // namespace

std::shared_ptr<runtime::Buffer> constant_buffer(const Node& c) {
    auto buf = runtime::Buffer::allocate(c.dtype(), 1);
    void* p = buf->data();
    switch (c.dtype()) {
    case DType::Float32: *static_cast<float*>(p) = static_cast<float>(ir::const_value(c)); break;
    case DType::Float64: *static_cast<double*>(p) = ir::const_value(c); break;
    case DType::Int32: *static_cast<int32_t*>(p) = static_cast<int32_t>(ir::const_int(c)); break;
    case DType::Int64: *static_cast<int64_t*>(p) = ir::const_int(c); break;
    case DType::Bool: *static_cast<uint8_t*>(p) = ir::const_int(c) != 0; break;
    }
    return buf;
}

std::vector<NodeRef> ConstLifter::lift(const std::vector<NodeRef>& graph,
                                       std::vector<std::shared_ptr<runtime::Buffer>>& inputs) {
    size_t key = structure_hash(graph);
    std::vector<bool> lifted;
    Match m;
    {
        std::lock_guard lock(mutex_);
        auto it = templates_.find(key);
        if (it == templates_.end() || !match(graph, it->second.reference, m)) {
            if (templates_.size() >= kMaxTemplates) templates_.clear();
            templates_[key] = Template{graph, {}};
            return {};
        }
        Template& t = it->second;
        t.lifted.resize(m.differs.size());
        bool any = false;
        for (size_t i = 0; i < m.differs.size(); ++i) any |= t.lifted[i] = t.lifted[i] || m.differs[i];
        if (!any) return {};  // the same values as the reference: nothing varies (yet)
        lifted = t.lifted;
    }
    // Placeholders numbered in the order of the constants they replace.
    std::vector<int64_t> slot(lifted.size(), -1);
    std::vector<const Node*> value_of(lifted.size(), nullptr);
    int64_t next = static_cast<int64_t>(inputs.size());
    for (size_t i = 0; i < lifted.size(); ++i)
        if (lifted[i]) slot[i] = next++;
    for (const auto& [node, i] : m.index) value_of[i] = node;
    for (size_t i = 0; i < lifted.size(); ++i)
        if (lifted[i]) inputs.push_back(constant_buffer(*value_of[i]));
    return ir::rewrite_graph(graph, [&](const Node& n, const std::vector<NodeRef>&) -> NodeRef {
        if (n.op() != Op::Const) return nullptr;
        size_t i = m.index.at(&n);
        if (!lifted[i]) return nullptr;
        NodeRef p = Node::make(Op::Input, n.dtype(), {}, {}, ir::InputAttr{slot[i], nullptr});
        return ir::build::broadcast_to(p, n.shape());
    });
}

}  // namespace kiln::detail
