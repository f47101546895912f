// The tests/ops harness (see check.h): reference vs realized comparison and random inputs.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "check.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include <catch2/catch.hpp>

#include "frontend/realize.h"
#include "frontend/tensor_impl.h"

namespace kiln::test {
namespace {

uint64_t make_base_seed() {
    if (const char* s = std::getenv("KILN_TEST_SEED"); s && *s)
        return std::strtoull(s, nullptr, 10);
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::mt19937& generator() {
    static std::mt19937 g(static_cast<std::mt19937::result_type>(base_seed()));
    return g;
}

/// FNV-1a, so a test's seed depends only on the base seed and its name (not on test order).
uint64_t name_hash(const std::string& s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

/// Reseeds both generators at the start of every test case; reports the seed after a failing
/// run so it can be repeated.
struct SeedListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        uint64_t s = base_seed() ^ name_hash(info.name);
        generator().seed(static_cast<std::mt19937::result_type>(s ^ (s >> 32)));
        kiln::manual_seed(s);
    }
    void testRunEnded(const Catch::TestRunStats& stats) override {
        if (stats.totals.assertions.failed > 0) {
            std::cerr << "tests/ops: base seed " << base_seed()
                      << " (rerun with KILN_TEST_SEED=" << base_seed() << ")\n";
        }
    }
};

std::string fmt_double(double v) {
    std::ostringstream os;
    os.precision(9);
    os << v;
    return os.str();
}

std::string index_str(int64_t flat, const Shape& shape) {
    std::string s = "[";
    std::vector<int64_t> idx(shape.size());
    for (size_t i = shape.size(); i-- > 0;) {
        idx[i] = shape[i] ? flat % shape[i] : 0;
        flat = shape[i] ? flat / shape[i] : 0;
    }
    for (size_t i = 0; i < idx.size(); ++i) s += (i ? "," : "") + std::to_string(idx[i]);
    return s + "]";
}

/// The value `v` as stored in `dtype` (the interpreter keeps f32 values in double precision;
/// the kernels round each f32 result, which also turns large values into inf).
double as_stored(double v, DType dtype) {
    return dtype == kFloat32 ? static_cast<double>(static_cast<float>(v)) : v;
}

}  // namespace

uint64_t base_seed() {
    static const uint64_t seed = make_base_seed();
    return seed;
}

std::mt19937& rng() { return generator(); }

RefTensor reference(const Tensor& t) {
    REQUIRE(t.defined());
    // Every input of a user graph is a realized buffer (placeholders only exist in the
    // realize driver's canonical graphs).
    auto out = ir::interpret({t.impl()->node()}, read_input);
    return out.at(0);
}

RefTensor realized(const Tensor& t) {
    RefTensor r{t.dtype(), t.sizes(), {}};
    auto put = [&](const auto& v) { r.values.assign(v.begin(), v.end()); };
    switch (t.dtype()) {
    case kFloat32: put(t.to_vector<float>()); break;
    case kFloat64: put(t.to_vector<double>()); break;
    case kInt32: put(t.to_vector<int32_t>()); break;
    case kInt64: put(t.to_vector<int64_t>()); break;
    case kBool: {
        std::vector<bool> b = t.to_vector<bool>();
        for (bool x : b) r.values.push_back(x ? 1 : 0);
        break;
    }
    }
    return r;
}

RefTensor values_of(const Tensor& t) {
    // An input node's buffer is read directly (to_vector would do the same after a no-op
    // realize); this keeps reference() independent of the realize driver.
    ir::NodeRef n = t.impl()->node();
    if (n->op() != ir::Op::Input) return realized(t);
    return read_input(*n);
}

RefTensor read_input(const ir::Node& node) {
    const ir::Node* n = &node;
    auto buf = detail::buffer_of(*n);
    if (!buf->device().is_cpu()) buf = runtime::copy_to_device(*buf, kCPU);  // waits for it
    RefTensor r{n->dtype(), n->shape(), {}};
    r.values.resize(static_cast<size_t>(buf->numel()));
    const void* p = buf->data();
    for (size_t i = 0; i < r.values.size(); ++i) {
        switch (n->dtype()) {
        case kFloat32: r.values[i] = static_cast<const float*>(p)[i]; break;
        case kFloat64: r.values[i] = static_cast<const double*>(p)[i]; break;
        case kInt32: r.values[i] = static_cast<double>(static_cast<const int32_t*>(p)[i]); break;
        case kInt64: r.values[i] = static_cast<double>(static_cast<const int64_t*>(p)[i]); break;
        case kBool: r.values[i] = static_cast<const uint8_t*>(p)[i] != 0 ? 1 : 0; break;
        }
    }
    return r;
}

RefTensor ref(DType dtype, Shape shape, std::vector<double> values) {
    return RefTensor{dtype, std::move(shape), std::move(values)};
}

bool has_f32(const Tensor& t) {
    for (const ir::Node* n : ir::topo_order({t.impl()->node()}))
        if (n->dtype() == kFloat32) return true;
    return false;
}

std::string compare(const RefTensor& want, const RefTensor& got, Tol tol, bool f32_graph) {
    if (want.dtype != got.dtype) {
        return std::string("dtype: got ") + dtype_name(got.dtype) + ", want " +
               dtype_name(want.dtype);
    }
    if (want.shape != got.shape) {
        return "shape: got " + ir::shape_str(got.shape) + ", want " + ir::shape_str(want.shape);
    }
    if (want.values.size() != got.values.size()) {
        return "element count: got " + std::to_string(got.values.size()) + ", want " +
               std::to_string(want.values.size());
    }
    bool fl = is_floating(want.dtype);
    double rtol = f32_graph ? 1e-5 : 1e-12;
    double atol = f32_graph ? 1e-6 : 1e-13;
    double mag = 1;
    if (tol.terms > 1) {
        for (double v : want.values)
            if (std::isfinite(v)) mag = std::max(mag, std::fabs(v));
    }
    double factor = tol.scale * std::sqrt(static_cast<double>(std::max<int64_t>(tol.terms, 1)));
    for (size_t i = 0; i < want.values.size(); ++i) {
        double w = as_stored(want.values[i], want.dtype);
        double g = got.values[i];
        bool ok;
        std::string why;
        if (!fl) {
            ok = w == g;
        } else if (std::isnan(w) || std::isnan(g)) {
            ok = std::isnan(w) && std::isnan(g);
        } else if (std::isinf(w) || std::isinf(g)) {
            ok = w == g;
        } else {
            double bound = factor * (rtol * std::fabs(w) + atol * mag);
            ok = std::fabs(w - g) <= bound;
            if (!ok)
                why = " (|diff| " + fmt_double(std::fabs(w - g)) + " > " + fmt_double(bound) + ")";
        }
        if (!ok) {
            return "value at " + index_str(static_cast<int64_t>(i), want.shape) + " (flat " +
                   std::to_string(i) + "): got " + fmt_double(g) + ", want " + fmt_double(w) + why;
        }
    }
    return "";
}

std::string desc(const Tensor& t) {
    return std::string(dtype_name(t.dtype())) + ir::shape_str(t.sizes());
}

RefTensor check(const Tensor& t, const std::string& what, Tol tol) {
    RefTensor want = reference(t);
    bool f32 = has_f32(t);
    std::string d = desc(t);
    RefTensor got = realized(t);
    std::string err = compare(want, got, tol, f32);
    if (!err.empty()) {
        FAIL_CHECK(what << " -> " << d << ": realized vs reference interpreter: " << err
                        << " [seed " << base_seed() << "]");
    }
    return got;
}

RefTensor check(const Tensor& t, const RefTensor& expected, const std::string& what, Tol tol) {
    bool f32 = has_f32(t);
    RefTensor got = check(t, what, tol);
    std::string err = compare(expected, got, tol, f32);
    if (!err.empty()) {
        FAIL_CHECK(what << " -> " << desc(t) << ": realized vs host expectation: " << err
                        << " [seed " << base_seed() << "]");
    }
    return got;
}

Tensor uniform(const Shape& shape, DType dtype, double lo, double hi) {
    int64_t n = ir::numel(shape);
    std::mt19937& g = rng();
    switch (dtype) {
    case kFloat32: {
        std::uniform_real_distribution<float> d(static_cast<float>(lo), static_cast<float>(hi));
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) x = d(g);
        return kiln::tensor(v, shape);
    }
    case kFloat64: {
        std::uniform_real_distribution<double> d(lo, hi);
        std::vector<double> v(static_cast<size_t>(n));
        for (double& x : v) x = d(g);
        return kiln::tensor(v, shape);
    }
    case kInt32: {
        std::uniform_int_distribution<int32_t> d(static_cast<int32_t>(lo),
                                                 static_cast<int32_t>(hi));
        std::vector<int32_t> v(static_cast<size_t>(n));
        for (int32_t& x : v) x = d(g);
        return kiln::tensor(v, shape);
    }
    case kInt64: {
        std::uniform_int_distribution<int64_t> d(static_cast<int64_t>(lo),
                                                 static_cast<int64_t>(hi));
        std::vector<int64_t> v(static_cast<size_t>(n));
        for (int64_t& x : v) x = d(g);
        return kiln::tensor(v, shape);
    }
    case kBool: {
        std::bernoulli_distribution d(0.5);
        std::vector<bool> v(static_cast<size_t>(n));
        for (size_t i = 0; i < v.size(); ++i) v[i] = d(g);
        return kiln::tensor(v, shape);
    }
    }
    return {};
}

Tensor normal(const Shape& shape, DType dtype, double mean, double stddev) {
    std::normal_distribution<double> d(mean, stddev);
    int64_t n = ir::numel(shape);
    if (dtype == kFloat32) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) x = static_cast<float>(d(rng()));
        return kiln::tensor(v, shape);
    }
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = d(rng());
    return kiln::tensor(v, shape, dtype);
}

Tensor make(const std::vector<double>& values, const Shape& shape, DType dtype) {
    return kiln::tensor(values, shape, dtype);
}

Tensor random_of(const Shape& shape, DType dtype) {
    return is_floating(dtype) ? uniform(shape, dtype, -3, 3) : uniform(shape, dtype, -9, 9);
}

CATCH_REGISTER_LISTENER(SeedListener)

}  // namespace kiln::test
