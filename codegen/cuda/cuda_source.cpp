// Loop kernels as CUDA C: the kernel's skeleton (signature, outer points over a grid-stride loop,
// stages, block reductions, barriers). Expressions are cuda_expr.cpp's, helper functions
// cuda_helpers.cpp's. The launch contract is written in cuda_source.h.
#include "codegen/cuda/cuda_source.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "codegen/cuda/cuda_expr.h"
#include "kiln/error.h"

namespace kiln::codegen {
namespace {

using cuda::CudaWriter;
using cuda::ExprRenderer;
using ir::Node;
using ir::NodeRef;
using ir::Op;

constexpr int kPointBlock = 256;      // threads per block of per-point kernels
constexpr int kMaxBlock = 256;        // most threads per block of block kernels
constexpr int64_t kSerialLoops = 32;  // longest stage loops a per-point kernel runs itself
// Flat counters below this bound are split into loop variables in 32-bit unsigned arithmetic:
// division by a constant is a multiply-high there, several instructions more in 64 bits.
constexpr int64_t kNarrow = int64_t{1} << 31;
// Grid reductions (cuda_source.h): a first reduce stage of at least kGridIterations iterations
// at the only outer point is split over min(kGridMaxBlocks, iterations / (block *
// kGridPerThread)) blocks (at least 2).
constexpr int64_t kGridIterations = 65536;
constexpr int64_t kGridMaxBlocks = 1024;
constexpr int64_t kGridPerThread = 8;
const std::string kQ = "q";

bool is_identifier(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

/// Product of extents; InternalError for a negative extent or one that overflows.
int64_t product(const ir::Shape& extents, const char* what) {
    int64_t p = 1;
    for (int64_t e : extents) {
        if (e < 0) throw InternalError(fmt::format("cuda codegen: negative {} extent", what));
        if (e != 0 && p > std::numeric_limits<int64_t>::max() / e)
            throw InternalError(fmt::format("cuda codegen: {} loops too large", what));
        p *= e;
    }
    return p;
}

/// The buffers a stage reads (with the index of each load) and the one it writes.
struct Access {
    int64_t buffer;
    const Node* index;
    bool store;
};

void collect_loads(const NodeRef& root, std::vector<Access>& out) {
    std::vector<const Node*> stack{root.get()};
    std::unordered_set<const Node*> seen;
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (!n || !seen.insert(n).second) continue;
        if (n->op() == Op::Load)
            out.push_back({n->attr_as<ir::LoadAttr>().buffer, n->input(0).get(), false});
        for (const NodeRef& in : n->inputs()) stack.push_back(in.get());
    }
}

/// Bytes of one element of `dtype` in memory (bool: one byte).
int64_t element_bytes(DType dtype) {
    switch (dtype) {
    case DType::Float64:
    case DType::Int64: return 8;
    case DType::Float32:
    case DType::Int32: return 4;
    case DType::Bool: return 1;
    }
    throw InternalError("cuda codegen: unknown dtype");
}

/// Is `n` exactly loop variable 0 (the flat point of a single outer loop), possibly cast?
bool is_point_index(const Node* n) {
    while (n && n->op() == Op::Cast && n->inputs().size() == 1 && is_integral(n->dtype()))
        n = n->input(0).get();
    return n && n->op() == Op::LoopVar && n->attr_as<ir::VarAttr>().index == 0;
}

/// Points per thread of the vector path (cuda_source.h): W = 16 bytes / the widest element
/// (at least 4 bytes) when `kernel` is a per-point kernel over one outer loop whose stages are
/// all loop-free stores, every load and store indexes exactly the point, and every buffer has
/// one element per point; else 1. Malformed kernels get 1: the scalar path reports them.
int64_t vector_width(const ir::LoopKernel& kernel, bool block_per_point) {
    if (block_per_point || kernel.outer.size() != 1 || kernel.stages.empty()) return 1;
    const int64_t n = kernel.outer[0];
    int64_t widest = 4;
    for (const ir::KernelBuffer& b : kernel.buffers) {
        if (b.numel != n) return 1;
        widest = std::max(widest, element_bytes(b.dtype));
    }
    auto valid = [&](int64_t buffer) {
        return buffer >= 0 && static_cast<size_t>(buffer) < kernel.buffers.size();
    };
    for (const ir::Stage& st : kernel.stages) {
        if (st.kind != ir::StageKind::Store || !st.loops.empty() || !st.value ||
            !is_point_index(st.index.get()) || !valid(st.buffer))
            return 1;
        std::vector<Access> loads;
        collect_loads(st.value, loads);
        for (const Access& a : loads)
            if (!valid(a.buffer) || !is_point_index(a.index)) return 1;
    }
    int64_t w = 16 / widest;
    return n >= w ? w : 1;  // fewer points than one group: the scalar loop alone
}

/// CudaLaunch::grid_blocks of a block kernel (cuda_source.h): G > 0 when it has one outer point,
/// its first stage reduces (sum/max/min, not bool) over at least kGridIterations iterations and
/// no other stage reduces; else 0. Malformed kernels get 0: the block path reports them.
int64_t grid_blocks(const ir::LoopKernel& kernel, const CudaLaunch& l) {
    if (!l.block_per_point || kernel.stages.empty() || product(kernel.outer, "outer") != 1)
        return 0;
    const ir::Stage& first = kernel.stages[0];
    if (first.kind != ir::StageKind::Reduce || !first.value ||
        first.value->dtype() == DType::Bool ||
        (first.reduce_op != Op::ReduceSum && first.reduce_op != Op::ReduceMax &&
         first.reduce_op != Op::ReduceMin))
        return 0;
    int64_t n = product(first.loops, "stage");
    if (n < kGridIterations) return 0;
    for (size_t k = 1; k < kernel.stages.size(); ++k)
        if (kernel.stages[k].kind == ir::StageKind::Reduce) return 0;
    int64_t per_block = l.block_threads * kGridPerThread;
    return std::clamp<int64_t>((n - 1) / per_block + 1, 2, kGridMaxBlocks);
}

/// The CUDA vector type of `w` elements of `dtype` (memory representation).
std::string vector_type(DType dtype, int64_t w) {
    const char* base = dtype == DType::Float32   ? "float"
                       : dtype == DType::Float64 ? "double"
                       : dtype == DType::Int32   ? "int"
                       : dtype == DType::Int64   ? "longlong"
                                                 : "uchar";
    return fmt::format("{}{}", base, w);
}

class KernelRenderer {
public:
    KernelRenderer(const ir::LoopKernel& kernel, const std::string& name)
        : kernel_(kernel), name_(name), launch_(launch_shape(kernel)), ex_(kernel, body_) {}

