#include "passes/index_expr.h"

#include <algorithm>
#include <bitset>
#include <unordered_map>
#include <vector>

namespace kiln::passes::index {
namespace {

using ir::Node;
using ir::Op;

bool is_c(const NodeRef& e) { return e->op() == Op::Const; }
int64_t cval(const NodeRef& e) { return ir::const_int(*e); }

/// Index expressions are DAGs (x / c and x % c share x, and chains of reshapes share deeper),
/// so facts about a node are memoized per node: walking them as trees is exponential. The cache
/// is per thread (lowering runs on several at once) and dropped when it grows large. Entries
/// hold weak references: a dead node's address may be reused, and then its entry is stale; and
/// the cache never releases nodes (it may be destroyed at thread exit, after the interner's
/// per-thread state).
struct Facts {
    Range range;
    std::bitset<256> vars;  ///< loop variables the expression mentions (index < 256)
    int64_t max_var = -1;
};
struct Entry {
    std::weak_ptr<const Node> node;
    Facts facts;
};
struct FactCache {
    std::unordered_map<const Node*, Entry> entries;
    const Facts* find(const NodeRef& e) const {
        auto it = entries.find(e.get());
        if (it == entries.end() || it->second.node.lock() != e) return nullptr;
        return &it->second.facts;
    }
};

const Facts& facts(const NodeRef& e);

Facts compute_facts(const NodeRef& e) {
    Facts f;
    for (const NodeRef& in : e->inputs()) {
        const Facts& i = facts(in);
        f.vars |= i.vars;
        f.max_var = std::max(f.max_var, i.max_var);
    }
    if (e->op() == Op::LoopVar) {
        int64_t v = e->attr_as<ir::VarAttr>().index;
        if (v >= 0 && v < 256) f.vars.set(static_cast<size_t>(v));
        f.max_var = v;
    }
    // Saturating bounds: a product of wide ranges must not overflow (undefined behaviour).
    auto sat_add = [](int64_t a, int64_t b) {
        int64_t r;
        return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX / 4 : INT64_MIN / 4) : r;
    };
    auto sat_mul = [](int64_t a, int64_t b) {
        int64_t r;
        return __builtin_mul_overflow(a, b, &r)
                   ? ((a < 0) != (b < 0) ? INT64_MIN / 4 : INT64_MAX / 4)
                   : r;
    };
    const Range unknown{INT64_MIN / 4, INT64_MAX / 4};
    switch (e->op()) {
    case Op::Const: f.range = {cval(e), cval(e)}; break;
    case Op::LoopVar: f.range = {0, e->attr_as<ir::VarAttr>().extent - 1}; break;
    case Op::Add: {
        Range a = facts(e->input(0)).range, b = facts(e->input(1)).range;
        f.range = {sat_add(a.lo, b.lo), sat_add(a.hi, b.hi)};
        break;
    }
    case Op::Sub: {
        Range a = facts(e->input(0)).range, b = facts(e->input(1)).range;
        f.range = {sat_add(a.lo, -b.hi), sat_add(a.hi, -b.lo)};
        break;
    }
    case Op::Mul: {
        Range a = facts(e->input(0)).range, b = facts(e->input(1)).range;
        int64_t c[4] = {sat_mul(a.lo, b.lo), sat_mul(a.lo, b.hi), sat_mul(a.hi, b.lo),
                        sat_mul(a.hi, b.hi)};
        f.range = {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
        break;
    }
    case Op::Div: {
        Range a = facts(e->input(0)).range;
        int64_t c = cval(e->input(1));
        f.range = a.lo >= 0 ? Range{a.lo / c, a.hi / c} : unknown;
        break;
    }
    case Op::Mod: {
        Range a = facts(e->input(0)).range;
        int64_t c = cval(e->input(1));
        f.range =
            a.lo >= 0 ? Range{a.hi < c ? a.lo : 0, std::min(a.hi, c - 1)} : Range{-(c - 1), c - 1};
        break;
    }
    default: f.range = unknown; break;
    }
    return f;
}

const Facts& facts(const NodeRef& e) {
    thread_local FactCache cache;
    if (const Facts* f = cache.find(e)) return *f;
    if (cache.entries.size() >= (1u << 16)) cache.entries.clear();
    // Inputs first (an iterative walk: a deep expression must not recurse once per node).
    std::vector<std::pair<const NodeRef*, size_t>> stack{{&e, 0}};
    while (!stack.empty()) {
        auto& [ref, next] = stack.back();
        const NodeRef& n = *ref;
        if (next < n->inputs().size()) {
            const NodeRef& in = n->inputs()[next++];
            if (!cache.find(in)) stack.push_back({&in, 0});
            continue;
        }
        if (!cache.find(n)) {
            Facts f = compute_facts(n);
            cache.entries.insert_or_assign(n.get(), Entry{n, f});
        }
        stack.pop_back();
    }
    return *cache.find(e);
}

/// A sum as constant + Σ coef * term (terms are non-constant, non-add expressions).
struct Linear {
    int64_t constant = 0;
    std::vector<std::pair<NodeRef, int64_t>> terms;
};

void collect(const NodeRef& e, int64_t scale, Linear& out) {
    if (is_c(e)) {
        out.constant += scale * cval(e);
    } else if (e->op() == Op::Add) {
        collect(e->input(0), scale, out);
        collect(e->input(1), scale, out);
    } else if (e->op() == Op::Mul && is_c(e->input(1))) {
        collect(e->input(0), scale * cval(e->input(1)), out);
    } else {
        for (auto& [t, c] : out.terms) {
            if (t == e) {
                c += scale;
                return;
            }
        }
        out.terms.push_back({e, scale});
    }
}

Linear linear(const NodeRef& e) {
    Linear l;
    collect(e, 1, l);
    return l;
}

NodeRef raw(Op op, const NodeRef& a, const NodeRef& b) {
    return Node::make(op, DType::Int64, {}, {a, b});
}

/// Re-linearizing a delinearized index: with x >= 0,
///   (x / c) * k*c       + (x % c) * k  ->  x * k
///   ((x / c) % m) * k*c + (x % c) * k  ->  (x % (c*m)) * k
void merge_divmod(Linear& l) {
    for (auto& [hi, khi] : l.terms) {
        if (khi == 0) continue;
        NodeRef x;
        int64_t c = 0, m = 0;
        if (hi->op() == Op::Div) {
            x = hi->input(0);
            c = cval(hi->input(1));
        } else if (hi->op() == Op::Mod && hi->input(0)->op() == Op::Div) {
            x = hi->input(0)->input(0);
            c = cval(hi->input(0)->input(1));
            m = cval(hi->input(1));
        } else {
            continue;
        }
        for (auto& [lo, klo] : l.terms) {
            if (lo->op() != Op::Mod || klo == 0 || lo->input(0) != x || cval(lo->input(1)) != c ||
                khi != klo * c || range(x).lo < 0)
                continue;
            NodeRef merged = m ? raw(Op::Mod, x, constant(c * m)) : x;
            int64_t k = klo;
            khi = 0;
            klo = 0;
            collect(merged, k, l);
            merge_divmod(l);
            return;
        }
    }
}

/// Rebuilds a sum in a canonical order (terms ordered by first appearance, constant last).
NodeRef build(Linear l) {
    merge_divmod(l);
    NodeRef acc;
    for (const auto& [t, c] : l.terms) {
        if (c == 0) continue;
        NodeRef term = c == 1 ? t : raw(Op::Mul, t, constant(c));
        acc = acc ? raw(Op::Add, acc, term) : term;
    }
    if (!acc) return constant(l.constant);
    return l.constant ? raw(Op::Add, acc, constant(l.constant)) : acc;
}

}  // namespace

NodeRef constant(int64_t v) { return ir::make_int_const(v, DType::Int64); }

NodeRef var(int64_t index, int64_t extent) {
    if (extent <= 1) return constant(0);
    return Node::make(Op::LoopVar, DType::Int64, {}, {}, ir::VarAttr{index, extent});
}

NodeRef true_value() { return ir::make_int_const(1, DType::Bool); }
bool is_true(const NodeRef& b) { return is_c(b) && cval(b) != 0; }

Range range(const NodeRef& e) { return facts(e).range; }

NodeRef add(const NodeRef& a, const NodeRef& b) {
    Linear l = linear(a);
    collect(b, 1, l);
    return build(l);
}

NodeRef sub(const NodeRef& a, const NodeRef& b) {
    Linear l = linear(a);
    collect(b, -1, l);
    return build(l);
}

NodeRef mul(const NodeRef& a, int64_t c) {
    Linear l;
    collect(a, c, l);
    return build(l);
}

/// Splits a sum into the part whose coefficients are multiples of c and the rest; valid to
/// distribute over division when both parts are non-negative.
static bool split_multiple(const NodeRef& a, int64_t c, Linear& whole, Linear& rest) {
    Linear l = linear(a);
    for (auto& [t, k] : l.terms) {
        if (range(t).lo < 0 || k < 0) return false;
        // k t = (k / c) c t + (k % c) t: the first part is a multiple of c (17 t mod 16 = t mod 16).
        if (k / c) whole.terms.push_back({t, k / c});
        if (k % c) rest.terms.push_back({t, k % c});
    }
    whole.constant = (l.constant / c);
    rest.constant = l.constant % c;
    if (rest.constant < 0) {
        rest.constant += c;
        whole.constant -= 1;
    }
    return true;
}

/// a = t * g + rest with 0 <= rest < g and g dividing c (a flat index over a shape whose inner
/// extent g divides c): then a / c = t / (c / g) and a % c = (t % (c / g)) * g + rest.
static bool split_scaled(const NodeRef& a, int64_t c, NodeRef& t, int64_t& g, NodeRef& rest) {
    Linear l = linear(a);
    for (size_t i = 0; i < l.terms.size(); ++i) {
        auto [term, k] = l.terms[i];
        if (k <= 1 || c % k != 0 || range(term).lo < 0) continue;
        Linear others = l;
        others.terms.erase(others.terms.begin() + static_cast<std::ptrdiff_t>(i));
        NodeRef r = build(others);
        Range rr = range(r);
        if (rr.lo < 0 || rr.hi >= k) continue;
        t = term;
        g = k;
        rest = r;
        return true;
    }
    return false;
}

NodeRef div(const NodeRef& a, int64_t c) {
    if (c == 1) return a;
    Range r = range(a);
    if (r.lo >= 0 && r.hi < c) return constant(0);
    if (is_c(a)) return constant(cval(a) / c);
    if (r.lo >= 0) {
        if (a->op() == Op::Div) return div(a->input(0), cval(a->input(1)) * c);
        NodeRef t, r_;
        int64_t g = 0;
        if (split_scaled(a, c, t, g, r_)) return div(t, c / g);
        Linear whole, rest;
        if (split_multiple(a, c, whole, rest) && !whole.terms.empty()) {
            NodeRef q = build(whole);
            NodeRef rem = build(rest);
            Range rr = range(rem);
            if (rr.lo >= 0 && rr.hi < c) return q;
            // The rest's coefficients are all below c, so dividing it again makes progress: a
            // window read through a reshape, (28 i + j) / 56 with j < 28, becomes i / 2.
            return add(q, div(rem, c));
        }
    }
    return raw(Op::Div, a, constant(c));
}

NodeRef mod(const NodeRef& a, int64_t c) {
    if (c == 1) return constant(0);
    Range r = range(a);
    if (r.lo >= 0 && r.hi < c) return a;
    if (is_c(a)) return constant(cval(a) % c);
    if (r.lo >= 0) {
        if (a->op() == Op::Mod && cval(a->input(1)) % c == 0) return mod(a->input(0), c);
        NodeRef t, r_;
        int64_t g = 0;
        if (split_scaled(a, c, t, g, r_)) return add(mul(mod(t, c / g), g), r_);
        Linear whole, rest;
        if (split_multiple(a, c, whole, rest) && !whole.terms.empty()) return mod(build(rest), c);
    }
    return raw(Op::Mod, a, constant(c));
}

NodeRef less(const NodeRef& a, const NodeRef& b) {
    Range ra = range(a), rb = range(b);
    if (ra.hi < rb.lo) return true_value();
    if (ra.lo >= rb.hi) return ir::make_int_const(0, DType::Bool);
    return Node::make(Op::Lt, DType::Bool, {}, {a, b});
}

NodeRef logical_and(const NodeRef& a, const NodeRef& b) {
    if (is_true(a)) return b;
    if (is_true(b)) return a;
    if (is_c(a)) return a;  // false
    if (is_c(b)) return b;
    return Node::make(Op::And, DType::Bool, {}, {a, b});
}

int64_t stride_of(const NodeRef& e, int64_t index) {
    Linear l = linear(e);
    int64_t coefficient = 0;
    for (const auto& [t, k] : l.terms) {
        if (t->op() == Op::LoopVar && t->attr_as<ir::VarAttr>().index == index) coefficient += k;
        else if (uses_var(t, index)) return -1;
    }
    return coefficient;
}

bool uses_var(const NodeRef& e, int64_t index) {
    return index >= 0 && index < 256 && facts(e).vars.test(static_cast<size_t>(index));
}

int64_t max_var(const NodeRef& e) { return facts(e).max_var; }

}  // namespace kiln::passes::index
