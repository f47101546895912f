#include "passes/merge_kernels.h"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "kiln/error.h"
#include "passes/fusion.h"

namespace kiln::passes {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;

// A merged kernel stays small enough to compile quickly and to keep its pointers in registers.
constexpr size_t kMaxStages = 16;
constexpr size_t kMaxBuffers = 32;

/// A kernel that stores one value per outer point and has no loops of its own: every element
/// is independent, so another such kernel over the same points can run in the same loop.
const ir::KernelStep* elementwise(const ir::Step& step) {
    const auto* k = std::get_if<ir::KernelStep>(&step);
    if (!k || k->kernel.stages.size() != 1) return nullptr;
    const ir::Stage& st = k->kernel.stages[0];
    return st.kind == ir::StageKind::Store && st.loops.empty() ? k : nullptr;
}

/// Every load in `e` (each distinct node once).
std::vector<const Node*> loads_in(const NodeRef& e) {
    std::vector<const Node*> loads, stack{e.get()};
    std::unordered_set<const Node*> seen{e.get()};
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (n->op() == Op::Load) loads.push_back(n);
        for (const NodeRef& in : n->inputs())
            if (seen.insert(in.get()).second) stack.push_back(in.get());
    }
    return loads;
}

/// `e` with each load's buffer number renumbered by `renumber`.
NodeRef renumber_loads(const NodeRef& e, const std::function<int64_t(int64_t)>& renumber,
                       std::unordered_map<const Node*, NodeRef>& memo) {
    auto it = memo.find(e.get());
    if (it != memo.end()) return it->second;
    std::vector<NodeRef> ins;
    for (const NodeRef& in : e->inputs()) ins.push_back(renumber_loads(in, renumber, memo));
    ir::Attr attr = e->attr();
    if (e->op() == Op::Load) attr = ir::LoadAttr{renumber(e->attr_as<ir::LoadAttr>().buffer)};
    NodeRef out = Node::make(e->op(), e->dtype(), e->shape(), std::move(ins), std::move(attr));
    memo.emplace(e.get(), out);
    return out;
}

/// Distinct nodes in the stages' values and indices, counted up to `limit + 1`.
int64_t count_nodes(const std::vector<ir::Stage>& stages, int64_t limit) {
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> stack;
    for (const ir::Stage& st : stages)
        for (const NodeRef& root : {st.value, st.index})
            if (seen.insert(root.get()).second) stack.push_back(root.get());
    while (!stack.empty() && static_cast<int64_t>(seen.size()) <= limit) {
        const Node* n = stack.back();
        stack.pop_back();
        for (const NodeRef& in : n->inputs())
            if (seen.insert(in.get()).second) stack.push_back(in.get());
    }
    return static_cast<int64_t>(seen.size());
}

/// The op words of kernel names ("e_add_mul_sqrt" -> add, mul, sqrt).
void name_ops(const std::string& name, std::set<std::string>& ops) {
    size_t at = name.find('_');
    while (at != std::string::npos) {
        size_t next = name.find('_', at + 1);
        // Elementwise kernels' op names have no underscore (reduce_sum is never among them).
        std::string word = name.substr(at + 1, next == std::string::npos ? next : next - at - 1);
        if (!word.empty()) ops.insert(word);
        at = next;
    }
}

/// A group of elementwise kernels being merged into one.
struct Group {
    ir::KernelStep kernel;               ///< the merged kernel so far
    std::vector<size_t> members;         ///< step numbers, in run order
    std::vector<std::string> names;      ///< the members' kernel names
    std::unordered_set<int64_t> touched;  ///< program buffers the members read or write
    bool reads_output = false;           ///< a member reads another member's output
};

class Merger {
public:
    explicit Merger(ir::Program& program) : program_(program) {
        size_t n = program.steps.size();
        io_.reserve(n);
        for (size_t s = 0; s < n; ++s) {
            io_.push_back(ir::step_buffers(program.steps[s]));
            for (int64_t b : io_.back().writes) producer_[b] = s;
        }
        group_of_.assign(n, -1);
    }