    std::string render() {
        body_.indent = 1;
        int64_t points = product(kernel_.outer, "outer");
        for (const ir::Stage& st : kernel_.stages) product(st.loops, "stage");
        if (points == 0) {
            body_.line("// An outer loop has extent 0: nothing to do.");
        } else if (launch_.grid_blocks > 0) {
            body_.line("// The one outer point, if [begin, end) has it; the whole grid reduces its "
                       "first stage.");
            body_.line("if (gridDim.x != KILN_GRID) __trap();  // the contract: exactly KILN_GRID "
                       "blocks");
            body_.line("const long long lo = begin > 0 ? begin : 0;");
            body_.line(
                fmt::format("const long long hi = end < {0}LL ? end : {0}LL;", launch_.outer0));
            body_.line("if (lo >= hi) return;");
            body_.line("{");
            ++body_.indent;
            ex_.open_scope();
            body_.line("const long long p = 0;");
            declare_vars("p", kernel_.outer, 0, true, true);
            render_block_stages();
            ex_.close_scope();
            --body_.indent;
            body_.line("}");
        } else {
            body_.line(fmt::format("// Outer loop 0 over [begin, end) clamped to [0, {}).",
                                   launch_.outer0));
            body_.line("const long long lo = begin > 0 ? begin : 0;");
            body_.line(
                fmt::format("const long long hi = end < {0}LL ? end : {0}LL;", launch_.outer0));
            body_.line("if (lo >= hi) return;");
            if (launch_.points_per_outer0 == 1)
                body_.line("const long long points = hi - lo;");
            else
                body_.line(fmt::format("const long long points = (hi - lo) * {}LL;",
                                       launch_.points_per_outer0));
            bool vector = launch_.points_per_thread > 1;
            if (vector) render_vector_points();
            if (launch_.block_per_point)
                body_.line("for (long long p = blockIdx.x; p < points; p += gridDim.x) {");
            else
                body_.line(fmt::format(
                    "for (long long p = {}(long long)blockIdx.x * KILN_BLOCK + threadIdx.x; "
                    "p < points;\n         p += (long long)gridDim.x * KILN_BLOCK) {{",
                    vector ? "done + " : ""));
            ++body_.indent;
            ex_.open_scope();
            declare_vars("p", kernel_.outer, 0, points < kNarrow, true);
            if (launch_.block_per_point)
                render_block_stages();
            else
                render_point_stages();
            ex_.close_scope();
            --body_.indent;
            body_.line("}");
        }
        return assemble();
    }

private:
    std::string assemble() {
        std::string s = fmt::format(
            "// Kiln loop kernel '{}' as CUDA C (codegen/cuda/cuda_source.h has the launch\n"
            "// contract): blockDim ({}, 1, 1), {}, {}.\n",
            kernel_.name, launch_.block_threads,
            launch_.grid_blocks > 0 ? "gridDim.x exactly KILN_GRID" : "any gridDim.x >= 1",
            launch_.grid_blocks > 0   ? "the whole grid on the one outer point"
            : launch_.block_per_point ? "one block per outer point"
            : launch_.points_per_thread > 1
                ? fmt::format("{} consecutive outer points per thread", launch_.points_per_thread)
                : "one thread per outer point");
        s += fmt::format("#define KILN_BLOCK {}\n", launch_.block_threads);
        if (launch_.grid_blocks > 0) {
            const char* ty = cuda::register_type(kernel_.stages[0].value->dtype());
            s += fmt::format(
                "#define KILN_GRID {}\n\n"
                "// Grid reduction: each block's partial result of stage 0, and how many blocks\n"
                "// have stored theirs (the last one resets it for the next launch).\n"
                "static __device__ {} kiln_partial[KILN_GRID];\n"
                "static __device__ unsigned int kiln_arrived;\n",
                launch_.grid_blocks, ty);
        }
        s += "\n";
        s += ex_.helper_source();
        s += fmt::format("extern \"C\" __global__ void __launch_bounds__(KILN_BLOCK)\n{}(", name_);
        for (size_t i = 0; i < kernel_.buffers.size(); ++i) {
            const ir::KernelBuffer& b = kernel_.buffers[i];
            s += fmt::format("{}{}* __restrict__ b{},\n    ", b.output ? "" : "const ",
                             cuda::memory_type(b.dtype), i);
        }
        s += "const long long* __restrict__ sizes, long long begin, long long end) {\n";
        s += body_.text;
        s += "}\n";
        return s;
    }

