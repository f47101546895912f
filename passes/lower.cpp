#include "passes/lower.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "kiln/error.h"
#include "passes/index_expr.h"

namespace kiln::passes {
namespace {

using ir::Node;
using ir::NodeRef;
using ir::Op;
using ir::OpCategory;
using ir::Shape;
using Index = std::vector<NodeRef>;

/// The row-major element offset of position `idx` in a contiguous tensor of `shape`.
NodeRef row_major(const Index& idx, const Shape& shape) {
    std::vector<int64_t> strides = ir::contiguous_strides(shape);
    NodeRef offset = index::constant(0);
    for (size_t d = 0; d < idx.size(); ++d)
        offset = index::add(offset, index::mul(idx[d], strides[d]));
    return offset;
}

/// Thrown while building a kernel when a fused reduction must get its own buffer instead.
struct NeedsBuffer {
    const Node* node;
    std::string reason;
};

/// Builds one loop kernel for a materialized root.
class KernelBuilder {
public:
    KernelBuilder(const FusionPlan& plan, const Node* root, int64_t num_outer)
        : plan_(plan), root_(root), num_outer_(num_outer) {}

    /// Scalar expression for `n` at element `idx`; loads only where `valid` holds.
    NodeRef expr(const Node* n, const Index& idx, const NodeRef& valid) {
        std::vector<const void*> key = key_of(n, idx, valid);
        auto it = memo_.find(key);
        if (it != memo_.end()) return it->second;
        if (n == root_ || !plan_.is_buffer(n)) note_expansion(n);
        NodeRef e = build(n, idx, valid);
        memo_.emplace(std::move(key), e);
        return e;
    }

    /// Vars (dims of the root) that fused reductions depend on: these must be outer loops.
    const std::set<int64_t>& reduce_deps() const { return deps_; }
    std::vector<ir::Stage>& stages() { return stages_; }
    /// The reduction node each stage computes, in stage order.
    const std::vector<const Node*>& stage_nodes() const { return stage_nodes_; }
    std::vector<const Node*>& buffers() { return buffers_; }
    int64_t buffer_index(const Node* n) {
        for (size_t i = 0; i < buffers_.size(); ++i)
            if (buffers_[i] == n) return static_cast<int64_t>(i);
        buffers_.push_back(n);
        return static_cast<int64_t>(buffers_.size() - 1);
    }
    std::set<std::string_view>& ops() { return ops_; }

private:
    /// Fusion bounds a kernel's distinct ops, but a node read through different views (x and
    /// x.flip(0), shifted slices) is computed once per view, and chains of such reads multiply.
    /// Past the bound, the node computed under the most views gets a buffer of its own.
    void note_expansion(const Node* n) {
        if (ir::op_category(n->op()) == OpCategory::Source) return;
        auto [it, fresh] = expansions_.try_emplace(n, Expansions{0, expanded_});
        ++it->second.count;
        if (++expanded_ <= 4 * plan_.max_kernel_ops + 16) return;
        // Deterministic choice (kernels are cache keys): most views, then first expanded.
        const Node* worst = nullptr;
        Expansions best{1, 0};
        for (const auto& [m, e] : expansions_) {
            if (m == root_ || e.count < best.count) continue;
            if (e.count > best.count || e.first < best.first) worst = m, best = e;
        }
        KILN_CHECK(worst != nullptr, "lower: kernel over the size bound without repeated nodes");
        int64_t count = best.count;
        throw NeedsBuffer{worst, fmt::format("kernel size bound: computed under {} different "
                                             "views in one kernel",
                                             count)};
    }

    /// Memo key of (node, index, mask). It holds raw pointers, so the index and mask nodes are
    /// kept alive: no new node may take a freed address and hit a stale entry.
    std::vector<const void*> key_of(const Node* n, const Index& idx, const NodeRef& valid) {
        std::vector<const void*> key{n, valid.get()};
        for (const NodeRef& i : idx) key.push_back(i.get());
        keep_alive_.push_back(valid);
        keep_alive_.insert(keep_alive_.end(), idx.begin(), idx.end());
        return key;
    }