    std::vector<KernelMerge> run() {
        for (size_t s = 0; s < program_.steps.size(); ++s) {
            const ir::KernelStep* k = elementwise(program_.steps[s]);
            if (!k) continue;
            if (!join_some_group(s, *k)) start_group(s, *k);
        }
        std::vector<KernelMerge> merges;
        for (Group& g : groups_) {
            if (g.members.size() < 2) continue;
            std::set<std::string> ops;
            for (const std::string& name : g.names) name_ops(name, ops);
            std::string name = fmt::format("m{}", g.members.size());
            int count = 0;
            for (const std::string& op : ops)
                if (count++ < 4) name += "_" + op;
            g.kernel.kernel.name = name;
            merges.push_back({name, g.names,
                              fmt::format("{} elementwise kernels over [{}] {}", g.members.size(),
                                          fmt::join(g.kernel.kernel.outer, ","),
                                          g.reads_output ? "reading each other's outputs at the "
                                                           "same element"
                                                         : "reading the same buffers"),
                              ir::step_buffers(g.kernel).writes});
        }
        reorder();
        return merges;
    }

private:
    /// The group or single step that step s runs in.
    int64_t unit_of(size_t s) const {
        return group_of_[s] >= 0 ? group_of_[s] : -1 - static_cast<int64_t>(s);
    }
    std::vector<size_t> members_of(int64_t unit) const {
        if (unit >= 0) return groups_[static_cast<size_t>(unit)].members;
        return {static_cast<size_t>(-1 - unit)};
    }

    bool join_some_group(size_t s, const ir::KernelStep& k) {
        for (size_t g = 0; g < groups_.size(); ++g) {
            if (can_join(static_cast<int64_t>(g), s, k)) {
                join(groups_[g], s, k);
                group_of_[s] = static_cast<int64_t>(g);
                return true;
            }
        }
        return false;
    }

    void start_group(size_t s, const ir::KernelStep& k) {
        Group g;
        g.kernel = k;
        g.members = {s};
        g.names = {k.kernel.name};
        g.touched.insert(k.buffers.begin(), k.buffers.end());
        group_of_[s] = static_cast<int64_t>(groups_.size());
        groups_.push_back(std::move(g));
    }

    bool can_join(int64_t gi, size_t s, const ir::KernelStep& k) const {
        const Group& g = groups_[static_cast<size_t>(gi)];
        const ir::LoopKernel& gk = g.kernel.kernel;
        const ir::Stage& st = k.kernel.stages[0];
        if (gk.outer != k.kernel.outer || gk.stages[0].index != st.index) return false;
        if (gk.stages.size() + 1 > kMaxStages) return false;
        int64_t points = ir::numel(gk.outer);
        bool shares = false;
        size_t fresh = 0;
        for (size_t i = 0; i < k.buffers.size(); ++i) {
            int64_t b = k.buffers[i];
            if (!g.touched.count(b)) {
                ++fresh;
                continue;
            }
            // A broadcast scalar (a learning rate) read by many kernels is no reason to merge.
            if (k.kernel.buffers[i].numel == points) shares = true;
        }
        if (!shares || gk.buffers.size() + fresh > kMaxBuffers) return false;
        // Fusion cut long expressions into kernels of bounded size: merging must not undo it.
        std::vector<ir::Stage> both = gk.stages;
        both.push_back(st);
        if (count_nodes(both, kMaxKernelOps) > kMaxKernelOps) return false;
        // What the group writes may be read only at the element this point stores.
        for (const Node* load : loads_in(st.value)) {
            int64_t b = k.buffers.at(static_cast<size_t>(load->attr_as<ir::LoadAttr>().buffer));
            auto p = producer_.find(b);
            if (p != producer_.end() && group_of_[p->second] == gi && load->input(0) != st.index)
                return false;
        }
        return !reaches_through_others(gi, s);
    }

    /// Whether step s depends on group gi through a step outside it: merging would then need
    /// that step both before and after the merged kernel.
    bool reaches_through_others(int64_t gi, size_t s) const {
        std::vector<int64_t> stack;
        std::unordered_set<int64_t> seen;
        auto visit_producers = [&](size_t step) {
            for (int64_t b : io_[step].reads) {
                auto p = producer_.find(b);
                if (p == producer_.end()) continue;
                int64_t u = unit_of(p->second);
                if (u != gi && seen.insert(u).second) stack.push_back(u);
            }
        };
        visit_producers(s);
        while (!stack.empty()) {
            int64_t u = stack.back();
            stack.pop_back();
            for (size_t m : members_of(u)) {
                for (int64_t b : io_[m].reads) {
                    auto p = producer_.find(b);
                    if (p == producer_.end()) continue;
                    int64_t v = unit_of(p->second);
                    if (v == gi) return true;
                    if (v != u && seen.insert(v).second) stack.push_back(v);
                }
            }
        }
        return false;
    }

