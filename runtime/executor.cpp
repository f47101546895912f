#include "runtime/executor.h"

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <optional>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include "kiln/error.h"
#include "runtime/blas.h"
#include "runtime/conv.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/indexing.h"
#include "runtime/thread_pool.h"
#include "support/debug.h"
#include "support/profiler.h"

namespace kiln::runtime {

namespace {

std::atomic<int64_t> g_kernels_launched{0};
std::atomic<int64_t> g_extern_calls{0};
std::atomic<int64_t> g_programs_run{0};

std::string buffer_desc(const ir::Program& program, int64_t b) {
    const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
    return "buffer " + std::to_string(b) + " (" + dtype_name(pb.dtype) + ir::shape_str(pb.shape) +
           ")";
}

// Outer-loop-0 iterations per chunk, so that a chunk touches ~kMinElementsPerChunk elements.
// The work of one iteration is estimated from the largest buffer (memory traffic) and from the
// kernel's loop nest (compute, e.g. a reduction over a broadcast input).
int64_t kernel_min_chunk(const ir::LoopKernel& kernel) {
    int64_t extent = kernel.parallel_extent();
    if (extent <= 1) return 1;
    int64_t largest = 0;
    for (const ir::KernelBuffer& kb : kernel.buffers) largest = std::max(largest, kb.numel);
    int64_t outer = ir::numel(kernel.outer);
    int64_t inner = 0;
    for (const ir::Stage& stage : kernel.stages) inner += std::max<int64_t>(1, ir::numel(stage.loops));
    int64_t work = std::max(largest, outer * std::max<int64_t>(1, inner));
    int64_t per_iteration = std::max<int64_t>(1, (work + extent - 1) / extent);
    return std::max<int64_t>(1, (kMinElementsPerChunk + per_iteration - 1) / per_iteration);
}

ExecutionPlan make_plan(const CompiledProgram& compiled) {
    const ir::Program& program = compiled.program;
    int64_t num_buffers = static_cast<int64_t>(program.buffers.size());
    size_t num_steps = program.steps.size();
    ExecutionPlan plan;
    plan.allocate_before.resize(num_steps);
    plan.release_after.resize(num_steps);
    plan.min_chunk.assign(num_steps, 0);
    plan.input_buffer.assign(static_cast<size_t>(program.num_inputs), -1);

    for (int64_t b = 0; b < num_buffers; ++b) {
        const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
        if (pb.kind != ir::BufferKind::Input) continue;
        KILN_CHECK(pb.index >= 0 && pb.index < program.num_inputs,
                   "executor: input placeholder " + std::to_string(pb.index) + " of " +
                       buffer_desc(program, b) + " is out of range (program has " +
                       std::to_string(program.num_inputs) + " inputs)");
        KILN_CHECK(plan.input_buffer[static_cast<size_t>(pb.index)] < 0,
                   "executor: input placeholder " + std::to_string(pb.index) + " is bound twice");
        plan.input_buffer[static_cast<size_t>(pb.index)] = b;
    }
    for (size_t i = 0; i < plan.input_buffer.size(); ++i)
        KILN_CHECK(plan.input_buffer[i] >= 0,
                   "executor: input placeholder " + std::to_string(i) + " has no program buffer");

    std::vector<int64_t> first_use(static_cast<size_t>(num_buffers), -1);
    std::vector<int64_t> last_use(static_cast<size_t>(num_buffers), -1);
    auto use = [&](int64_t b, size_t step) {
        KILN_CHECK(b >= 0 && b < num_buffers, "executor: step " + std::to_string(step) +
                                                  " uses buffer " + std::to_string(b) +
                                                  " of " + std::to_string(num_buffers));
        auto i = static_cast<size_t>(b);
        if (first_use[i] < 0) first_use[i] = static_cast<int64_t>(step);
        last_use[i] = static_cast<int64_t>(step);
    };
    // An extern step's operands: (buffer, element count, dtype) each.
    using Operand = std::tuple<int64_t, int64_t, DType>;
    auto fits = [&](const char* what, size_t step, std::initializer_list<Operand> operands) {
        for (auto [b, expected, dtype] : operands) {
            use(b, step);
            const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
            KILN_CHECK(pb.dtype == dtype && ir::numel(pb.shape) == expected,
                       std::string("executor: ") + what + " step " + std::to_string(step) +
                           " does not fit " + buffer_desc(program, b));
        }
    };
    const bool cuda = compiled.device.is_cuda();
    KILN_CHECK(!cuda || compiled.cuda_steps.size() == num_steps,
               "executor: " + std::to_string(compiled.cuda_steps.size()) +
                   " CUDA launches for " + std::to_string(num_steps) + " steps");
    size_t kernel_index = 0;
    for (size_t s = 0; s < num_steps; ++s) {
        if (const auto* ks = std::get_if<ir::KernelStep>(&program.steps[s])) {
            if (cuda) {
                const CudaLaunchFn& fn = compiled.cuda_steps[s];
                KILN_CHECK(fn.grid == 0 || fn.function != nullptr,
                           "executor: no CUDA function for kernel step " + std::to_string(s) +
                               " (" + ks->kernel.name + ")");
            } else {
                KILN_CHECK(kernel_index < compiled.kernels.size() &&
                               compiled.kernels[kernel_index] != nullptr,
                           "executor: no compiled function for kernel step " + std::to_string(s) +
                               " (" + ks->kernel.name + ")");
                ++kernel_index;
            }
            KILN_CHECK(ks->buffers.size() == ks->kernel.buffers.size(),
                       "executor: kernel " + ks->kernel.name + " has " +
                           std::to_string(ks->kernel.buffers.size()) + " buffers but step " +
                           std::to_string(s) + " binds " + std::to_string(ks->buffers.size()));
            for (size_t i = 0; i < ks->buffers.size(); ++i) {
                int64_t b = ks->buffers[i];
                use(b, s);
                const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
                const ir::KernelBuffer& kb = ks->kernel.buffers[i];
                KILN_CHECK(pb.dtype == kb.dtype && ir::numel(pb.shape) == kb.numel,
                           "executor: kernel " + ks->kernel.name + " buffer " + std::to_string(i) +
                               " (" + dtype_name(kb.dtype) + ", " + std::to_string(kb.numel) +
                               " elements) is bound to " + buffer_desc(program, b));
            }
            plan.min_chunk[s] = kernel_min_chunk(ks->kernel);
        } else if (const auto* ix = std::get_if<ir::IndexStep>(&program.steps[s])) {
            int64_t dense = ix->split.outer * ix->split.size * ix->split.inner;
            int64_t rows = ix->split.outer * ix->count * ix->split.inner;
            fits("index", s, {{ix->dense, dense, ix->dtype},
                              {ix->index, ix->split.outer * ix->count, DType::Int64},
                              {ix->rows, rows, ix->dtype}});
        } else if (const auto* cv = std::get_if<ir::ConvStep>(&program.steps[s])) {
            const ir::ConvGeometry& g = cv->geometry;
            fits("conv", s, {{cv->x, ir::numel(g.input_shape()), cv->dtype},
                             {cv->w, ir::numel(g.weight_shape()), cv->dtype},
                             {cv->y, ir::numel(g.output_shape()), cv->dtype}});
        } else {
            const auto& mm = std::get<ir::MatmulStep>(program.steps[s]);
            KILN_CHECK(mm.dtype == DType::Float32 || mm.dtype == DType::Float64,
                       std::string("executor: matmul on ") + dtype_name(mm.dtype) +
                           " is not supported (f32, f64 only)");
            const std::pair<int64_t, int64_t> operands[] = {
                {mm.a, mm.batch * mm.m * mm.k}, {mm.b, mm.batch * mm.k * mm.n},
                {mm.out, mm.batch * mm.m * mm.n}};
            for (auto [b, expected] : operands) {
                use(b, s);
                const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
                KILN_CHECK(pb.dtype == mm.dtype && ir::numel(pb.shape) == expected,
                           "executor: matmul step " + std::to_string(s) + " [batch " +
                               std::to_string(mm.batch) + ", m " + std::to_string(mm.m) +
                               ", k " + std::to_string(mm.k) + ", n " + std::to_string(mm.n) +
                               "] does not fit " + buffer_desc(program, b));
            }
        }
    }
    KILN_CHECK(cuda ? compiled.kernels.empty() : kernel_index == compiled.kernels.size(),
               "executor: " + std::to_string(compiled.kernels.size()) + " kernels for " +
                   std::to_string(kernel_index) + " kernel steps");

    for (int64_t b = 0; b < num_buffers; ++b) {
        auto i = static_cast<size_t>(b);
        ir::BufferKind kind = program.buffers[i].kind;
        if (kind == ir::BufferKind::Input) continue;
        if (first_use[i] >= 0)
            plan.allocate_before[static_cast<size_t>(first_use[i])].push_back(b);
        else if (kind == ir::BufferKind::Output)
            plan.unwritten_outputs.push_back(b);
        if (kind == ir::BufferKind::Temp && last_use[i] >= 0)
            plan.release_after[static_cast<size_t>(last_use[i])].push_back(b);
    }
    for (int64_t out : program.outputs) {
        KILN_CHECK(out >= 0 && out < num_buffers,
                   "executor: program output refers to buffer " + std::to_string(out) + " of " +
                       std::to_string(num_buffers));
        KILN_CHECK(program.buffers[static_cast<size_t>(out)].kind != ir::BufferKind::Temp,
                   "executor: program output " + buffer_desc(program, out) + " is a temp");
    }
    plan.ready = true;
    return plan;
}

void run_kernel(KernelFn fn, void** buffers, int64_t extent, int64_t min_chunk,
                const std::string& name) {
    if (extent <= 0) return;
    if (support::profiler::active()) [[unlikely]] {
        // Each thread's part of the kernel as its own event, on that thread's row.
        auto chunk = [fn, buffers, &name](int64_t begin, int64_t end) {
            support::profiler::Span span("chunk", "chunk");
            if (span) {
                span.set_name("chunk " + name);
                span.arg("begin", begin);
                span.arg("end", end);
            }
            fn(buffers, nullptr, begin, end);
        };
        if (extent <= min_chunk)
            chunk(0, extent);
        else
            ThreadPool::global().parallel_for(extent, min_chunk, chunk);
        return;
    }
    if (extent <= min_chunk) {  // small kernels: a thread hand-off would cost more than it saves
        fn(buffers, nullptr, 0, extent);
        return;
    }
    // Two captured pointers fit std::function's small buffer: no allocation per launch.
    ThreadPool::global().parallel_for(extent, min_chunk, [fn, buffers](int64_t begin, int64_t end) {
        fn(buffers, nullptr, begin, end);
    });
}

/// A step that ran from start_ns to end_ns: a profiler event (cat "kernel" or "extern") and, at
/// KILN_DEBUG >= 4, a line on stderr.
void report_step(const ir::Program& program, const ir::Step& step, int64_t start_ns, int64_t end_ns,
                 bool debug_line) noexcept {
    try {
        std::string label = step_label(step);
        int64_t bytes = step_bytes(program, step);
        const auto* ks = std::get_if<ir::KernelStep>(&step);
        if (support::profiler::active()) {
            std::string args;
            support::profiler::append_json_string(args, "name");
            args += ':';
            support::profiler::append_json_string(args, ks ? ks->kernel.name : label);
            args += fmt::format(",\"bytes\":{}", bytes);
            if (ks) {
                int64_t elements = 0;
                for (const ir::KernelBuffer& kb : ks->kernel.buffers)
                    if (kb.output) elements += kb.numel;
                args += fmt::format(",\"elements\":{},\"outer\":{}", elements,
                                    ks->kernel.parallel_extent());
            }
            support::profiler::add_event(ks ? "kernel" : "extern", label, start_ns, end_ns,
                                         std::move(args));
        }
        if (debug_line)
            support::debug_print(fmt::format("[kiln] launch {} {:.3f} ms ({} bytes)\n", label,
                                             (end_ns - start_ns) / 1e6, bytes));
    } catch (...) {
        // A diagnostic never fails the run.
    }
}

/// The end of a run on either device: outputs no step wrote get (uninitialized) buffers, a bad
/// index met by the run is thrown, and the output buffers are returned.
std::vector<std::shared_ptr<Buffer>> finish_run(const CompiledProgram& compiled,
                                                const ExecutionPlan& plan,
                                                std::vector<std::shared_ptr<Buffer>>& bufs,
                                                const std::optional<IndexOutOfRange>& bad_index) {
    const ir::Program& program = compiled.program;
    for (int64_t b : plan.unwritten_outputs) {
        const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
        bufs[static_cast<size_t>(b)] =
            Buffer::allocate(pb.dtype, ir::numel(pb.shape), compiled.device);
    }
    if (bad_index) throw *bad_index;
    std::vector<std::shared_ptr<Buffer>> results;
    results.reserve(program.outputs.size());
    for (int64_t out : program.outputs) results.push_back(bufs[static_cast<size_t>(out)]);
    g_programs_run.fetch_add(1, std::memory_order_relaxed);
    return results;
}

}  // namespace

void plan_execution(CompiledProgram& compiled) { compiled.plan = make_plan(compiled); }

std::vector<std::shared_ptr<Buffer>> execute(const CompiledProgram& compiled,
                                             const std::vector<std::shared_ptr<Buffer>>& inputs) {
    const ir::Program& program = compiled.program;
    support::profiler::Span span("execute", "execute");
    if (span) span.arg("steps", static_cast<int64_t>(program.steps.size()));
    const bool debug_launches = support::debug_level() >= 4;
    ExecutionPlan local_plan;
    const ExecutionPlan* plan = &compiled.plan;
    if (!plan->matches(program)) {
        local_plan = make_plan(compiled);
        plan = &local_plan;
    }

    KILN_CHECK(static_cast<int64_t>(inputs.size()) == program.num_inputs,
               "executor: program takes " + std::to_string(program.num_inputs) + " inputs, got " +
                   std::to_string(inputs.size()));
    std::vector<std::shared_ptr<Buffer>> bufs(program.buffers.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        int64_t b = plan->input_buffer[i];
        const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
        const std::shared_ptr<Buffer>& in = inputs[i];
        KILN_CHECK(in != nullptr, "executor: input " + std::to_string(i) + " is null");
        KILN_CHECK(in->dtype() == pb.dtype && in->numel() == ir::numel(pb.shape),
                   "executor: input " + std::to_string(i) + " is " + dtype_name(in->dtype()) +
                       " with " + std::to_string(in->numel()) + " elements, program expects " +
                       buffer_desc(program, b));
        // A value from another device is copied here: this is how tensors move.
        bufs[static_cast<size_t>(b)] =
            in->device() == compiled.device ? in : copy_to_device(*in, compiled.device);
    }
    if (compiled.device.is_cuda()) {
        CudaStepCounts counts = run_cuda_steps(compiled, *plan, bufs);
        g_kernels_launched.fetch_add(counts.kernels, std::memory_order_relaxed);
        g_extern_calls.fetch_add(counts.externs, std::memory_order_relaxed);
        return finish_run(compiled, *plan, bufs, std::nullopt);
    }

    std::vector<void*> pointers;
    size_t kernel_index = 0;
    std::optional<IndexOutOfRange> bad_index;  // the first one, reported after the run
    for (size_t s = 0; s < program.steps.size(); ++s) {
        for (int64_t b : plan->allocate_before[s]) {
            const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
            bufs[static_cast<size_t>(b)] = Buffer::allocate(pb.dtype, ir::numel(pb.shape));
        }
        const bool timed = debug_launches || support::profiler::active();
        const int64_t start_ns = timed ? support::profiler::now_ns() : 0;
        if (const auto* ks = std::get_if<ir::KernelStep>(&program.steps[s])) {
            pointers.clear();
            for (int64_t b : ks->buffers) pointers.push_back(bufs[static_cast<size_t>(b)]->data());
            run_kernel(compiled.kernels[kernel_index++], pointers.data(),
                       ks->kernel.parallel_extent(), plan->min_chunk[s], ks->kernel.name);
            g_kernels_launched.fetch_add(1, std::memory_order_relaxed);
        } else if (const auto* ix = std::get_if<ir::IndexStep>(&program.steps[s])) {
            const int64_t* bad = run_index_step(
                *ix, bufs[static_cast<size_t>(ix->dense)]->data(),
                static_cast<const int64_t*>(bufs[static_cast<size_t>(ix->index)]->data()),
                bufs[static_cast<size_t>(ix->rows)]->data());
            if (bad && !bad_index) bad_index.emplace(*bad, ix->split.size, ix->site);
            g_extern_calls.fetch_add(1, std::memory_order_relaxed);
        } else if (const auto* cv = std::get_if<ir::ConvStep>(&program.steps[s])) {
            run_conv_step(*cv, bufs[static_cast<size_t>(cv->x)]->data(),
                          bufs[static_cast<size_t>(cv->w)]->data(),
                          bufs[static_cast<size_t>(cv->y)]->data());
            g_extern_calls.fetch_add(1, std::memory_order_relaxed);
        } else {
            const auto& mm = std::get<ir::MatmulStep>(program.steps[s]);
            void* a = bufs[static_cast<size_t>(mm.a)]->data();
            void* b = bufs[static_cast<size_t>(mm.b)]->data();
            void* out = bufs[static_cast<size_t>(mm.out)]->data();
            Transposes t{mm.trans_a, mm.trans_b};
            if (mm.dtype == DType::Float32)
                gemm_f32(mm.batch, mm.m, mm.n, mm.k, static_cast<const float*>(a),
                         static_cast<const float*>(b), static_cast<float*>(out), t);
            else
                gemm_f64(mm.batch, mm.m, mm.n, mm.k, static_cast<const double*>(a),
                         static_cast<const double*>(b), static_cast<double*>(out), t);
            g_extern_calls.fetch_add(1, std::memory_order_relaxed);
        }
        if (timed) [[unlikely]]
            report_step(program, program.steps[s], start_ns, support::profiler::now_ns(),
                        debug_launches);
        // Freed temps go back to the caching allocator, so later steps reuse warm memory.
        for (int64_t b : plan->release_after[s]) bufs[static_cast<size_t>(b)].reset();
    }
    return finish_run(compiled, *plan, bufs, bad_index);
}

std::string step_label(const ir::Step& step) {
    if (const auto* ks = std::get_if<ir::KernelStep>(&step)) return "kernel " + ks->kernel.name;
    if (const auto* ix = std::get_if<ir::IndexStep>(&step))
        return fmt::format("{} {}x{}x{} [{}] {}", ix->scatter ? "scatter_add" : "gather",
                           ix->split.outer, ix->split.size, ix->split.inner, ix->count,
                           dtype_name(ix->dtype));
    if (const auto* cv = std::get_if<ir::ConvStep>(&step)) {
        const ir::ConvGeometry& g = cv->geometry;
        const char* pass = cv->pass == ir::ConvPass::Forward     ? "conv"
                           : cv->pass == ir::ConvPass::InputGrad ? "conv grad_input"
                                                                 : "conv grad_weight";
        return fmt::format("{} {}x{}x{}x{} * {}x{}x{}x{} {}", pass, g.n, g.c, g.h, g.w, g.o,
                           g.group_channels(), g.kh, g.kw, dtype_name(cv->dtype));
    }
    const auto& mm = std::get<ir::MatmulStep>(step);
    std::string batch = mm.batch > 1 ? fmt::format("[{}] ", mm.batch) : "";
    return fmt::format("matmul {}{}x{}x{} {}{}{}", batch, mm.m, mm.k, mm.n, dtype_name(mm.dtype),
                       mm.trans_a ? " a^T" : "", mm.trans_b ? " b^T" : "");
}

int64_t step_bytes(const ir::Program& program, const ir::Step& step) {
    ir::StepBuffers io = ir::step_buffers(step);
    std::vector<int64_t> all = io.reads;
    all.insert(all.end(), io.writes.begin(), io.writes.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    int64_t bytes = 0;
    for (int64_t b : all) {
        if (b < 0 || static_cast<size_t>(b) >= program.buffers.size()) continue;
        const ir::ProgramBuffer& pb = program.buffers[static_cast<size_t>(b)];
        bytes += ir::numel(pb.shape) * static_cast<int64_t>(dtype_size(pb.dtype));
    }
    return bytes;
}

ExecutorStats executor_stats() {
    ExecutorStats stats;
    stats.kernels_launched = g_kernels_launched.load(std::memory_order_relaxed);
    stats.extern_calls = g_extern_calls.load(std::memory_order_relaxed);
    stats.programs_run = g_programs_run.load(std::memory_order_relaxed);
    return stats;
}

}  // namespace kiln::runtime
