#pragma once
/// A tiny independent host-side model of the frontend's semantics (broadcasting, reductions,
/// views, matmul's rules), written directly from PyTorch's definitions. The reference
/// interpreter evaluates the *recorded* IR, so it cannot see a frontend that records the wrong
/// graph (a wrong permutation, a wrong promotion); these helpers give an expectation that does
/// not go through the IR at all. Values are doubles, row-major, in an ir::RefTensor whose dtype
/// is the dtype PyTorch would give the result.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "ir/interpreter.h"

namespace kiln::test::host {

using ir::RefTensor;
using ir::Shape;

/// Row-major strides of `shape`.
inline std::vector<int64_t> strides_of(const Shape& shape) {
    std::vector<int64_t> s(shape.size(), 1);
    for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
    return s;
}

inline int64_t count(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

/// The multi-index of flat position `flat` in `shape`.
inline std::vector<int64_t> unflatten(int64_t flat, const Shape& shape) {
    std::vector<int64_t> idx(shape.size());
    for (size_t i = shape.size(); i-- > 0;) {
        idx[i] = shape[i] == 0 ? 0 : flat % shape[i];
        flat = shape[i] == 0 ? 0 : flat / shape[i];
    }
    return idx;
}

/// Value of `t` at the multi-index `idx` of a shape that `t` broadcasts to (numpy rules:
/// leading dims are missing, size-1 dims repeat).
inline double at_broadcast(const RefTensor& t, const std::vector<int64_t>& idx) {
    size_t lead = idx.size() - t.shape.size();
    int64_t flat = 0;
    std::vector<int64_t> st = strides_of(t.shape);
    for (size_t d = 0; d < t.shape.size(); ++d)
        flat += (t.shape[d] == 1 ? 0 : idx[lead + d]) * st[d];
    return t.values[static_cast<size_t>(flat)];
}

inline Shape broadcast(const Shape& a, const Shape& b) {
    size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        out[i] = da == 1 ? db : da;
    }
    return out;
}

inline RefTensor map(const RefTensor& a, DType out, const std::function<double(double)>& f) {
    RefTensor r{out, a.shape, {}};
    for (double v : a.values) r.values.push_back(f(v));
    return r;
}

inline RefTensor zip(const RefTensor& a, const RefTensor& b, DType out,
                     const std::function<double(double, double)>& f) {
    RefTensor r{out, broadcast(a.shape, b.shape), {}};
    int64_t n = count(r.shape);
    for (int64_t i = 0; i < n; ++i) {
        auto idx = unflatten(i, r.shape);
        r.values.push_back(f(at_broadcast(a, idx), at_broadcast(b, idx)));
    }
    return r;
}

inline RefTensor zip3(const RefTensor& a, const RefTensor& b, const RefTensor& c, DType out,
                      const std::function<double(double, double, double)>& f) {
    RefTensor r{out, broadcast(broadcast(a.shape, b.shape), c.shape), {}};
    int64_t n = count(r.shape);
    for (int64_t i = 0; i < n; ++i) {
        auto idx = unflatten(i, r.shape);
        r.values.push_back(f(at_broadcast(a, idx), at_broadcast(b, idx), at_broadcast(c, idx)));
    }
    return r;
}

/// `a` broadcast to `shape` (expand).
inline RefTensor expand(const RefTensor& a, const Shape& shape) {
    RefTensor r{a.dtype, shape, {}};
    int64_t n = count(shape);
    for (int64_t i = 0; i < n; ++i) r.values.push_back(at_broadcast(a, unflatten(i, shape)));
    return r;
}

/// Folds `f` over `dims` (possibly negative; empty = all) starting from `init`, then applies
/// `post(acc, n)` with the number of reduced elements.
inline RefTensor reduce(
    const RefTensor& a, std::vector<int64_t> dims, bool keepdim, DType out, double init,
    const std::function<double(double, double)>& f,
    const std::function<double(double, int64_t)>& post = [](double acc, int64_t) { return acc; }) {
    int64_t rank = static_cast<int64_t>(a.shape.size());
    std::vector<bool> red(a.shape.size(), dims.empty());
    for (int64_t d : dims) red[static_cast<size_t>(d < 0 ? d + rank : d)] = true;
    Shape kept;
    int64_t reduced = 1;
    for (size_t d = 0; d < a.shape.size(); ++d) {
        kept.push_back(red[d] ? 1 : a.shape[d]);
        if (red[d]) reduced *= a.shape[d];
    }
    std::vector<double> acc(static_cast<size_t>(count(kept)), init);
    std::vector<int64_t> ks = strides_of(kept);
    for (int64_t i = 0; i < count(a.shape); ++i) {
        auto idx = unflatten(i, a.shape);
        int64_t o = 0;
        for (size_t d = 0; d < idx.size(); ++d) o += (red[d] ? 0 : idx[d]) * ks[d];
        acc[static_cast<size_t>(o)] =
            f(acc[static_cast<size_t>(o)], a.values[static_cast<size_t>(i)]);
    }
    RefTensor r{out, {}, {}};
    for (size_t d = 0; d < a.shape.size(); ++d)
        if (keepdim || !red[d]) r.shape.push_back(kept[d]);
    for (double v : acc) r.values.push_back(post(v, reduced));
    return r;
}

/// out dim i = in dim perm[i].
inline RefTensor permute(const RefTensor& a, const std::vector<int64_t>& perm) {
    Shape shape;
    for (int64_t p : perm) shape.push_back(a.shape[static_cast<size_t>(p)]);
    RefTensor r{a.dtype, shape, {}};
    std::vector<int64_t> st = strides_of(a.shape);
    for (int64_t i = 0; i < count(shape); ++i) {
        auto idx = unflatten(i, shape);
        int64_t src = 0;
        for (size_t d = 0; d < perm.size(); ++d) src += idx[d] * st[static_cast<size_t>(perm[d])];
        r.values.push_back(a.values[static_cast<size_t>(src)]);
    }
    return r;
}

/// Python's a[..., start:end:step, ...] on `dim` (step > 0; start/end clamped like Python).
inline RefTensor slice(const RefTensor& a, int64_t dim, int64_t start, int64_t end,
                       int64_t step = 1) {
    int64_t size = a.shape[static_cast<size_t>(dim)];
    auto fix = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + size : v, 0, size); };
    std::vector<int64_t> picks;
    for (int64_t i = fix(start); i < fix(end); i += step) picks.push_back(i);
    Shape shape = a.shape;
    shape[static_cast<size_t>(dim)] = static_cast<int64_t>(picks.size());
    RefTensor r{a.dtype, shape, {}};
    std::vector<int64_t> st = strides_of(a.shape);
    for (int64_t i = 0; i < count(shape); ++i) {
        auto idx = unflatten(i, shape);
        idx[static_cast<size_t>(dim)] = picks[static_cast<size_t>(idx[static_cast<size_t>(dim)])];
        int64_t src = 0;
        for (size_t d = 0; d < idx.size(); ++d) src += idx[d] * st[d];
        r.values.push_back(a.values[static_cast<size_t>(src)]);
    }
    return r;
}