    /// Declares loop variables first_var.. over `extents` from the flat counter `counter`
    /// (row-major, the first extent slowest). `narrow`: the counter is below 2^31, so the split
    /// is done in unsigned 32-bit arithmetic. `outer`: the counter is the long long `p` over
    /// outer points, and variable 0 is offset by `lo`; else it is the unsigned stage counter.
    void declare_vars(const std::string& counter, const ir::Shape& extents, int64_t first_var,
                      bool narrow, bool outer) {
        if (extents.empty()) return;
        const char* sfx = narrow ? "u" : "LL";
        if (narrow && outer) body_.line(fmt::format("const unsigned q = (unsigned){};", counter));
        const std::string& q = narrow && outer ? kQ : counter;
        int64_t stride = product(extents, "loop");
        for (size_t d = 0; d < extents.size(); ++d) {
            stride /= extents[d];
            int64_t var = first_var + static_cast<int64_t>(d);
            std::string value;
            if (extents[d] == 1)
                value = fmt::format("{}", outer && d == 0 ? "lo" : "0");
            else {
                value = stride > 1 ? fmt::format("{} / {}{}", q, stride, sfx) : q;
                if (d > 0) value = fmt::format("{} % {}{}", value, extents[d], sfx);
                if (outer && d == 0) value = fmt::format("lo + {}", value);
            }
            body_.line(fmt::format("const long long v{} = {};", var, value));
            ex_.bind_var(var, fmt::format("v{}", var));
        }
    }

    /// The index of a store as a long long expression.
    std::string store_index(const ir::Stage& st) {
        std::string index = ex_.emit(st.index);
        return st.index->dtype() == DType::Int64 ? index : fmt::format("(long long){}", index);
    }