    NodeRef build(const Node* n, const Index& idx, const NodeRef& valid) {
        if (n != root_ && plan_.is_buffer(n)) return load(n, idx, valid);
        OpCategory cat = ir::op_category(n->op());
        switch (cat) {
        case OpCategory::Source: return source(n, idx);
        case OpCategory::Unary:
        case OpCategory::Binary:
        case OpCategory::Ternary: {
            ops_.insert(ir::op_name(n->op()));
            std::vector<NodeRef> ins;
            for (const NodeRef& in : n->inputs()) ins.push_back(expr(in.get(), idx, valid));
            return Node::make(n->op(), n->dtype(), {}, std::move(ins), n->attr());
        }
        case OpCategory::Movement: return movement(n, idx, valid);
        case OpCategory::Reduce: return reduce(n, idx, valid);
        default: break;
        }
        KILN_CHECK(false, "lower: unexpected op " + std::string(ir::op_name(n->op())));
        return nullptr;
    }

    NodeRef load(const Node* n, const Index& idx, const NodeRef& valid) {
        std::vector<NodeRef> ins{row_major(idx, n->shape())};
        if (!index::is_true(valid)) ins.push_back(valid);
        return Node::make(Op::Load, n->dtype(), {}, std::move(ins),
                          ir::LoadAttr{buffer_index(n)});
    }

    NodeRef source(const Node* n, const Index& idx) {
        if (n->op() == Op::Const) return Node::make(Op::Const, n->dtype(), {}, {}, n->attr());
        if (n->op() == Op::Random) {
            // The element's row-major number in the random node's own shape, plus the offset.
            NodeRef e = row_major(idx, n->shape());
            NodeRef t = index::true_value();
            NodeRef seed = expr(n->input(0).get(), {}, t);
            NodeRef counter = Node::make(Op::Add, DType::Int64, {}, {expr(n->input(1).get(), {}, t), e});
            ops_.insert("random");
            return Node::make(Op::Philox, n->dtype(), {}, {seed, counter}, n->attr());
        }
        KILN_CHECK(n->op() == Op::Iota, "lower: unexpected source");
        NodeRef i = idx[n->attr_as<ir::AxisAttr>().axis];
        return n->dtype() == DType::Int64 ? i : Node::make(Op::Cast, n->dtype(), {}, {i});
    }

    NodeRef movement(const Node* n, const Index& idx, const NodeRef& valid) {
        const Node* in = n->input(0).get();
        const Shape& is = in->shape();
        const Shape& os = n->shape();
        Index out(is.size());
        NodeRef v = valid;
        NodeRef pad_valid = index::true_value();
        switch (n->op()) {
        case Op::Reshape: {
            // Inserting or dropping size-1 dims maps indices one to one: no flat index needed.
            std::vector<size_t> os_dims, is_dims;
            for (size_t d = 0; d < os.size(); ++d)
                if (os[d] != 1) os_dims.push_back(d);
            for (size_t e = 0; e < is.size(); ++e)
                if (is[e] != 1) is_dims.push_back(e);
            bool squeeze = os_dims.size() == is_dims.size();
            for (size_t j = 0; squeeze && j < os_dims.size(); ++j)
                squeeze = os[os_dims[j]] == is[is_dims[j]];
            if (squeeze) {
                for (size_t e = 0; e < is.size(); ++e) out[e] = index::constant(0);
                for (size_t j = 0; j < os_dims.size(); ++j) out[is_dims[j]] = idx[os_dims[j]];
                break;
            }
            std::vector<int64_t> istr = ir::contiguous_strides(is);
            NodeRef linear = row_major(idx, os);
            // An empty input is never read (the loops that would read it run zero times).
            bool empty = ir::numel(is) == 0;
            for (size_t e = 0; e < is.size(); ++e)
                out[e] = is[e] == 1 || empty ? index::constant(0)
                                             : index::mod(index::div(linear, istr[e]), is[e]);
            break;
        }
        case Op::Permute: {
            const auto& perm = n->attr_as<ir::PermuteAttr>().perm;
            for (size_t i = 0; i < perm.size(); ++i) out[perm[i]] = idx[i];
            break;
        }
        case Op::Expand:
            for (size_t d = 0; d < is.size(); ++d)
                out[d] = is[d] == 1 ? index::constant(0) : idx[d];
            break;
        case Op::Slice: {
            const auto& a = n->attr_as<ir::SliceAttr>();
            for (size_t d = 0; d < is.size(); ++d)
                out[d] = index::add(index::constant(a.start[d]), index::mul(idx[d], a.step[d]));
            break;
        }
        case Op::Window: {
            const auto& a = n->attr_as<ir::WindowAttr>();
            auto ax = static_cast<size_t>(a.axis);
            for (size_t d = 0; d < is.size(); ++d) out[d] = idx[d < ax ? d : d + 1];
            out[ax] = index::add(index::mul(idx[ax + 1], a.stride), index::mul(idx[ax], a.dilation));
            break;
        }
        case Op::Flip: {
            out = idx;
            for (int64_t d : n->attr_as<ir::AxesAttr>().axes)
                out[d] = index::sub(index::constant(is[d] - 1), idx[d]);
            break;
        }
        case Op::Pad: {
            const auto& a = n->attr_as<ir::PadAttr>();
            for (size_t d = 0; d < is.size(); ++d) {
                out[d] = index::sub(idx[d], index::constant(a.before[d]));
                if (a.before[d] > 0)
                    pad_valid = index::logical_and(
                        pad_valid, index::less(index::constant(a.before[d] - 1), idx[d]));
                if (a.after[d] > 0)
                    pad_valid = index::logical_and(
                        pad_valid, index::less(idx[d], index::constant(a.before[d] + is[d])));
            }
            v = index::logical_and(valid, pad_valid);
            break;
        }
        default: KILN_CHECK(false, "lower: unknown movement op");
        }
        check_index_cost(n, in, out, v);
        NodeRef inner = expr(in, out, v);
        if (index::is_true(pad_valid)) return inner;
        ops_.insert("pad");
        return Node::make(Op::Where, n->dtype(), {}, {pad_valid, inner, zero(n->dtype())});
    }