inline RefTensor flip(const RefTensor& a, const std::vector<int64_t>& dims) {
    RefTensor r{a.dtype, a.shape, {}};
    int64_t rank = static_cast<int64_t>(a.shape.size());
    std::vector<int64_t> st = strides_of(a.shape);
    for (int64_t i = 0; i < count(a.shape); ++i) {
        auto idx = unflatten(i, a.shape);
        for (int64_t d : dims) {
            size_t k = static_cast<size_t>(d < 0 ? d + rank : d);
            idx[k] = a.shape[k] - 1 - idx[k];
        }
        int64_t src = 0;
        for (size_t d = 0; d < idx.size(); ++d) src += idx[d] * st[d];
        r.values.push_back(a.values[static_cast<size_t>(src)]);
    }
    return r;
}

inline RefTensor reshape(RefTensor a, const Shape& shape) {
    a.shape = shape;
    return a;
}

inline RefTensor cast(RefTensor a, DType to) {
    a = map(a, to, [&](double v) {
        switch (to) {
        case DType::Float32: return static_cast<double>(static_cast<float>(v));
        case DType::Float64: return v;
        case DType::Bool: return v != 0 ? 1.0 : 0.0;
        case DType::Int32: return static_cast<double>(static_cast<int32_t>(std::trunc(v)));
        case DType::Int64: return static_cast<double>(static_cast<int64_t>(std::trunc(v)));
        }
        return v;
    });
    return a;
}

/// cat along `dim` (all tensors already of the result dtype `out`).
inline RefTensor cat(const std::vector<RefTensor>& parts, int64_t dim, DType out) {
    Shape shape = parts[0].shape;
    size_t d = static_cast<size_t>(dim < 0 ? dim + static_cast<int64_t>(shape.size()) : dim);
    shape[d] = 0;
    for (const RefTensor& p : parts) shape[d] += p.shape[d];
    RefTensor r{out, shape, {}};
    for (int64_t i = 0; i < count(shape); ++i) {
        auto idx = unflatten(i, shape);
        for (const RefTensor& p : parts) {
            if (idx[d] < p.shape[d]) {
                int64_t src = 0;
                auto st = strides_of(p.shape);
                for (size_t k = 0; k < idx.size(); ++k) src += idx[k] * st[k];
                r.values.push_back(p.values[static_cast<size_t>(src)]);
                break;
            }
            idx[d] -= p.shape[d];
        }
    }
    return r;
}

/// torch.matmul's rules: 1-D operands get a dim added (and removed from the result), batch
/// dims broadcast. `out` is the result dtype.
inline RefTensor matmul(const RefTensor& a, const RefTensor& b, DType out) {
    Shape sa = a.shape, sb = b.shape;
    bool av = sa.size() == 1, bv = sb.size() == 1;
    if (av) sa.insert(sa.begin(), 1);
    if (bv) sb.push_back(1);
    int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
    Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    Shape batch = broadcast(ba, bb);
    RefTensor A{a.dtype, sa, a.values}, B{b.dtype, sb, b.values};
    Shape full = batch;
    full.push_back(m);
    full.push_back(n);
    RefTensor r{out, {}, {}};
    for (int64_t i = 0; i < count(full); ++i) {
        auto idx = unflatten(i, full);
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
            auto ia = idx, ib = idx;
            ia[ia.size() - 1] = p;  // [.., m, p]
            ib[ib.size() - 2] = p;  // [.., p, n]
            s += at_broadcast(A, ia) * at_broadcast(B, ib);
        }
        r.values.push_back(s);
    }
    r.shape = batch;
    if (!av) r.shape.push_back(m);
    if (!bv) r.shape.push_back(n);
    return r;
}

}  // namespace kiln::test::host
