// Kiln's own CUDA kernels on the fake stack: graphs go through the real pass pipeline, every
// kernel is rendered by codegen::render_cuda, compiled by the fake NVRTC, loaded and launched by
// the fake driver as codegen/cuda/cuda_source.h's launch contract says (here in two pieces of the
// outer range and with a small grid, so clamping and grid-stride loops run too), and the outputs
// are compared with the same tensors realized on the CPU.
#include <cmath>
#include <cstring>
#include <source_location>

#include <fmt/format.h>

#include "codegen/cuda/cuda_source.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "kiln/kiln.h"
#include "passes/pipeline.h"
#include "selftest.h"

using namespace fake_test;

namespace {

using kiln::Tensor;

/// A realized random input (a placeholder of the canonical graph, as user data would be).
Tensor input(std::vector<int64_t> shape, kiln::DType dtype = kiln::kFloat32) {
    Tensor t = kiln::randn(std::move(shape), dtype);
    kiln::realize({t});
    return t;
}

/// Compiles and launches one loop kernel over program buffers `device`.
void launch_kernel(const kiln::ir::KernelStep& step, const std::vector<CUdeviceptr>& device,
                   int& launches) {
    const kiln::ir::LoopKernel& k = step.kernel;
    std::string name = fmt::format("kiln_{}_{:016x}", k.name,
                                   std::hash<std::string>{}(kiln::ir::print_loop_kernel(k)));
    std::string source = kiln::codegen::render_cuda(k, name);
    INFO("kernel source:\n" << source);
    Handle f = load_kernel(source, name);
    kiln::codegen::CudaLaunch shape = kiln::codegen::launch_shape(k);
    std::vector<CUdeviceptr> ptrs;
    for (int64_t b : step.buffers) ptrs.push_back(device[static_cast<size_t>(b)]);
    const long long* sizes = nullptr;
    // [0, half) then [half, outer0 + 5): the second range is clamped by the kernel.
    int64_t half = shape.outer0 / 2;
    for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, half}, {half, shape.outer0 + 5}}) {
        int64_t points = kiln::codegen::launch_points(shape, begin, end);
        if (points == 0) continue;
        auto grid = static_cast<unsigned>(kiln::codegen::launch_grid(shape, points, 7));
        long long b = begin, e = end;
        std::vector<void*> params;
        for (CUdeviceptr& p : ptrs) params.push_back(&p);
        params.push_back(&sizes);
        params.push_back(&b);
        params.push_back(&e);
        REQUIRE(api().LaunchKernel(f, grid, 1, 1, static_cast<unsigned>(shape.block_threads), 1, 1,
                                   0, nullptr, params.data(), nullptr) == 0);
        ++launches;
    }
}

/// Runs the graphs of `roots` on the fake device and compares every output with the CPU's.
/// Returns the number of kernel launches.
int check_against_cpu(const std::vector<Tensor>& roots, const std::string& what) {
    INFO(what);
    init_context();
    std::vector<kiln::ir::NodeRef> nodes;
    for (const Tensor& t : roots)
        nodes.push_back(kiln::node_of(t, "test", std::source_location::current()));
    std::vector<std::shared_ptr<kiln::runtime::Buffer>> inputs;
    kiln::passes::PipelineResult r =
        kiln::passes::run_pipeline(kiln::detail::canonical_graph(nodes, inputs));
    const kiln::ir::Program& prog = r.program;

    std::vector<CUdeviceptr> device(prog.buffers.size(), 0);
    for (size_t i = 0; i < prog.buffers.size(); ++i) {
        const kiln::ir::ProgramBuffer& b = prog.buffers[i];
        size_t numel = 1;
        for (int64_t e : b.shape) numel *= static_cast<size_t>(e);
        size_t bytes = numel * kiln::dtype_size(b.dtype);
        if (bytes == 0) continue;
        REQUIRE(api().MemAlloc(&device[i], bytes) == 0);
        if (b.kind == kiln::ir::BufferKind::Input) {
            const auto& in = inputs[static_cast<size_t>(b.index)];
            REQUIRE(in->bytes() == bytes);
            REQUIRE(api().MemcpyHtoD(device[i], in->data(), bytes, nullptr) == 0);
        }
    }
    int launches = 0;
    for (const kiln::ir::Step& step : prog.steps) {
        const auto* k = std::get_if<kiln::ir::KernelStep>(&step);
        REQUIRE(k != nullptr);  // these graphs need no matmul, gather or convolution
        launch_kernel(*k, device, launches);
    }
    for (size_t i = 0; i < roots.size(); ++i) {
        size_t b = static_cast<size_t>(prog.outputs[i]);
        size_t n = static_cast<size_t>(roots[i].numel());
        INFO("output " << i << " (" << kiln::dtype_name(roots[i].dtype()) << ")");
        switch (roots[i].dtype()) {
        case kiln::kFloat32:
        case kiln::kFloat64: {
            bool f32 = roots[i].dtype() == kiln::kFloat32;
            std::vector<double> cpu, gpu;
            if (f32) {
                for (float v : roots[i].to_vector<float>()) cpu.push_back(v);
                for (float v : download<float>(device[b], cpu.size())) gpu.push_back(v);
            } else {
                cpu = roots[i].to_vector<double>();
                gpu = download<double>(device[b], cpu.size());
            }
            size_t bad = 0;
            for (size_t j = 0; j < cpu.size(); ++j) {
                double tol = (f32 ? 2e-5 : 1e-12) * std::max(1.0, std::abs(cpu[j]));
                bool same = std::isnan(cpu[j])
                                ? std::isnan(gpu[j])
                                : cpu[j] == gpu[j] || std::abs(cpu[j] - gpu[j]) <= tol;
                if (!same && bad++ < 5)
                    UNSCOPED_INFO("element " << j << ": cpu " << cpu[j] << ", fake CUDA "
                                             << gpu[j]);
            }
            CHECK(bad == 0);
            break;
        }
        case kiln::kInt32:
            CHECK(download<int32_t>(device[b], n) == roots[i].to_vector<int32_t>());
            break;
        case kiln::kInt64:
            CHECK(download<int64_t>(device[b], n) == roots[i].to_vector<int64_t>());
            break;
        case kiln::kBool: {
            std::vector<unsigned char> gpu = download<unsigned char>(device[b], n);
            std::vector<bool> cpu = roots[i].to_vector<bool>();
            size_t bad = 0;
            for (size_t j = 0; j < cpu.size(); ++j) bad += (gpu[j] != 0) != cpu[j] || gpu[j] > 1;
            CHECK(bad == 0);
            break;
        }
        }
    }
    for (CUdeviceptr p : device)
        if (p) CHECK(api().MemFree(p) == 0);
    return launches;
}

}  // namespace