    void check_store(int64_t k, const ir::Stage& st) {
        if (st.buffer < 0 || static_cast<size_t>(st.buffer) >= kernel_.buffers.size())
            throw InternalError(
                fmt::format("cuda codegen: stage {} stores to buffer {}", k, st.buffer));
        const ir::KernelBuffer& kb = kernel_.buffers[static_cast<size_t>(st.buffer)];
        if (st.value->dtype() != kb.dtype || !st.index || !is_integral(st.index->dtype()))
            throw InternalError(fmt::format(
                "cuda codegen: stage {} stores {} into a {} buffer (index must be an integer)", k,
                dtype_name(st.value->dtype()), dtype_name(kb.dtype)));
    }

    void emit_store(const ir::Stage& st) {
        std::string index = store_index(st);
        std::string value = ex_.emit(st.value);
        DType t = kernel_.buffers[static_cast<size_t>(st.buffer)].dtype;
        body_.line(
            fmt::format("b{}[{}] = {};", st.buffer, index, ExprRenderer::to_memory(t, value)));
    }

    /// The vector path (cuda_source.h): thread t handles the group of W points lo + W * g
    /// (g = b * block + t, then + G * block, ...) with one W-wide load per buffer read and one
    /// W-wide store per stage, each lane's value the scalar expression with its loads bound to
    /// the vectors' components. It runs when lo is a multiple of W and every pointer is aligned
    /// to its vector; `done` tells the scalar loop after it where to start (the last partial
    /// group, or everything when the vector path cannot run).
    void render_vector_points() {
        const int64_t w = launch_.points_per_thread;
        static const char* const lane_names[] = {"x", "y", "z", "w"};
        std::vector<std::vector<int64_t>> by_alignment(17);
        for (size_t i = 0; i < kernel_.buffers.size(); ++i)
            by_alignment[static_cast<size_t>(w * element_bytes(kernel_.buffers[i].dtype))]
                .push_back(static_cast<int64_t>(i));
        std::string aligned = fmt::format("lo % {}LL == 0", w);
        for (size_t bytes = 1; bytes < by_alignment.size(); ++bytes) {
            if (by_alignment[bytes].empty()) continue;
            std::string ptrs;
            for (int64_t b : by_alignment[bytes])
                ptrs += fmt::format("{}(unsigned long long)b{}", ptrs.empty() ? "" : " | ", b);
            aligned += fmt::format(" &&\n        (({}) & {}ULL) == 0", ptrs, bytes - 1);
        }
        body_.line(fmt::format("// Groups of {} points with vector loads and stores where lo and "
                               "the buffers are aligned;",
                               w));
        body_.line("// the scalar loop below runs the rest (a partial group, or everything).");
        body_.line("long long done = 0;");
        body_.line(fmt::format("if ({}) {{", aligned));
        ++body_.indent;
        body_.line(fmt::format("const long long groups = points / {}LL;", w));
        body_.line("for (long long g = (long long)blockIdx.x * KILN_BLOCK + threadIdx.x; "
                   "g < groups;\n             g += (long long)gridDim.x * KILN_BLOCK) {");
        ++body_.indent;
        ex_.open_scope();
        body_.line(fmt::format("const long long v0 = lo + g * {}LL;", w));
        std::vector<std::pair<int64_t, std::string>> regs;  // buffer -> its vector register
        auto reg_of = [&](int64_t b) -> const std::string* {
            for (const auto& [buf, r] : regs)
                if (buf == b) return &r;
            return nullptr;
        };
        int64_t next = 0;
        for (size_t k = 0; k < kernel_.stages.size(); ++k) {
            const ir::Stage& st = kernel_.stages[k];
            check_store(static_cast<int64_t>(k), st);
            std::vector<Access> loads;
            collect_loads(st.value, loads);
            std::sort(loads.begin(), loads.end(),
                      [](const Access& a, const Access& b) { return a.buffer < b.buffer; });
            for (const Access& a : loads) {
                if (reg_of(a.buffer)) continue;
                std::string vt =
                    vector_type(kernel_.buffers[static_cast<size_t>(a.buffer)].dtype, w);
                std::string r = fmt::format("x{}", next++);
                body_.line(
                    fmt::format("const {0} {1} = *(const {0}*)(b{2} + v0);", vt, r, a.buffer));
                regs.emplace_back(a.buffer, r);
            }
            DType t = kernel_.buffers[static_cast<size_t>(st.buffer)].dtype;
            std::string lanes;
            for (int64_t j = 0; j < w; ++j) {
                ex_.open_scope();
                ex_.bind_var(0, j == 0 ? "v0" : fmt::format("(v0 + {}LL)", j));
                for (const auto& [buf, r] : regs)
                    ex_.bind_load(buf, fmt::format("{}.{}", r, lane_names[j]));
                std::string v = ExprRenderer::to_memory(t, ex_.emit(st.value));
                lanes += fmt::format("{}{}", j == 0 ? "" : ", ", v);
                ex_.close_scope();
            }
            std::string vt = vector_type(t, w);
            std::string r = fmt::format("x{}", next++);
            body_.line(fmt::format("const {} {} = {{{}}};", vt, r, lanes));
            body_.line(fmt::format("*({}*)(b{} + v0) = {};", vt, st.buffer, r));
            // Later stages read what was stored: this register.
            std::erase_if(regs, [&](const auto& e) { return e.first == st.buffer; });
            regs.emplace_back(st.buffer, r);
            ex_.forget_loads_of(st.buffer);
        }
        ex_.close_scope();
        --body_.indent;
        body_.line("}");
        body_.line(fmt::format("done = groups * {}LL;", w));
        --body_.indent;
        body_.line("}");
    }