    void join(Group& g, size_t s, const ir::KernelStep& k) {
        ir::LoopKernel& gk = g.kernel.kernel;
        std::vector<int64_t> slot(k.buffers.size());
        for (size_t i = 0; i < k.buffers.size(); ++i) {
            int64_t b = k.buffers[i];
            auto at = std::find(g.kernel.buffers.begin(), g.kernel.buffers.end(), b);
            if (at == g.kernel.buffers.end()) {
                g.kernel.buffers.push_back(b);
                gk.buffers.push_back(k.kernel.buffers[i]);
                at = g.kernel.buffers.end() - 1;
            } else {
                auto p = producer_.find(b);
                if (p != producer_.end() && group_of_[p->second] == group_of_[g.members[0]])
                    g.reads_output = true;
            }
            slot[i] = at - g.kernel.buffers.begin();
            gk.buffers[static_cast<size_t>(slot[i])].output |= k.kernel.buffers[i].output;
        }
        std::unordered_map<const Node*, NodeRef> memo;
        ir::Stage st = k.kernel.stages[0];
        st.value = renumber_loads(st.value, [&](int64_t b) { return slot.at(b); }, memo);
        st.buffer = slot.at(static_cast<size_t>(st.buffer));
        gk.stages.push_back(std::move(st));
        gk.tile = std::max(gk.tile, k.kernel.tile);
        g.members.push_back(s);
        g.names.push_back(k.kernel.name);
        g.touched.insert(k.buffers.begin(), k.buffers.end());
    }

    /// Steps in dependency order, each unit where its last member was (Kahn's algorithm,
    /// earliest such position first): steps that read a merged kernel's outputs before its last
    /// member move after it.
    void reorder() {
        std::map<int64_t, size_t> position;  // unit -> its last member's step number
        for (size_t s = 0; s < program_.steps.size(); ++s) position[unit_of(s)] = s;
        std::map<int64_t, std::set<int64_t>> users;
        std::map<int64_t, size_t> waiting;
        for (const auto& [u, pos] : position) {
            std::set<int64_t> deps;
            for (size_t m : members_of(u))
                for (int64_t b : io_[m].reads) {
                    auto p = producer_.find(b);
                    if (p != producer_.end() && unit_of(p->second) != u)
                        deps.insert(unit_of(p->second));
                }
            waiting[u] = deps.size();
            for (int64_t d : deps) users[d].insert(u);
        }
        using Ready = std::pair<size_t, int64_t>;  // (position, unit)
        std::priority_queue<Ready, std::vector<Ready>, std::greater<>> ready;
        for (const auto& [u, count] : waiting)
            if (count == 0) ready.push({position[u], u});
        std::vector<ir::Step> steps;
        while (!ready.empty()) {
            int64_t u = ready.top().second;
            ready.pop();
            if (u >= 0 && groups_[static_cast<size_t>(u)].members.size() > 1)
                steps.emplace_back(std::move(groups_[static_cast<size_t>(u)].kernel));
            else
                steps.push_back(std::move(program_.steps[members_of(u)[0]]));
            for (int64_t v : users[u])
                if (--waiting[v] == 0) ready.push({position[v], v});
        }
        KILN_CHECK(steps.size() == position.size(), "merge_kernels: the steps' dependencies "
                                                    "form a cycle");
        program_.steps = std::move(steps);
    }

    ir::Program& program_;
    std::vector<ir::StepBuffers> io_;
    std::unordered_map<int64_t, size_t> producer_;  // program buffer -> the step writing it
    std::vector<int64_t> group_of_;                 // step -> group, -1 for none
    std::vector<Group> groups_;
};

}  // namespace

std::vector<KernelMerge> merge_kernels(ir::Program& program) { return Merger(program).run(); }

std::string print_merges(const std::vector<KernelMerge>& merges) {
    std::string s;
    for (const KernelMerge& m : merges)
        s += fmt::format("{}: {} -- {}\n", m.kernel, fmt::join(m.merged, " + "), m.reason);
    return s;
}

}  // namespace kiln::passes