TEST_CASE("fake CUDA runs Kiln's rendered kernels: block kernels (softmax, norms, sums)") {
    Tensor x = input({37, 300}), y = input({24, 130}, kiln::kFloat64);
    check_against_cpu({kiln::softmax(x, 1)}, "softmax rows (block per point)");
    check_against_cpu({kiln::log_softmax(y, 1), kiln::logsumexp(y, {1})}, "log_softmax f64");
    check_against_cpu({kiln::layer_norm(x, {300})}, "layer_norm");
    check_against_cpu({y.sum({1}), y.amax({0}), y.amin({1})}, "reductions");
    Tensor i = (input({40, 90}, kiln::kFloat32) * 10.0).to(kiln::kInt64);
    kiln::realize({i});
    check_against_cpu({i.sum({1}), i.amax({1})}, "integer reductions");
}

TEST_CASE("fake CUDA runs Kiln's rendered kernels: elementwise (per-point) kernels") {
    Tensor x = input({129, 37}), y = input({129, 37});
    check_against_cpu({kiln::exp(x) + kiln::tanh(y) * kiln::sigmoid(x) - kiln::gelu(y),
                       kiln::maximum(x, y) / (kiln::abs(y) + 1.0)},
                      "elementwise f32");
    Tensor a = input({33, 17}, kiln::kFloat64), b = input({17}, kiln::kFloat64);
    check_against_cpu({kiln::pow(kiln::abs(a), 2.5) + kiln::minimum(a, b) * kiln::gelu(a),
                       kiln::where(a > b, a, b)},
                      "elementwise f64 with broadcasting");
    Tensor p = (x * 5.0).to(kiln::kInt32), q = (y * 3.0).to(kiln::kInt32);
    kiln::realize({p, q});
    check_against_cpu({p / q, kiln::pow(p, 3) - q, p < q, x.to(kiln::kInt64)}, "integers");
    kiln::manual_seed(7);
    check_against_cpu({kiln::rand({64, 50}) * 2.0 + x.sum()}, "philox random numbers");
    check_against_cpu({x.t() * 2.0, kiln::relu(x).reshape({37, 129})}, "transposed copies");
}

TEST_CASE("fake CUDA runs Kiln's rendered kernels: broad coverage") {
    using kiln::DType;
    for (DType t : {kiln::kFloat32, kiln::kFloat64, kiln::kInt32, kiln::kInt64}) {
        std::string d = kiln::dtype_name(t);
        Tensor x = (input({24, 130}) * 10.0).to(t);
        kiln::realize({x});
        check_against_cpu({x.sum({1}), x.amax({1}), x.amin({1})}, "rows " + d);
        check_against_cpu({x.sum({0}), x.amax({0}, true), x.amin({0})}, "columns " + d);
        check_against_cpu({x.sum(), x.max(), x.min()}, "whole tensor " + d);
        check_against_cpu({x.argmax(1)}, "argmax " + d);
    }
    Tensor x = input({6, 300, 5});
    check_against_cpu({x.mean({1}), x.var({2}), x.std({0, 2}, false, true)}, "mean/var/std");
    check_against_cpu({x.sum({1}, true) * x - x.amax({1}, true)}, "reduce + broadcast epilogue");
    check_against_cpu({input({1 << 16}).sum(), input({3, 4096}).amax({1})}, "long rows");
    Tensor y = input({6, 70, 40});
    check_against_cpu({y.permute({2, 0, 1}).contiguous()}, "permute");
    check_against_cpu({y.slice(1, 3, 60, 4).flip({2}) * 2}, "slice/flip");
    check_against_cpu({kiln::cat({y, y * 2}, 1), kiln::stack({y, y + 1}, 0)}, "cat/stack");
    check_against_cpu({y.unfold(1, 5, 3).sum({3})}, "unfold (window)");
    Tensor img = input({2, 3, 17, 17});
    check_against_cpu({kiln::max_pool2d(img, {3, 3}, {2, 2}, {1, 1})}, "max_pool2d (padded)");
    check_against_cpu({kiln::avg_pool2d(img, {2, 2})}, "avg_pool2d");
    kiln::manual_seed(11);
    check_against_cpu({kiln::randn({1000}, kiln::kFloat64)}, "randn");
    check_against_cpu({kiln::dropout(input({64, 32}), 0.25)}, "dropout");
    Tensor z = input({64, 257});
    check_against_cpu({kiln::softmax(z, 0)}, "softmax over columns");
    check_against_cpu({kiln::nn::functional::mse_loss(z, z * 2)}, "mse");
    check_against_cpu({kiln::nn::functional::binary_cross_entropy_with_logits(z, kiln::sigmoid(z))},
                      "bce");
}