    /// Per-point kernels: this thread runs every stage at its point in order, loops included,
    /// as the CPU does. Temporaries are shared across stages (merged kernels read the same
    /// inputs) until a store makes them stale.
    void render_point_stages() {
        for (size_t k = 0; k < kernel_.stages.size(); ++k) {
            const ir::Stage& st = kernel_.stages[k];
            if (!st.value)
                throw InternalError(fmt::format("cuda codegen: stage {} has no value", k));
            if (st.kind == ir::StageKind::Reduce) {
                render_serial_reduce(static_cast<int64_t>(k), st);
                continue;
            }
            check_store(static_cast<int64_t>(k), st);
            // Every store into an empty buffer would be out of bounds: it cannot run.
            if (kernel_.buffers[static_cast<size_t>(st.buffer)].numel == 0) continue;
            if (!st.loops.empty())
                body_.line(fmt::format("// stage {}: store into b{} over {}", k, st.buffer,
                                       ir::shape_str(st.loops)));
            serial_loops(st.loops, 0, [&] { emit_store(st); });
            ex_.forget_loads_of(st.buffer);
        }
    }

    /// `body` inside plain loops over `extents` (variables outer.size() + level, ...). A zero
    /// extent means the body never runs, so nothing is emitted.
    template <class Body>
    void serial_loops(const ir::Shape& extents, size_t level, Body&& body) {
        if (level == extents.size()) return body();
        if (extents[level] == 0) return;
        int64_t var = static_cast<int64_t>(kernel_.outer.size() + level);
        body_.line(
            fmt::format("for (long long v{0} = 0; v{0} < {1}LL; ++v{0}) {{", var, extents[level]));
        ++body_.indent;
        ex_.open_scope();
        ex_.bind_var(var, fmt::format("v{}", var));
        serial_loops(extents, level + 1, body);
        ex_.close_scope();
        --body_.indent;
        body_.line("}");
    }

    void render_serial_reduce(int64_t k, const ir::Stage& st) {
        Op op = check_reduce(k, st);
        DType t = st.value->dtype();
        const char* ty = cuda::register_type(t);
        std::string acc = fmt::format("a{}", k);
        body_.line(fmt::format("// stage {}: {} over {} (in this thread)", k, ir::op_name(op),
                               ir::shape_str(st.loops)));
        body_.line(fmt::format("{} {} = {};", ty, acc, identity(op, t)));
        serial_loops(st.loops, 0, [&] {
            std::string v = ex_.emit(st.value);
            body_.line(fmt::format("{} = {};", acc, combine(op, t, acc, v)));
        });
        body_.line(fmt::format("const {} s{} = {};", ty, k, acc));
        ex_.bind_stage(k, fmt::format("s{}", k));
    }

    Op check_reduce(int64_t k, const ir::Stage& st) {
        Op op = st.reduce_op;
        if (op != Op::ReduceSum && op != Op::ReduceMax && op != Op::ReduceMin)
            throw InternalError(
                fmt::format("cuda codegen: stage {} reduces with '{}'", k, ir::op_name(op)));
        return op;
    }

    // ---- block kernels

    /// Does stage access `a` (by the threads of `loops`) need a barrier after access `b` of an
    /// earlier stage? Not when both are loads, nor when both go through the same index over the
    /// same loops: then the same thread touches the same element, in program order.
    static bool conflicts(const Access& a, const ir::Shape& a_loops, const Access& b,
                          const ir::Shape& b_loops) {
        if (a.buffer != b.buffer || (!a.store && !b.store)) return false;
        if (a_loops.empty() && b_loops.empty()) return false;  // both on thread 0
        return a.index != b.index || a_loops != b_loops;
    }

