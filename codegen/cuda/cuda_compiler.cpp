#include "codegen/cuda/cuda_compiler.h"

#include <chrono>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "codegen/cuda/cuda_source.h"
#include "codegen/cuda/nvrtc.h"
#include "kiln/error.h"
#include "runtime/cuda/device.h"
#include "runtime/disk_cache.h"
#include "support/profiler.h"

namespace kiln::codegen {
namespace {

/// Bump whenever rendering changes what a kernel computes for the same loop kernel text... The
/// key holds the whole source, so only changes outside it (NVRTC options) need a bump.
constexpr int kCudaCodegenVersion = 2;

/// --fmad=false: NVRTC must not contract a*b + c into one fused operation, because the CPU
/// backend does not (its IR has no fast-math flags): elementwise results then match the CPU's
/// bit for bit, as Kiln's math helpers do (they call fmaf themselves where the CPU fuses).
/// Memory-bound kernels lose nothing measurable; reductions still sum in another order.
const std::vector<std::string> kNvrtcOptions = {"--fmad=false"};

/// Loop kernels are named after their IR name when it is a C identifier (readable in profilers:
/// every module holds one kernel, so names need not be unique).
std::string entry_name(const ir::LoopKernel& kernel) {
    const std::string& n = kernel.name;
    bool ok = !n.empty() && !std::isdigit(static_cast<unsigned char>(n[0]));
    for (char c : n) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    return ok ? n : std::string("kiln_kernel");
}

}  // namespace

struct CudaCompiler::Impl {
    std::optional<runtime::DiskCache> disk;
    /// (device, name, source) -> loaded function; one slot per key, compiled once.
    struct Slot {
        std::once_flag once;
        runtime::CUfunction function = nullptr;
    };
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<Slot>> loaded;
    std::atomic<int64_t> compiled{0}, memory_hits{0}, disk_hits{0};
    std::atomic<int64_t> compile_us{0};

    runtime::CUfunction function(const std::string& name, const std::string& source, int device) {
        const runtime::CudaDevice& d = runtime::cuda_device(device);
        std::string key = fmt::format("{}\n{}\n{}", device, name, source);
        std::shared_ptr<Slot> slot;
        {
            std::lock_guard lock(mutex);
            auto& s = loaded[key];
            if (!s) s = std::make_shared<Slot>();
            slot = s;
        }
        bool missed = false;
        std::call_once(slot->once, [&] {
            missed = true;
            auto start = std::chrono::steady_clock::now();
            slot->function = load(name, source, d);
            compile_us += std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
        });
        if (!missed) memory_hits++;
        return slot->function;
    }

    /// NVRTC (or the disk cache) to a CUBIN, then the module and its function.
    runtime::CUfunction load(const std::string& name, const std::string& source,
                             const runtime::CudaDevice& d) {
        support::profiler::Span span("compile", "cuda kernel");
        if (span) span.set_name("cuda " + name);
        std::string arch = d.arch();
        std::string disk_key = fmt::format("cuda cubin v{}\nnvrtc {}\n{}\n{}\n{}",
                                           kCudaCodegenVersion, nvrtc_version(), arch, name,
                                           source);
        std::optional<std::string> image = disk ? disk->load(disk_key) : std::nullopt;
        const runtime::CudaDriverApi& api = runtime::cuda_api();
        runtime::CUmodule module = nullptr;
        if (image) {
            // A cached image the driver refuses (a different driver, say) is compiled again.
            if (api.ModuleLoadData(&module, image->data()) == 0) disk_hits++;
            else module = nullptr;
        }
        if (!module) {
            std::vector<char> cubin = compile_cubin(source, name, arch, kNvrtcOptions);
            compiled++;
            image = std::string(cubin.begin(), cubin.end());
            runtime::check_cuda(api.ModuleLoadData(&module, image->data()),
                                fmt::format("cuModuleLoadData of kernel {} on cuda:{}", name,
                                            d.index));
            if (disk) disk->store(disk_key, *image);
        }
        runtime::CUfunction fn = nullptr;
        runtime::check_cuda(api.ModuleGetFunction(&fn, module, name.c_str()),
                            fmt::format("cuModuleGetFunction of kernel {}", name));
        return fn;
    }
};

CudaCompiler::CudaCompiler() : impl_(std::make_unique<Impl>()) {
    impl_->disk.emplace(runtime::DiskCache::default_dir());
}
CudaCompiler::~CudaCompiler() = default;

CudaCompiler& CudaCompiler::global() {
    static CudaCompiler* c = new CudaCompiler();  // leaked: modules stay loaded until exit
    return *c;
}

runtime::CudaLaunchFn CudaCompiler::compile(const ir::LoopKernel& kernel, int device) {
    CudaLaunch shape = launch_shape(kernel);
    int64_t points = launch_points(shape, 0, shape.outer0);
    runtime::CudaLaunchFn fn;
    fn.grid = static_cast<unsigned>(launch_grid(shape, points));
    fn.block = static_cast<unsigned>(shape.block_threads);
    if (fn.grid == 0) return fn;
    std::string name = entry_name(kernel);
    fn.function = impl_->function(name, render_cuda(kernel, name), device);
    return fn;
}

runtime::CudaLaunchFn CudaCompiler::compile(const runtime::CudaExternSource& source, int device) {
    runtime::CudaLaunchFn fn;
    if (source.threads <= 0) return fn;
    fn.grid = runtime::extern_grid(source.threads);
    fn.block = runtime::kCudaExternBlock;
    fn.function = impl_->function(source.name, source.source, device);
    return fn;
}

cuda::CompileStats CudaCompiler::stats() const {
    cuda::CompileStats s;
    s.kernels_compiled = impl_->compiled.load();
    s.memory_hits = impl_->memory_hits.load();
    s.disk_hits = impl_->disk_hits.load();
    s.compile_ms = static_cast<double>(impl_->compile_us.load()) / 1000.0;
    return s;
}

}  // namespace kiln::codegen