    static NodeRef zero(DType t) { return ir::make_int_const(0, t); }

    /// A chain of views composes into one index expression; across reshapes of permuted or
    /// sliced layouts each step adds divisions and remainders, so a long chain costs more index
    /// arithmetic per element (and compile time) than a copy. Past a bound that grows with the
    /// ranks, the view's input gets a buffer, so the chain restarts from a contiguous layout.
    void check_index_cost(const Node* n, const Node* in, const Index& out, const NodeRef& valid) {
        size_t limit = 32 + 8 * (in->shape().size() + n->shape().size());
        std::vector<const Node*> seen, stack;
        auto visit = [&](const NodeRef& e) {
            if (e->inputs().empty() || std::find(seen.begin(), seen.end(), e.get()) != seen.end())
                return;
            seen.push_back(e.get());
            stack.push_back(e.get());
        };
        for (const NodeRef& i : out) visit(i);
        visit(valid);
        while (!stack.empty() && seen.size() <= limit) {
            const Node* e = stack.back();
            stack.pop_back();
            for (const NodeRef& i : e->inputs()) visit(i);
        }
        if (seen.size() <= limit) return;
        const Node* cut = plan_.is_buffer(in) ? n : in;
        if (cut == root_) return;  // a single view: its index is as simple as it gets
        throw NeedsBuffer{cut, fmt::format("view index too costly: more than {} index ops per "
                                           "element, a copy is cheaper",
                                           limit)};
    }

    NodeRef reduce(const Node* n, const Index& idx, const NodeRef& valid) {
        // The reduction is computed once per outer point, so its position may only depend on
        // outer loop variables.
        for (const NodeRef& i : idx) check_hoistable(n, i);
        check_hoistable(n, valid);
        std::vector<const void*> key = key_of(n, idx, valid);
        auto it = stage_of_.find(key);
        if (it == stage_of_.end()) {
            for (const NodeRef& i : idx) note_deps(i);
            note_deps(valid);
            const auto& axes = n->attr_as<ir::AxesAttr>().axes;
            const Shape& is = n->input(0)->shape();
            Index in_idx = idx;
            Shape loops;
            for (size_t j = 0; j < axes.size(); ++j) {
                int64_t a = axes[j];
                in_idx[a] = index::var(num_outer_ + static_cast<int64_t>(j), is[a]);
                loops.push_back(is[a]);
            }
            ops_.insert(ir::op_name(n->op()));
            ir::Stage st;
            st.kind = ir::StageKind::Reduce;
            st.loops = loops;
            st.reduce_op = n->op();
            st.value = expr(n->input(0).get(), in_idx, valid);
            stages_.push_back(std::move(st));
            stage_nodes_.push_back(n);
            it = stage_of_.emplace(std::move(key), static_cast<int64_t>(stages_.size() - 1)).first;
        }
        return Node::make(Op::StageResult, n->dtype(), {}, {}, ir::StageAttr{it->second});
    }

