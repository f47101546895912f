#include "ir/node.h"

#include <bit>
#include <cmath>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>

#include "kiln/error.h"

namespace kiln::ir {
namespace {

inline void hash_mix(size_t& seed, size_t v) {
    seed ^= v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

void hash_ints(size_t& seed, const std::vector<int64_t>& v) {
    hash_mix(seed, v.size());
    for (int64_t x : v) hash_mix(seed, std::hash<int64_t>{}(x));
}

}  // namespace

size_t hash_attr(const Attr& attr) {
    size_t h = attr.index();
    std::visit(
        [&](const auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, InputAttr>) {
                hash_mix(h, std::hash<int64_t>{}(a.id));
                hash_mix(h, std::hash<const void*>{}(a.data.get()));
            } else if constexpr (std::is_same_v<T, ConstAttr>) {
                hash_mix(h, std::bit_cast<uint64_t>(a.f));
                hash_mix(h, std::hash<int64_t>{}(a.i));
            } else if constexpr (std::is_same_v<T, AxisAttr>) {
                hash_mix(h, a.axis);
            } else if constexpr (std::is_same_v<T, AxesAttr>) {
                hash_ints(h, a.axes);
            } else if constexpr (std::is_same_v<T, PermuteAttr>) {
                hash_ints(h, a.perm);
            } else if constexpr (std::is_same_v<T, SliceAttr>) {
                hash_ints(h, a.start);
                hash_ints(h, a.step);
            } else if constexpr (std::is_same_v<T, PadAttr>) {
                hash_ints(h, a.before);
                hash_ints(h, a.after);
            } else if constexpr (std::is_same_v<T, VarAttr>) {
                hash_mix(h, a.index);
                hash_mix(h, a.extent);
            } else if constexpr (std::is_same_v<T, LoadAttr>) {
                hash_mix(h, a.buffer);
            } else if constexpr (std::is_same_v<T, StageAttr>) {
                hash_mix(h, a.stage);
            } else if constexpr (std::is_same_v<T, LeafAttr>) {
                hash_mix(h, a.id);
            } else if constexpr (std::is_same_v<T, WindowAttr>) {
                hash_mix(h, a.axis);
                hash_mix(h, a.size);
                hash_mix(h, a.stride);
                hash_mix(h, a.dilation);
            } else if constexpr (std::is_same_v<T, RandomAttr>) {
                hash_mix(h, a.word);
            } else if constexpr (std::is_same_v<T, IndexAttr>) {
                hash_mix(h, a.axis);
                hash_mix(h, a.site);
            } else if constexpr (std::is_same_v<T, ConvAttr>) {
                for (const auto* list : {&a.stride, &a.padding, &a.dilation})
                    for (int64_t v : *list) hash_mix(h, v);
                hash_mix(h, a.groups);
            }
        },
        attr);
    return h;
}

bool ConstAttr::operator==(const ConstAttr& o) const {
    return std::bit_cast<uint64_t>(f) == std::bit_cast<uint64_t>(o.f) && i == o.i;
}

Node::Node(Op op, DType dtype, Shape shape, std::vector<NodeRef> inputs, Attr attr)
    : op_(op), dtype_(dtype), shape_(std::move(shape)), inputs_(std::move(inputs)),
      attr_(std::move(attr)) {
    size_t h = static_cast<size_t>(op_) * 1315423911u + static_cast<size_t>(dtype_);
    hash_ints(h, shape_);
    for (const NodeRef& in : inputs_) hash_mix(h, std::hash<const Node*>{}(in.get()));
    hash_mix(h, hash_attr(attr_));
    hash_ = h;
    if (op_ == Op::Leaf) {
        tracks_grad_ = true;
    } else if (op_ != Op::Detach && is_floating(dtype_)) {
        for (const NodeRef& in : inputs_) tracks_grad_ |= in->tracks_grad();
    }
}

void Node::attr_mismatch() const {
    KILN_CHECK(false, "node '" + std::string(op_name(op_)) + "' has another attribute kind");
    __builtin_unreachable();
}

/// The table of live nodes. Entries hold weak references: a node dies when its last user drops
/// it, and its deleter removes the entry (unless a newer equal node has replaced it already).
/// The table is split into shards by hash, each behind its own mutex, so threads recording or
/// dropping different nodes rarely wait for each other.
struct NodeInterner {
    struct Entry {
        const Node* node;
        std::weak_ptr<const Node> weak;
    };
    struct Hash {
        size_t operator()(const Entry& e) const { return e.node->hash(); }
    };
    struct Equal {
        bool operator()(const Entry& a, const Entry& b) const {
            const Node& x = *a.node;
            const Node& y = *b.node;
            if (&x == &y) return true;
            if (x.hash_ != y.hash_ || x.op_ != y.op_ || x.dtype_ != y.dtype_ ||
                x.shape_ != y.shape_ || x.inputs_.size() != y.inputs_.size())
                return false;
            for (size_t i = 0; i < x.inputs_.size(); ++i)
                if (x.inputs_[i].get() != y.inputs_[i].get()) return false;
            return x.attr_ == y.attr_;
        }
    };
    struct alignas(64) Shard {
        std::mutex mutex;
        std::unordered_set<Entry, Hash, Equal> table;
    };
    static constexpr size_t kShards = 16;
    Shard shards[kShards];

