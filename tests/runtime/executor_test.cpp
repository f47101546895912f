#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "kiln/error.h"
#include "runtime/cpu_allocator.h"
#include "runtime/executor.h"
#include "runtime/thread_pool.h"

using namespace kiln;
using namespace kiln::runtime;
using kiln::ir::BufferKind;

namespace {

// Plain C++ kernels with the JIT's ABI: buffers[0..1] inputs, buffers[2] output. (Catch2
// assertions are not thread-safe, so kernels only record what they see.)
std::atomic<int> g_sizes_not_null{0};
void add_f32(void** buffers, const int64_t* sizes, int64_t begin, int64_t end) {
    if (sizes != nullptr) g_sizes_not_null++;
    auto* a = static_cast<const float*>(buffers[0]);
    auto* b = static_cast<const float*>(buffers[1]);
    auto* out = static_cast<float*>(buffers[2]);
    for (int64_t i = begin; i < end; ++i) out[i] = a[i] + b[i];
}

// Row-wise kernel over a [rows, 8] buffer: out[r, :] = 2 * in[r, :].
std::atomic<int64_t> g_rows_seen{0};
void double_rows_f64(void** buffers, const int64_t*, int64_t begin, int64_t end) {
    auto* in = static_cast<const double*>(buffers[0]);
    auto* out = static_cast<double*>(buffers[1]);
    for (int64_t r = begin; r < end; ++r)
        for (int64_t j = 0; j < 8; ++j) out[r * 8 + j] = 2 * in[r * 8 + j];
    g_rows_seen += end - begin;
}

void throwing_kernel(void**, const int64_t*, int64_t, int64_t) {
    throw std::runtime_error("kernel failed");
}

ir::ProgramBuffer pbuf(DType dtype, ir::Shape shape, BufferKind kind, int64_t index = 0) {
    return ir::ProgramBuffer{dtype, std::move(shape), kind, index};
}

ir::KernelStep kernel_step(std::string name, std::vector<ir::KernelBuffer> kbufs, ir::Shape outer,
                           std::vector<int64_t> bound) {
    ir::KernelStep step;
    step.kernel.name = std::move(name);
    step.kernel.buffers = std::move(kbufs);
    step.kernel.outer = std::move(outer);
    step.buffers = std::move(bound);
    return step;
}

std::shared_ptr<Buffer> filled_f32(std::vector<float> values) {
    auto b = Buffer::allocate(kFloat32, static_cast<int64_t>(values.size()));
    std::memcpy(b->data(), values.data(), values.size() * sizeof(float));
    return b;
}

// out0 = (x + y) @ w ; roots: out0, x (an input returned as is), out1 = out0 + out0
CompiledProgram make_program() {
    CompiledProgram c;
    ir::Program& p = c.program;
    p.num_inputs = 3;
    p.buffers = {
        pbuf(kFloat32, {2, 3}, BufferKind::Input, 0),   // 0: x
        pbuf(kFloat32, {2, 3}, BufferKind::Input, 1),   // 1: y
        pbuf(kFloat32, {3, 2}, BufferKind::Input, 2),   // 2: w
        pbuf(kFloat32, {2, 3}, BufferKind::Temp),       // 3: x + y
        pbuf(kFloat32, {2, 2}, BufferKind::Output, 0),  // 4: (x + y) @ w
        pbuf(kFloat32, {2, 2}, BufferKind::Output, 2),  // 5: out0 + out0
    };
    std::vector<ir::KernelBuffer> six = {{kFloat32, 6}, {kFloat32, 6}, {kFloat32, 6, true}};
    std::vector<ir::KernelBuffer> four = {{kFloat32, 4}, {kFloat32, 4}, {kFloat32, 4, true}};
    p.steps.push_back(kernel_step("add6", six, {6}, {0, 1, 3}));
    ir::MatmulStep mm;
    mm.a = 3;
    mm.b = 2;
    mm.out = 4;
    mm.m = 2;
    mm.k = 3;
    mm.n = 2;
    p.steps.push_back(mm);
    p.steps.push_back(kernel_step("add4", four, {4}, {4, 4, 5}));
    p.outputs = {4, 0, 5};
    c.kernels = {add_f32, add_f32};
    return c;
}

}  // namespace