    /// Emits __syncthreads() when stage `st` touches what stages since the last barrier wrote
    /// (or writes what they read), then records its accesses.
    void barrier_if_needed(const ir::Stage& st) {
        std::vector<Access> mine;
        collect_loads(st.value, mine);
        if (st.kind == ir::StageKind::Store) {
            collect_loads(st.index, mine);
            mine.push_back({st.buffer, st.index.get(), true});
        }
        bool need = false;
        for (const Access& a : mine)
            for (const auto& [b, loops] : since_barrier_)
                need = need || conflicts(a, st.loops, b, loops);
        if (need) {
            body_.line(
                "__syncthreads();  // a later stage reads or overwrites what another thread wrote");
            since_barrier_.clear();
        }
        for (const Access& a : mine) since_barrier_.push_back({a, st.loops});
    }

    /// `for` over the flat iterations of `loops` split across the block's threads, with the
    /// loop variables bound inside; `body` renders the statements.
    template <class Body>
    void thread_loop(const ir::Shape& loops, Body&& body) {
        int64_t n = product(loops, "stage");
        bool narrow = n < kNarrow;
        if (narrow)
            body_.line(
                fmt::format("for (unsigned i = threadIdx.x; i < {}u; i += KILN_BLOCK) {{", n));
        else
            body_.line(
                fmt::format("for (long long i = threadIdx.x; i < {}LL; i += KILN_BLOCK) {{", n));
        ++body_.indent;
        ex_.open_scope();
        declare_vars("i", loops, static_cast<int64_t>(kernel_.outer.size()), narrow, false);
        body();
        ex_.close_scope();
        --body_.indent;
        body_.line("}");
    }

    std::string identity(Op op, DType t) {
        if (t == DType::Bool) return op == Op::ReduceMin ? "true" : "false";
        if (op == Op::ReduceSum) return cuda::zero_literal(t);
        bool max = op == Op::ReduceMax;
        if (is_floating(t))
            return cuda::float_literal(max ? -std::numeric_limits<double>::infinity()
                                           : std::numeric_limits<double>::infinity(),
                                       t);
        if (t == DType::Int32) return max ? "(-2147483647 - 1)" : "2147483647";
        return max ? "(-9223372036854775807LL - 1LL)" : "9223372036854775807LL";
    }

    /// acc combined with v, as a statement's right-hand side.
    std::string combine(Op op, DType t, const std::string& acc, const std::string& v) {
        if (t == DType::Bool)
            return fmt::format("{} {} {}", acc, op == Op::ReduceMin ? "&&" : "||", v);
        if (is_floating(t)) {
            if (op == Op::ReduceSum) return fmt::format("{} + {}", acc, v);
            std::string h =
                fmt::format("kiln_{}_{}", op == Op::ReduceMax ? "max" : "min", dtype_name(t));
            ex_.need(h);
            return fmt::format("{}({}, {})", h, acc, v);
        }
        if (op == Op::ReduceMax) return fmt::format("{} > {} ? {} : {}", v, acc, v, acc);
        if (op == Op::ReduceMin) return fmt::format("{} < {} ? {} : {}", v, acc, v, acc);
        const char* u = t == DType::Int32 ? "unsigned" : "unsigned long long";
        return fmt::format("({})(({}){} + ({}){})", cuda::register_type(t), u, acc, u, v);
    }