    Shard& shard_of(const Node* n) {
        // The high bits: the table inside the shard uses the low ones.
        return shards[(n->hash() >> 48) % kShards];
    }

    static NodeInterner& get() {
        // Leaked on purpose: nodes may die during static destruction of user objects.
        static NodeInterner* interner = [] {
            auto* in = new NodeInterner();
            // Skip the rehashes of the first thousands of nodes.
            for (Shard& s : in->shards) s.table.reserve((1 << 14) / kShards);
            return in;
        }();
        return *interner;
    }

    NodeRef intern(std::unique_ptr<Node> fresh) {
        Shard& s = shard_of(fresh.get());
        std::lock_guard lock(s.mutex);
        auto it = s.table.find(Entry{fresh.get(), {}});
        if (it != s.table.end()) {
            if (NodeRef alive = it->weak.lock()) return alive;
            s.table.erase(it);  // dying node: its deleter will find the new entry and leave it
        }
        NodeRef ref(fresh.release(), [](const Node* n) { NodeInterner::get().release(n); });
        s.table.insert(Entry{ref.get(), ref});
        return ref;
    }

    void release(const Node* n) {
        {
            Shard& s = shard_of(n);
            std::lock_guard lock(s.mutex);
            auto it = s.table.find(Entry{n, {}});
            if (it != s.table.end() && it->node == n) s.table.erase(it);
        }
        // Outside the lock: deleting a node releases its inputs, which re-enters release().
        // Long chains would recurse once per node, so deletions are queued and drained in a loop.
        thread_local std::vector<const Node*> pending;
        thread_local bool draining = false;
        pending.push_back(n);
        if (draining) return;
        draining = true;
        while (!pending.empty()) {
            const Node* next = pending.back();
            pending.pop_back();
            delete next;
        }
        draining = false;
    }

    size_t size() {
        size_t n = 0;
        for (Shard& s : shards) {
            std::lock_guard lock(s.mutex);
            n += s.table.size();
        }
        return n;
    }
};

NodeRef Node::make(Op op, DType dtype, Shape shape, std::vector<NodeRef> inputs, Attr attr) {
    int arity = op_arity(op);
    KILN_CHECK(arity < 0 || static_cast<size_t>(arity) == inputs.size(),
               std::string(op_name(op)) + " takes " + std::to_string(arity) + " inputs, got " +
                   std::to_string(inputs.size()));
    for (const NodeRef& in : inputs) KILN_CHECK(in != nullptr, "null input");
    std::unique_ptr<Node> fresh(
        new Node(op, dtype, std::move(shape), std::move(inputs), std::move(attr)));
    return NodeInterner::get().intern(std::move(fresh));
}

size_t live_node_count() { return NodeInterner::get().size(); }

NodeRef make_const(double value, DType dtype, const Shape& shape) {
    ConstAttr a;
    if (is_floating(dtype)) {
        a.f = dtype == DType::Float32 ? static_cast<double>(static_cast<float>(value)) : value;
    } else if (dtype == DType::Bool) {
        a.i = value != 0 ? 1 : 0;
    } else if (std::isnan(value)) {
        a.i = 0;
    } else {
        a.i = static_cast<int64_t>(value);
        if (dtype == DType::Int32) a.i = static_cast<int32_t>(a.i);
    }
    return Node::make(Op::Const, dtype, shape, {}, a);
}

NodeRef make_int_const(int64_t value, DType dtype, const Shape& shape) {
    if (is_floating(dtype)) return make_const(static_cast<double>(value), dtype, shape);
    ConstAttr a;
    a.i = dtype == DType::Bool ? (value != 0) : dtype == DType::Int32 ? static_cast<int32_t>(value)
                                                                      : value;
    return Node::make(Op::Const, dtype, shape, {}, a);
}

double const_value(const Node& n) {
    const ConstAttr& a = n.attr_as<ConstAttr>();
    return is_floating(n.dtype()) ? a.f : static_cast<double>(a.i);
}

int64_t const_int(const Node& n) {
    const ConstAttr& a = n.attr_as<ConstAttr>();
    return is_floating(n.dtype()) ? static_cast<int64_t>(a.f) : a.i;
}

bool is_const(const NodeRef& n, double value) {
    return n->op() == Op::Const && const_value(*n) == value;
}

std::vector<const Node*> topo_order(const std::vector<NodeRef>& roots) {
    std::vector<const Node*> order;
    std::unordered_set<const Node*> seen;
    // Iterative DFS: graphs can be deep (long chains of elementwise ops).
    std::vector<std::pair<const Node*, size_t>> stack;
    for (const NodeRef& r : roots) {
        if (!r || !seen.insert(r.get()).second) continue;
        stack.push_back({r.get(), 0});
        while (!stack.empty()) {
            auto& [n, next] = stack.back();
            if (next < n->inputs().size()) {
                const Node* in = n->inputs()[next++].get();
                if (seen.insert(in).second) stack.push_back({in, 0});
            } else {
                order.push_back(n);
                stack.pop_back();
            }
        }
    }
    return order;
}

}  // namespace kiln::ir