TEST_CASE("executor runs kernels and matmuls in order", "[runtime][executor]") {
    for (bool planned : {false, true}) {
        CompiledProgram c = make_program();
        if (planned) {
            plan_execution(c);
            REQUIRE(c.plan.matches(c.program));
            CHECK(c.plan.release_after[1] == std::vector<int64_t>{3});  // temp dies after matmul
            CHECK(c.plan.allocate_before[0] == std::vector<int64_t>{3});
        }
        auto x = filled_f32({1, 2, 3, 4, 5, 6});
        auto y = filled_f32({10, 20, 30, 40, 50, 60});
        auto w = filled_f32({1, 0, 0, 1, 1, 1});
        ExecutorStats before = executor_stats();
        int64_t in_use = CpuAllocator::global().stats().bytes_in_use;

        auto outs = execute(c, {x, y, w});

        ExecutorStats after = executor_stats();
        CHECK(after.kernels_launched - before.kernels_launched == 2);
        CHECK(after.extern_calls - before.extern_calls == 1);
        CHECK(after.programs_run - before.programs_run == 1);
        REQUIRE(outs.size() == 3);
        CHECK(outs[1] == x);  // an input root is the input itself, not a copy
        // x + y = [[11,22,33],[44,55,66]]; @ w (rows [1,0],[0,1],[1,1]) = [[44,55],[110,121]]
        auto* o0 = static_cast<const float*>(outs[0]->data());
        CHECK(std::vector<float>(o0, o0 + 4) == std::vector<float>{44, 55, 110, 121});
        auto* o2 = static_cast<const float*>(outs[2]->data());
        CHECK(std::vector<float>(o2, o2 + 4) == std::vector<float>{88, 110, 220, 242});
        CHECK(outs[0]->dtype() == kFloat32);
        CHECK(outs[0]->numel() == 4);
        // Only the two 4-float outputs are still held; the temp went back to the allocator.
        CHECK(CpuAllocator::global().stats().bytes_in_use - in_use ==
              2 * static_cast<int64_t>(CpuAllocator::size_class(16)));
    }
}

TEST_CASE("executor splits big kernels across the pool and runs small ones inline",
          "[runtime][executor]") {
    const int64_t rows = 200000;
    CompiledProgram c;
    c.program.num_inputs = 1;
    c.program.buffers = {pbuf(kFloat64, {rows, 8}, BufferKind::Input, 0),
                         pbuf(kFloat64, {rows, 8}, BufferKind::Output, 0)};
    c.program.steps.push_back(kernel_step("double_rows",
                                          {{kFloat64, rows * 8}, {kFloat64, rows * 8, true}},
                                          {rows, 8}, {0, 1}));
    c.program.outputs = {1};
    c.kernels = {double_rows_f64};
    plan_execution(c);
    // 8 elements per outer iteration: chunks of 16384 / 8 rows.
    CHECK(c.plan.min_chunk[0] == kMinElementsPerChunk / 8);

    auto in = Buffer::allocate(kFloat64, rows * 8);
    auto* pin = static_cast<double*>(in->data());
    for (int64_t i = 0; i < rows * 8; ++i) pin[i] = static_cast<double>(i);
    g_rows_seen = 0;
    auto outs = execute(c, {in});
    CHECK(g_rows_seen == rows);
    auto* pout = static_cast<const double*>(outs[0]->data());
    int64_t wrong = 0;
    for (int64_t i = 0; i < rows * 8; ++i) wrong += pout[i] != 2.0 * static_cast<double>(i);
    CHECK(wrong == 0);

    // A tiny kernel: one chunk (the whole range) on the calling thread.
    CompiledProgram small = make_program();
    plan_execution(small);
    CHECK(small.plan.min_chunk[0] >= 6);
}

TEST_CASE("executor checks its inputs and propagates kernel failures", "[runtime][executor]") {
    CompiledProgram c = make_program();
    plan_execution(c);
    auto x = filled_f32({1, 2, 3, 4, 5, 6});
    auto w = filled_f32({1, 0, 0, 1, 1, 1});
    CHECK_THROWS_WITH(execute(c, {x, x}),
                      Catch::Contains("executor: program takes 3 inputs, got 2"));
    auto wrong = Buffer::allocate(kFloat64, 6);
    CHECK_THROWS_WITH(execute(c, {x, wrong, w}),
                      Catch::Contains("executor: input 1 is f64 with 6 elements, program expects "
                                      "buffer 1 (f32[2,3])"));
    CHECK_THROWS_AS(execute(c, {x, x, filled_f32({1, 2})}), InternalError);

    // A program without enough kernels is an internal error, found when planning.
    CompiledProgram missing = make_program();
    missing.kernels.pop_back();
    CHECK_THROWS_WITH(plan_execution(missing),
                      Catch::Contains("no compiled function for kernel step 2 (add4)"));

    // An exception from a kernel reaches the caller; the run's buffers are released.
    CompiledProgram failing = make_program();
    failing.kernels[1] = throwing_kernel;
    int64_t in_use = CpuAllocator::global().stats().bytes_in_use;
    CHECK_THROWS_WITH(execute(failing, {x, x, w}), "kernel failed");
    CHECK(CpuAllocator::global().stats().bytes_in_use == in_use);
}

TEST_CASE("executor runs programs from several threads at once", "[runtime][executor]") {
    CompiledProgram c = make_program();
    plan_execution(c);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            auto x = filled_f32({1, 2, 3, 4, 5, 6});
            auto y = filled_f32({10, 20, 30, 40, 50, 60});
            auto w = filled_f32({1, 0, 0, 1, 1, 1});
            for (int i = 0; i < 200; ++i) {
                auto outs = execute(c, {x, y, w});
                auto* o = static_cast<const float*>(outs[2]->data());
                if (o[0] != 88 || o[3] != 242) wrong++;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
    CHECK(g_sizes_not_null == 0);
}