    void render_reduce(int64_t k, const ir::Stage& st) {
        Op op = check_reduce(k, st);
        DType t = st.value->dtype();
        const char* ty = cuda::register_type(t);
        std::string acc = fmt::format("a{}", k), result = fmt::format("s{}", k);
        if (product(st.loops, "stage") == 0) {
            // Reducing nothing gives the identity (ops.def); no thread has work or a barrier.
            body_.line(fmt::format("// stage {}: {} over {} (empty)", k, ir::op_name(op),
                                   ir::shape_str(st.loops)));
            body_.line(fmt::format("const {} {} = {};", ty, result, identity(op, t)));
            ex_.bind_stage(k, result);
            return;
        }
        barrier_if_needed(st);
        body_.line(
            fmt::format("// stage {}: {} over {}", k, ir::op_name(op), ir::shape_str(st.loops)));
        body_.line(fmt::format("{} {} = {};", ty, acc, identity(op, t)));
        thread_loop(st.loops, [&] {
            std::string v = ex_.emit(st.value);
            body_.line(fmt::format("{} = {};", acc, combine(op, t, acc, v)));
        });
        if (t == DType::Bool) {
            body_.line(fmt::format("const bool {} = __syncthreads_{}({}) != 0;", result,
                                   op == Op::ReduceMin ? "and" : "or", acc));
        } else {
            std::string h = fmt::format("kiln_block_{}_{}",
                                        op == Op::ReduceSum   ? "sum"
                                        : op == Op::ReduceMax ? "max"
                                                              : "min",
                                        dtype_name(t));
            ex_.need(h);
            body_.line(fmt::format("const {} {} = {}({});", ty, result, h, acc));
        }
        // The block reduction is a barrier: every access before it is complete.
        since_barrier_.clear();
        ex_.bind_stage(k, result);
    }

    /// Stage 0 of a grid reduction (cuda_source.h): every block reduces its slice, thread 0
    /// publishes the block's result, and the last block to arrive reduces the partials in
    /// index order (each thread a strided subset, then the block tree: the same bits every
    /// run) and goes on alone with the other stages.
    void render_grid_reduce(const ir::Stage& st) {
        Op op = check_reduce(0, st);
        DType t = st.value->dtype();
        const char* ty = cuda::register_type(t);
        std::string h = fmt::format("kiln_block_{}_{}",
                                    op == Op::ReduceSum   ? "sum"
                                    : op == Op::ReduceMax ? "max"
                                                          : "min",
                                    dtype_name(t));
        ex_.need(h);
        int64_t n = product(st.loops, "stage");
        barrier_if_needed(st);
        body_.line(fmt::format("// stage 0: {} over {} across the grid: block b reduces "
                               "iterations b * KILN_BLOCK + t, + KILN_GRID * KILN_BLOCK, ...",
                               ir::op_name(op), ir::shape_str(st.loops)));
        body_.line(fmt::format("{} a0 = {};", ty, identity(op, t)));
        // i + KILN_GRID * KILN_BLOCK stays below 2^32 for i < 2^31: unsigned cannot wrap.
        bool narrow = n < kNarrow;
        if (narrow)
            body_.line(fmt::format("for (unsigned i = blockIdx.x * KILN_BLOCK + threadIdx.x; "
                                   "i < {}u;\n         i += KILN_GRID * KILN_BLOCK) {{",
                                   n));
        else
            body_.line(
                fmt::format("for (long long i = (long long)blockIdx.x * KILN_BLOCK + threadIdx.x; "
                            "i < {}LL;\n         i += (long long)KILN_GRID * KILN_BLOCK) {{",
                            n));
        ++body_.indent;
        ex_.open_scope();
        declare_vars("i", st.loops, static_cast<int64_t>(kernel_.outer.size()), narrow, false);
        std::string v = ex_.emit(st.value);
        body_.line(fmt::format("a0 = {};", combine(op, t, "a0", v)));
        ex_.close_scope();
        --body_.indent;
        body_.line("}");
        body_.line(fmt::format("const {} r0 = {}(a0);", ty, h));
        body_.line("unsigned kiln_ticket = 0u;");
        body_.line("if (threadIdx.x == 0) {");
        body_.line("    kiln_partial[blockIdx.x] = r0;");
        body_.line("    __threadfence();  // the partial is visible before the count says so");
        body_.line("    kiln_ticket = atomicAdd(&kiln_arrived, 1u);");
        body_.line("}");
        body_.line("// The last block to arrive goes on; the others are done.");
        body_.line("if (!__syncthreads_or(kiln_ticket == KILN_GRID - 1u)) return;");
        body_.line("__threadfence();");
        body_.line(fmt::format("{} g0 = {};", ty, identity(op, t)));
        body_.line("for (unsigned j = threadIdx.x; j < KILN_GRID; j += KILN_BLOCK) {");
        body_.line(fmt::format("    const {0} w0 = ((volatile {0}*)kiln_partial)[j];", ty));
        body_.line(fmt::format("    g0 = {};", combine(op, t, "g0", "w0")));
        body_.line("}");
        body_.line(fmt::format("const {} s0 = {}(g0);", ty, h));
        body_.line("if (threadIdx.x == 0) kiln_arrived = 0u;  // for the next launch");
        since_barrier_.clear();
        ex_.bind_stage(0, "s0");
    }

