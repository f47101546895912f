// Candidates live in a per-thread list of weak references: recording never takes a lock, and
// tensors of other threads are never computed by this one. Dead and realized entries are
// purged when the list doubles.
#include "frontend/pending.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace kiln::detail {
namespace {

using ir::Node;

struct Registry {
    std::vector<std::weak_ptr<TensorImpl>> entries;
    size_t purge_at = 256;
    int64_t recorded = 0;
};
thread_local Registry registry;

bool pending(const TensorImpl& impl) { return impl.value() == nullptr; }

void purge() {
    std::unordered_set<TensorImpl*> seen;
    std::erase_if(registry.entries, [&](const std::weak_ptr<TensorImpl>& w) {
        std::shared_ptr<TensorImpl> impl = w.lock();
        return !impl || !pending(*impl) || !seen.insert(impl.get()).second;
    });
    registry.purge_at = std::max<size_t>(256, 2 * registry.entries.size());
}

/// The nodes `requested` will compute: their graphs down to realized inputs.
std::unordered_set<const Node*> graph_of(const std::vector<TensorImpl*>& requested) {
    std::unordered_set<const Node*> nodes;
    std::vector<ir::NodeRef> stack;
    for (TensorImpl* impl : requested)
        if (pending(*impl)) stack.push_back(impl->node());
    while (!stack.empty()) {
        ir::NodeRef n = std::move(stack.back());
        stack.pop_back();
        if (n->op() == ir::Op::Input || !nodes.insert(n.get()).second) continue;
        for (const ir::NodeRef& in : n->inputs()) stack.push_back(in);
    }
    return nodes;
}

}  // namespace

void note_pending(const std::shared_ptr<TensorImpl>& impl) {
    registry.entries.push_back(impl);
    if (registry.entries.size() >= registry.purge_at) purge();
}

std::vector<std::shared_ptr<TensorImpl>> co_pending(const std::vector<TensorImpl*>& requested) {
    if (registry.entries.empty()) return {};
    purge();
    if (registry.entries.empty()) return {};
    std::unordered_set<const Node*> target = graph_of(requested);
    if (target.empty()) return {};
    std::unordered_set<const TensorImpl*> asked(requested.begin(), requested.end());
    // shares[n]: n's graph contains a node of the target graph. Memoized over all candidates.
    std::unordered_map<const Node*, bool> shares;
    auto reaches = [&](const ir::NodeRef& root) {
        std::vector<std::pair<const Node*, size_t>> stack{{root.get(), 0}};
        while (!stack.empty()) {
            auto& [n, next] = stack.back();
            if (next == 0) {
                if (shares.count(n)) {
                    stack.pop_back();
                    continue;
                }
                if (target.count(n) || n->op() == ir::Op::Input) {
                    shares[n] = target.count(n) > 0;
                    stack.pop_back();
                    continue;
                }
            }
            if (next < n->inputs().size()) {
                const Node* in = n->inputs()[next++].get();
                if (!shares.count(in)) stack.push_back({in, 0});
                continue;
            }
            bool any = false;
            for (const ir::NodeRef& in : n->inputs()) any |= shares.at(in.get());
            shares[n] = any;
            stack.pop_back();
        }
        return shares.at(root.get());
    };
    std::vector<std::shared_ptr<TensorImpl>> extra;
    for (const std::weak_ptr<TensorImpl>& w : registry.entries) {
        std::shared_ptr<TensorImpl> impl = w.lock();
        if (!impl || asked.count(impl.get())) continue;
        if (reaches(impl->node())) extra.push_back(std::move(impl));
    }
    return extra;
}

bool count_recorded_op() {
    if (++registry.recorded < kMaxPendingOps) return false;
    registry.recorded = 0;
    return true;
}

void reset_recorded_ops() { registry.recorded = 0; }

}  // namespace kiln::detail