    void check_hoistable(const Node* n, const NodeRef& e) {
        if (index::max_var(e) >= num_outer_) {
            throw NeedsBuffer{n, "reduction needed inside another loop of its consumer"};
        }
    }

    void note_deps(const NodeRef& e) {
        for (int64_t v = 0; v < num_outer_; ++v)
            if (index::uses_var(e, v)) deps_.insert(v);
    }

    const FusionPlan& plan_;
    const Node* root_;
    int64_t num_outer_;
    std::map<std::vector<const void*>, NodeRef> memo_;
    std::map<std::vector<const void*>, int64_t> stage_of_;
    std::vector<ir::Stage> stages_;
    std::vector<const Node*> stage_nodes_;
    std::vector<const Node*> buffers_;
    std::set<int64_t> deps_;
    std::set<std::string_view> ops_;
    std::vector<NodeRef> keep_alive_;
    struct Expansions {
        int64_t count;  ///< views the node was computed under
        int64_t first;  ///< expansion number of the first
    };
    std::unordered_map<const Node*, Expansions> expansions_;
    int64_t expanded_ = 0;
};

std::string kernel_name(const std::vector<ir::Stage>& stages, const std::set<std::string_view>& ops) {
    std::string name = stages.size() > 1 ? "r" : "e";
    int count = 0;
    for (std::string_view op : ops) {
        if (count++ == 4) break;
        name += '_';
        name += op;
    }
    return name;
}

/// Rewrites `e`, replacing nodes for which `replace` returns non-null (memoized over the DAG).
NodeRef substitute(const NodeRef& e, const std::function<NodeRef(const NodeRef&)>& replace,
                   std::unordered_map<const Node*, NodeRef>& memo) {
    auto it = memo.find(e.get());
    if (it != memo.end()) return it->second;
    NodeRef out = replace(e);
    if (!out) {
        std::vector<NodeRef> ins;
        for (const NodeRef& in : e->inputs()) ins.push_back(substitute(in, replace, memo));
        out = Node::make(e->op(), e->dtype(), e->shape(), std::move(ins), e->attr());
    }
    memo.emplace(e.get(), out);
    return out;
}

bool contains(const NodeRef& e, const Node* part, std::unordered_map<const Node*, bool>& memo) {
    if (e.get() == part) return true;
    auto it = memo.find(e.get());
    if (it != memo.end()) return it->second;
    bool found = false;
    for (const NodeRef& in : e->inputs()) found = found || contains(in, part, memo);
    memo.emplace(e.get(), found);
    return found;
}

bool has_transcendental(const NodeRef& e, std::unordered_map<const Node*, bool>& memo) {
    auto it = memo.find(e.get());
    if (it != memo.end()) return it->second;
    bool found = ir::is_transcendental(e->op());
    for (const NodeRef& in : e->inputs()) found = found || has_transcendental(in, memo);
    memo.emplace(e.get(), found);
    return found;
}

/// When the output's value reuses the value a reduce stage accumulated over the same loops
/// (softmax's exp(x - max) under its row sum), and that value is costly, compute it once: store
/// it into the output row, reduce the stored values, then finish the output row in place. The
/// row is still in cache, so this trades a transcendental per element for cached loads/stores.
void reuse_reduced_value(ir::LoopKernel& k, DType out_dtype) {
    ir::Stage& store = k.stages.back();
    if (store.loops.empty()) return;
    for (size_t i = k.stages.size() - 1; i-- > 0;) {
        const ir::Stage& st = k.stages[i];
        if (st.kind != ir::StageKind::Reduce || st.loops != store.loops ||
            st.value->dtype() != out_dtype)
            continue;
        std::unordered_map<const Node*, bool> in_store, costly;
        if (!contains(store.value, st.value.get(), in_store) || !has_transcendental(st.value, costly))
            continue;
        NodeRef value = st.value;
        NodeRef stored = Node::make(Op::Load, out_dtype, {}, {store.index},
                                    ir::LoadAttr{store.buffer});
        // A stage is inserted before stage i: stage results i.. shift by one.
        auto shift = [&](const NodeRef& e) -> NodeRef {
            if (e->op() != Op::StageResult) return nullptr;
            int64_t s = e->attr_as<ir::StageAttr>().stage;
            return Node::make(Op::StageResult, e->dtype(), {}, {},
                              ir::StageAttr{s >= static_cast<int64_t>(i) ? s + 1 : s});
        };
        std::unordered_map<const Node*, NodeRef> shift_memo;
        std::vector<ir::Stage> stages(k.stages.begin(), k.stages.begin() + i);
        ir::Stage first = store;
        first.value = value;
        stages.push_back(first);
        for (size_t j = i; j < k.stages.size(); ++j) {
            ir::Stage moved = k.stages[j];
            if (j == i) moved.value = stored;
            if (j + 1 == k.stages.size()) {
                std::unordered_map<const Node*, NodeRef> memo;
                moved.value = substitute(
                    moved.value, [&](const NodeRef& e) { return e == value ? stored : nullptr; },
                    memo);
            }
            moved.value = substitute(moved.value, shift, shift_memo);
            stages.push_back(std::move(moved));
        }
        k.stages = std::move(stages);
        return;
    }
}

struct LoweredKernel {
    ir::LoopKernel kernel;
    std::vector<const Node*> buffers;  // node for each kernel buffer (last one: the root)
};

/// The tile size for an elementwise kernel whose contiguous store reads some buffer across
/// rows (a transpose: stride 1 along the second-last loop, a long stride along the last), so
/// that both the reads and the writes of a block stay in cache; 0 for any other kernel.
int64_t transpose_tile(const ir::LoopKernel& k) {
    constexpr int64_t kTile = 32;
    size_t r = k.outer.size();
    if (r < 2 || k.stages.size() != 1 || !k.stages[0].loops.empty()) return 0;
    if (k.outer[r - 1] < 2 * kTile || k.outer[r - 2] < 2 * kTile) return 0;
    auto inner = static_cast<int64_t>(r - 1), next = static_cast<int64_t>(r - 2);
    const ir::Stage& st = k.stages[0];
    if (index::stride_of(st.index, inner) != 1) return 0;
    bool transposed = false;
    std::vector<const Node*> stack{st.value.get()};
    std::unordered_set<const Node*> seen;
    while (!stack.empty() && !transposed) {
        const Node* e = stack.back();
        stack.pop_back();
        if (!seen.insert(e).second) continue;
        if (e->op() == Op::Load) {
            transposed = index::stride_of(e->input(0), next) == 1 &&
                         index::stride_of(e->input(0), inner) >= kTile;
            continue;
        }
        for (const NodeRef& in : e->inputs()) stack.push_back(in.get());
    }
    return transposed ? kTile : 0;
}

/// Lowers one root: a probe pass with every dim outer finds the dims reductions depend on; the
/// final pass puts those outer and loops over the rest inside a store stage.
LoweredKernel lower_kernel(const FusionPlan& plan, const Node* root) {
    // A kernel storing a reshape (a matmul operand flattened from a permuted view, say) loops
    // over the shape before the reshape: the flat store offset is the same, and reading the
    // view needs no division to recover its coordinates from the flat loop variables.
    const Node* body = root;
    while (body->op() == Op::Reshape && !plan.is_buffer(body->input(0).get()))
        body = body->input(0).get();
    const Shape& shape = body->shape();
    int64_t rank = static_cast<int64_t>(shape.size());
    std::set<int64_t> outer_dims;
    {
        KernelBuilder probe(plan, root, rank);
        Index idx;
        for (int64_t d = 0; d < rank; ++d) idx.push_back(index::var(d, shape[d]));
        probe.expr(body, idx, index::true_value());
        if (probe.stages().empty()) {
            for (int64_t d = 0; d < rank; ++d) outer_dims.insert(d);
        } else {
            outer_dims = probe.reduce_deps();
        }
    }
    ir::LoopKernel k;
    Shape inner;
    Index idx(rank);
    int64_t num_outer = static_cast<int64_t>(outer_dims.size());
    for (int64_t d = 0; d < rank; ++d) {
        if (outer_dims.count(d)) {
            idx[d] = index::var(static_cast<int64_t>(k.outer.size()), shape[d]);
            k.outer.push_back(shape[d]);
        } else {
            idx[d] = index::var(num_outer + static_cast<int64_t>(inner.size()), shape[d]);
            inner.push_back(shape[d]);
        }
    }
    KernelBuilder b(plan, root, num_outer);
    NodeRef value = b.expr(body, idx, index::true_value());
    // A fused reduction runs once per outer point. When the kernel has more outer points than
    // the reduction has values (a pooling window's tie count, read by each element of the
    // window through a division of the index), every value is computed several times, in a
    // loop nest the vectorizer skips: past a small amount of work, a buffer computes each value
    // once (on [256,16,28,28] that made max-pool's backward 3x faster).
    constexpr int64_t kMinRecomputedWork = 1 << 16;
    std::unordered_map<const Node*, int64_t> runs;
    for (size_t i = 0; i < b.stage_nodes().size(); ++i) {
        const Node* r = b.stage_nodes()[i];
        int64_t values = std::max<int64_t>(1, ir::numel(r->shape()));
        int64_t points = ir::numel(k.outer);
        int64_t times = (runs[r] += points) / values;
        int64_t work = points * std::max<int64_t>(1, ir::numel(b.stages()[i].loops));
        if (times > 1 && work >= kMinRecomputedWork && r != root)
            throw NeedsBuffer{r, fmt::format("reduction computed {} times per value in its "
                                             "consumer's loops",
                                             times)};
    }
    int64_t out = b.buffer_index(root);  // after all inputs
    NodeRef offset = row_major(idx, shape);
    ir::Stage store;
    store.kind = ir::StageKind::Store;
    store.loops = inner;
    store.buffer = out;
    store.index = offset;
    store.value = value;
    k.stages = std::move(b.stages());
    k.stages.push_back(std::move(store));
    k.tile = transpose_tile(k);
    reuse_reduced_value(k, root->dtype());
    k.name = kernel_name(k.stages, b.ops());
    LoweredKernel lk;
    lk.buffers = b.buffers();
    for (const Node* n : lk.buffers)
        k.buffers.push_back(ir::KernelBuffer{n->dtype(), ir::numel(n->shape()), n == root});
    lk.kernel = std::move(k);
    return lk;
}

/// Kernels lowered so far, by root.
using LoweredKernels = std::unordered_map<const Node*, LoweredKernel>;

/// Whether kernels need lowering: extern calls and empty results have none.
bool has_kernel(const Node* n) {
    return ir::op_category(n->op()) != OpCategory::Extern && ir::numel(n->shape()) > 0;
}

/// Whether n's fused expression (up to buffers) holds a reduction.
bool region_has_reduction(const FusionPlan& plan, const Node* n) {
    std::vector<const Node*> stack{n};
    std::unordered_set<const Node*> seen{n};
    while (!stack.empty()) {
        const Node* m = stack.back();
        stack.pop_back();
        if (ir::op_category(m->op()) == OpCategory::Reduce) return true;
        for (const NodeRef& in : m->inputs())
            if (!plan.is_buffer(in.get()) && seen.insert(in.get()).second)
                stack.push_back(in.get());
    }
    return false;
}

/// The program's steps from kernels that are all lowered already.
ir::Program build_program(const FusionPlan& plan, const LoweredKernels& lowered,
                          std::vector<const Node*>* buffer_nodes) {
    ir::Program p;
    std::unordered_map<const Node*, int64_t> buffer_of;
    auto buffer = [&](const Node* n) -> int64_t {
        auto it = buffer_of.find(n);
        if (it != buffer_of.end()) return it->second;
        // The frontend and the parser refuse such shapes; a graph built another way must not
        // reach the allocator or index arithmetic with one either.
        std::string problem = ir::shape_problem(n->shape(), n->dtype());
        KILN_CHECK(problem.empty(), "lower: buffer of " + std::string(ir::op_name(n->op())) +
                                        ": " + problem);
        ir::ProgramBuffer pb{n->dtype(), n->shape(), ir::BufferKind::Temp, 0};
        if (n->op() == Op::Input) {
            pb.kind = ir::BufferKind::Input;
            pb.index = n->attr_as<ir::InputAttr>().id;
            p.num_inputs = std::max(p.num_inputs, pb.index + 1);
        }
        p.buffers.push_back(pb);
        if (buffer_nodes) buffer_nodes->push_back(n);
        int64_t id = static_cast<int64_t>(p.buffers.size() - 1);
        buffer_of[n] = id;
        return id;
    };
    for (size_t i = 0; i < plan.roots.size(); ++i) {
        const Node* r = plan.roots[i].get();
        int64_t id = buffer(r);
        if (p.buffers[id].kind == ir::BufferKind::Temp) {
            p.buffers[id].kind = ir::BufferKind::Output;
            p.buffers[id].index = static_cast<int64_t>(i);
        }
        p.outputs.push_back(id);
    }
    // An extern op's operand (or result, `self`) buffer; operands read through reshapes use
    // their source's buffer (same bytes).
    auto extern_operand = [&](const Node* self, const Node* in) {
        return buffer(in == self || plan.is_buffer(in) ? in : strip_reshapes(in));
    };
    for (const Node* n : plan.schedule()) {
        if (n->op() == Op::Matmul) {
            ir::MatmulStep m;
            // A transposed operand that fusion left unmaterialized is read in place.
            auto operand = [&](const Node* in, bool& trans) {
                const Node* src = transposed_source(in);
                trans = src && !plan.is_buffer(in);
                const Node* read = trans ? src : in;
                return buffer(plan.is_buffer(read) ? read : strip_reshapes(read));
            };
            m.a = operand(n->input(0).get(), m.trans_a);
            m.b = operand(n->input(1).get(), m.trans_b);
            m.out = buffer(n);
            const Shape& s = n->input(0)->shape();
            m.m = s[s.size() - 2];
            m.k = s.back();
            m.n = n->shape().back();
            m.batch = ir::numel(s) / std::max<int64_t>(1, m.m * m.k);
            if (m.m * m.k == 0) m.batch = ir::numel(Shape(s.begin(), s.end() - 2));
            m.dtype = n->dtype();
            p.steps.push_back(m);
            continue;
        }
        if (n->op() == Op::Gather || n->op() == Op::ScatterAdd) {
            ir::IndexStep st;
            st.scatter = n->op() == Op::ScatterAdd;
            const Node* dense = st.scatter ? n : n->input(0).get();
            const Node* index = n->input(st.scatter ? 0 : 1).get();
            const Node* rows = st.scatter ? n->input(1).get() : n;
            const auto& attr = n->attr_as<ir::IndexAttr>();
            auto operand = [&](const Node* in) { return extern_operand(n, in); };
            st.dense = operand(dense);
            st.index = operand(index);
            st.rows = operand(rows);
            st.split = ir::split_at(dense->shape(), attr.axis);
            st.count = index->shape().back();
            st.dtype = n->dtype();
            st.site = attr.site;
            p.steps.push_back(st);
            continue;
        }
        if (n->op() == Op::Conv2d || n->op() == Op::Conv2dGradInput ||
            n->op() == Op::Conv2dGradWeight) {
            ir::ConvStep st;
            st.pass = n->op() == Op::Conv2d            ? ir::ConvPass::Forward
                      : n->op() == Op::Conv2dGradInput ? ir::ConvPass::InputGrad
                                                       : ir::ConvPass::WeightGrad;
            ir::ConvOperands t = ir::conv_operands(*n);
            st.x = extern_operand(n, t.x);
            st.w = extern_operand(n, t.w);
            st.y = extern_operand(n, t.y);
            st.geometry = ir::conv_geometry(*n);
            st.dtype = n->dtype();
            p.steps.push_back(st);
            continue;
        }
        if (!has_kernel(n)) {
            buffer(n);  // an empty result needs a (0-element) buffer but no work
            continue;
        }
        const LoweredKernel& lk = lowered.at(n);
        ir::KernelStep step;
        step.kernel = lk.kernel;
        for (const Node* b : lk.buffers) step.buffers.push_back(buffer(b));
        p.steps.push_back(std::move(step));
    }
    return p;
}

}  // namespace

ir::Program lower(FusionPlan& plan, std::vector<const Node*>* buffer_nodes) {
    // Each retry materializes one more node, so this terminates. Kernels lowered before it are
    // kept: one that computes the newly materialized node inline is still correct, so a retry
    // costs the failed kernel (and a pass over the schedule), not the whole program.
    LoweredKernels lowered;
    for (bool done = false; !done;) {
        try {
            for (const Node* n : plan.schedule())
                if (has_kernel(n) && !lowered.count(n)) lowered.emplace(n, lower_kernel(plan, n));
            done = true;
        } catch (const NeedsBuffer& need) {
            plan.materialize(need.node, need.reason);
            // Splitting a kernel may leave a reduction shared by two kernels (a cost, not an
            // error): re-check only when the new kernel holds one.
            if (region_has_reduction(plan, need.node)) materialize_shared_reductions(plan);
        }
    }
    if (buffer_nodes) buffer_nodes->clear();
    return build_program(plan, lowered, buffer_nodes);
}

}  // namespace kiln::passes