    void render_block_store(int64_t k, const ir::Stage& st) {
        check_store(k, st);
        if (kernel_.buffers[static_cast<size_t>(st.buffer)].numel == 0 ||
            product(st.loops, "stage") == 0) {
            body_.line(fmt::format("// stage {}: store into b{} over {}: nothing to store", k,
                                   st.buffer, ir::shape_str(st.loops)));
            return;
        }
        barrier_if_needed(st);
        body_.line(fmt::format("// stage {}: store into b{} over {}", k, st.buffer,
                               ir::shape_str(st.loops)));
        if (st.loops.empty()) {
            // Once per point: thread 0.
            body_.line("if (threadIdx.x == 0) {");
            ++body_.indent;
            ex_.open_scope();
            emit_store(st);
            ex_.close_scope();
            --body_.indent;
            body_.line("}");
        } else {
            thread_loop(st.loops, [&] { emit_store(st); });
        }
        ex_.forget_loads_of(st.buffer);
    }

    void render_block_stages() {
        for (size_t k = 0; k < kernel_.stages.size(); ++k) {
            const ir::Stage& st = kernel_.stages[k];
            if (!st.value)
                throw InternalError(fmt::format("cuda codegen: stage {} has no value", k));
            if (k == 0 && launch_.grid_blocks > 0)
                render_grid_reduce(st);
            else if (st.kind == ir::StageKind::Reduce)
                render_reduce(static_cast<int64_t>(k), st);
            else
                render_block_store(static_cast<int64_t>(k), st);
        }
        // The next point's stages must not overwrite what this point's threads still read:
        // points touch disjoint elements, so only the block reductions' scratch is shared, and
        // each reduction ends with its own barrier.
    }

    const ir::LoopKernel& kernel_;
    std::string name_;
    CudaLaunch launch_;
    CudaWriter body_;
    ExprRenderer ex_;
    std::vector<std::pair<Access, ir::Shape>> since_barrier_;
};

}  // namespace

CudaLaunch launch_shape(const ir::LoopKernel& kernel) {
    CudaLaunch l;
    int64_t most = 1;
    for (const ir::Stage& st : kernel.stages) most = std::max(most, product(st.loops, "stage"));
    // Short loops (pooling windows, rows of 10 classes) run in the point's thread, as on the
    // CPU: a block for them would leave most of its warp idle. Longer ones split over a block.
    l.block_per_point = most > kSerialLoops;
    if (l.block_per_point) {
        // Enough threads for the longest stage, rounded to whole warps (rows of 10 elements
        // get one warp, not 256 threads that mostly wait).
        l.block_threads = 32;
        while (l.block_threads < kMaxBlock && l.block_threads < most) l.block_threads *= 2;
    } else {
        l.block_threads = kPointBlock;
    }
    l.outer0 = kernel.outer.empty() ? 1 : kernel.outer[0];
    if (l.outer0 < 0) throw InternalError("cuda codegen: negative outer extent");
    if (kernel.outer.size() > 1)
        l.points_per_outer0 =
            product(ir::Shape(kernel.outer.begin() + 1, kernel.outer.end()), "outer");
    l.points_per_thread = vector_width(kernel, l.block_per_point);
    l.grid_blocks = grid_blocks(kernel, l);
    return l;
}

int64_t launch_points(const CudaLaunch& launch, int64_t begin, int64_t end) {
    int64_t lo = std::max<int64_t>(begin, 0), hi = std::min(end, launch.outer0);
    return lo >= hi ? 0 : (hi - lo) * launch.points_per_outer0;
}

int64_t launch_grid(const CudaLaunch& launch, int64_t points, int64_t max_blocks) {
    if (points <= 0) return 0;
    if (launch.grid_blocks > 0) return launch.grid_blocks;  // exactly: the source's KILN_GRID
    int64_t blocks = launch.block_per_point
                         ? points
                         : (points - 1) / (launch.block_threads * launch.points_per_thread) + 1;
    int64_t cap = std::clamp<int64_t>(max_blocks, 1, std::numeric_limits<int32_t>::max());
    return std::min(blocks, cap);
}

std::string render_cuda(const ir::LoopKernel& kernel, const std::string& name) {
    if (!is_identifier(name))
        throw InternalError("cuda codegen: kernel name '" + name + "' is not a C identifier");
    return KernelRenderer(kernel, name).render();
}

}  // namespace kiln::codegen
