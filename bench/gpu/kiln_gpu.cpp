// Kiln's GPU benchmark (bench/gpu/README.md): the measurements of the CUDA issue, each a median
// over repetitions after warm-up, timed with kiln::cuda::synchronize() around the timed region
// (on the CPU a realize() is synchronous):
//   copy        runtime::copy_buffer of 2^26 f32 on the device, bytes read + written per
//               second (the bandwidth limit); copy_kernel: Kiln's generated y = -x beside it
//   chain       gelu(x*w+b)*sigmoid(x)+x*x on 2^26 f32 (x, w, b, out: 4 arrays), vs the copy
//   softmax     softmax over the last dim of 8192x8192
//   layer_norm  layer_norm over the last dim of 8192x4096, with weight and bias (nn.LayerNorm)
//   mlp_step    one training step of a 1024-4096-4096-1024 GELU MLP, batch 4096, MSE, AdamW,
//               fp32 without TF32; the first step's extra time is the whole step's compile time
//   compile     what the CUDA kernel compiler did in this process (cold with an empty
//               KILN_CACHE_DIR, warm in a second process on the same directory: disk hits)
// Each result is also checked against a float64 CPU computation of a slice of it. Prints a
// table; --json writes the numbers (read by bench/gpu/table.py), rewritten after every
// measurement so that a run cut short still leaves what it measured.
//
//   bench_gpu [--device cuda|cpu] [--quick] [--json FILE] [--reps N] [--only a,b,...]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bench/timing.h"
#include "runtime/buffer.h"
#include <kiln/kiln.h>

namespace F = kiln::nn::functional;
namespace nn = kiln::nn;

namespace {

struct Args {
    kiln::Device device{kiln::kCUDA};
    bool quick = false;
    std::string json;
    int reps = 0;  // 0: the default for the mode
    std::vector<std::string> only;
};

[[noreturn]] void usage(int status) {
    std::fprintf(status ? stderr : stdout,
                 "usage: bench_gpu [--device cuda|cpu] [--quick] [--json FILE] [--reps N]\n"
                 "                 [--only copy,copy_kernel,chain,softmax,layer_norm,mlp_step]\n"
                 "  --device  where to run (default cuda; cpu for testing without a GPU)\n"
                 "  --quick   tiny sizes and few repetitions (a smoke test)\n"
                 "  --json    also write the results to FILE\n"
                 "Set KILN_CACHE_DIR to an empty directory for cold compile times; a second\n"
                 "process on the same directory gives the warm (disk cache) ones.\n");
    std::exit(status);
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string opt = argv[i];
        if (opt == "-h" || opt == "--help") usage(0);
        if (opt == "--quick") {
            a.quick = true;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bench_gpu: %s needs a value\n", opt.c_str());
            usage(2);
        }
        std::string v = argv[++i];
        if (opt == "--device") {
            if (v == "cuda")
                a.device = kiln::Device(kiln::kCUDA);
            else if (v == "cpu")
                a.device = kiln::Device(kiln::kCPU);
            else {
                std::fprintf(stderr, "bench_gpu: --device must be cuda or cpu, got '%s'\n",
                             v.c_str());
                usage(2);
            }
        } else if (opt == "--json") {
            a.json = v;
        } else if (opt == "--reps") {
            a.reps = std::atoi(v.c_str());
            if (a.reps < 1) {
                std::fprintf(stderr, "bench_gpu: bad value '%s' for --reps\n", v.c_str());
                usage(2);
            }
        } else if (opt == "--only") {
            std::stringstream ss(v);
            for (std::string name; std::getline(ss, name, ',');)
                if (!name.empty()) a.only.push_back(name);
        } else {
            std::fprintf(stderr, "bench_gpu: unknown option %s\n", opt.c_str());
            usage(2);
        }
    }
    return a;
}

// ---- JSON (flat objects of numbers and strings, enough for table.py)

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

/// One measurement's fields, in order, with values already rendered as JSON.
struct Fields {
    std::vector<std::pair<std::string, std::string>> items;
    Fields& num(const std::string& k, double v) {
        items.emplace_back(k, json_number(v));
        return *this;
    }
    Fields& str(const std::string& k, const std::string& v) {
        items.emplace_back(k, json_string(v));
        return *this;
    }
    std::string render() const {
        std::string out = "{";
        for (size_t i = 0; i < items.size(); ++i)
            out += (i ? ", " : "") + json_string(items[i].first) + ": " + items[i].second;
        return out + "}";
    }
};

/// Everything measured so far; write() rewrites the whole file.
struct Report {
    Fields meta;
    std::vector<std::pair<std::string, Fields>> results;
    std::vector<std::pair<std::string, std::string>> errors;

    void write(const std::string& path) const {
        if (path.empty()) return;
        std::string out =
            "{\n  \"tool\": \"kiln\",\n  \"meta\": " + meta.render() + ",\n  \"results\": {";
        for (size_t i = 0; i < results.size(); ++i)
            out += std::string(i ? "," : "") + "\n    " + json_string(results[i].first) + ": " +
                   results[i].second.render();
        out += "\n  },\n  \"errors\": {";
        for (size_t i = 0; i < errors.size(); ++i)
            out += std::string(i ? "," : "") + "\n    " + json_string(errors[i].first) + ": " +
                   json_string(errors[i].second);
        out += "\n  }\n}\n";
        std::string tmp = path + ".tmp";
        {
            std::ofstream f(tmp, std::ios::trunc);
            f << out;
            if (!f) {
                std::fprintf(stderr, "bench_gpu: cannot write %s\n", tmp.c_str());
                return;
            }
        }
        std::rename(tmp.c_str(), path.c_str());
    }
};

// ---- timing

struct Bench {
    kiln::Device device;
    int reps;

    void sync() const {
        if (device.is_cuda()) kiln::cuda::synchronize(device.index);
    }
    /// Seconds of one call of `f`, finished on the device.
    double once(const std::function<void()>& f) const {
        sync();
        return kiln_bench::seconds([&] {
            f();
            sync();
        });
    }

    struct Timing {
        double first_ms;   ///< the first call (compiles, or loads from the disk cache)
        double median_ms;  ///< per call, median over `reps` timed regions
        double min_ms;
    };
    /// The first call, one more warm-up, then `reps` regions of `inner` calls each (back to
    /// back, one synchronize at the end, as a program would queue them): time per call.
    Timing time(int inner, const std::function<void()>& f) const {
        Timing t{};
        t.first_ms = 1e3 * once(f);
        once(f);
        std::vector<double> per_call;
        for (int r = 0; r < reps; ++r)
            per_call.push_back(1e3 * once([&] {
                                   for (int i = 0; i < inner; ++i) f();
                               }) /
                               inner);
        t.median_ms = kiln_bench::median(per_call);
        t.min_ms = *std::min_element(per_call.begin(), per_call.end());
        return t;
    }
};

/// ||out - ref|| / ||ref||, with `ref` float64 on the CPU.
double rel_err(const kiln::Tensor& out, const kiln::Tensor& ref) {
    kiln::Tensor d = out.to(kiln::kCPU).to(kiln::kFloat64) - ref;
    double num = (d * d).sum().item<double>();
    double den = (ref * ref).sum().item<double>();
    return std::sqrt(num / den);
}

kiln::Tensor cpu64(const kiln::Tensor& t) { return t.to(kiln::kCPU).to(kiln::kFloat64); }

/// The CUDA compiler's counters (zeros on the CPU, whose LLVM compiles kiln::stats() counts).
kiln::cuda::CompileStats compile_stats(const kiln::Device& d) {
    if (d.is_cuda()) return kiln::cuda::compile_stats();
    kiln::Stats s = kiln::stats();
    kiln::cuda::CompileStats c;
    c.kernels_compiled = s.kernels_compiled;
    c.memory_hits = s.kernel_memory_hits;
    c.disk_hits = s.kernel_disk_hits;
    c.compile_ms = std::nan("");  // not counted on the CPU
    return c;
}

/// The kernels compiled / loaded between `a` and `b`, as fields.
void add_compile_delta(Fields& f, const kiln::cuda::CompileStats& a,
                       const kiln::cuda::CompileStats& b) {
    f.num("kernels_compiled", double(b.kernels_compiled - a.kernels_compiled))
        .num("kernel_disk_hits", double(b.disk_hits - a.disk_hits))
        .num("compile_ms", b.compile_ms - a.compile_ms);
}

std::string cpu_name() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "CPU";
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

/// "4.17 TB/s" or "31.2 GB/s".
std::string rate(double bytes_per_s) {
    return bytes_per_s >= 1e12 ? fmt("%.2f TB/s", bytes_per_s / 1e12)
                               : fmt("%.1f GB/s", bytes_per_s / 1e9);
}

struct Row {
    std::string name, time, rate, note;
};

}  // namespace

int main(int argc, char** argv) {
    Args args = parse(argc, argv);
    const kiln::Device dev = args.device;
    const bool cuda = dev.is_cuda();
    const bool quick = args.quick;
    Bench bench{dev, args.reps > 0 ? args.reps : quick ? 3 : 20};
    const int inner = cuda && !quick ? 10 : 1;  // calls per timed region for single ops
    const auto opts = kiln::TensorOptions().device(dev);

    Report report;
    std::vector<Row> rows;
    auto wanted = [&](const std::string& name) {
        return args.only.empty() ||
               std::find(args.only.begin(), args.only.end(), name) != args.only.end();
    };
    // Runs one measurement; a failure is recorded and the others still run.
    auto measure = [&](const std::string& name, const std::function<Fields()>& body) {
        if (!wanted(name)) return;
        std::fprintf(stderr, "bench_gpu: %s...\n", name.c_str());
        try {
            report.results.emplace_back(name, body());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_gpu: %s failed: %s\n", name.c_str(), e.what());
            report.errors.emplace_back(name, e.what());
            rows.push_back({name, "FAILED", "", e.what()});
        }
        report.write(args.json);
    };

    const char* cache_dir = std::getenv("KILN_CACHE_DIR");
    report.meta.str("device", dev.str())
        .num("quick", quick ? 1 : 0)
        .str("kiln_cache_dir", cache_dir ? cache_dir : "");
    std::string device_name;
    try {
        if (cuda) {
            // Without a usable device, asking for a CUDA tensor is an error that says why.
            if (!kiln::cuda::is_available()) kiln::zeros({1}, opts).realize();
            if (!kiln::cuda::is_available())
                throw kiln::Error("no usable CUDA device (kiln::cuda::is_available() is false)");
            device_name = kiln::cuda::device_name(dev.index);
            kiln::cuda::allow_tf32(false);  // fp32 matmuls, as PyTorch with allow_tf32 = False
        } else {
            device_name = cpu_name();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_gpu: %s: %s\n", dev.str().c_str(), e.what());
        report.errors.emplace_back("device", e.what());
        report.write(args.json);
        return 1;
    }
    report.meta.str("device_name", device_name).num("reps", bench.reps).num("inner", inner);
    report.write(args.json);
    kiln::manual_seed(1);
    const kiln::cuda::CompileStats at_start = compile_stats(dev);

    // ---- copy: the bandwidth limit of this run (runtime::copy_buffer: the driver's copy on a
    // device, memcpy on the CPU), and Kiln's own one-read-one-write kernel (y = -x) beside it.
    double copy_bps = std::nan("");
    const int64_t copy_n = quick ? int64_t(1) << 16 : int64_t(1) << 26;
    measure("copy", [&] {
        const int64_t n = copy_n;
        auto src = kiln::runtime::Buffer::allocate(kiln::kFloat32, n, dev);
        auto dst = kiln::runtime::Buffer::allocate(kiln::kFloat32, n, dev);
        kiln::runtime::zero_buffer(*src);  // touched once, so no first-touch cost is timed
        Bench::Timing t = bench.time(inner, [&] { kiln::runtime::copy_buffer(*dst, *src); });
        double bytes = 2.0 * 4 * double(n);
        copy_bps = bytes / (t.median_ms * 1e-3);
        rows.push_back({"copy " + std::to_string(n) + " f32 (copy_buffer)",
                        fmt("%.3f ms", t.median_ms), rate(copy_bps), "read + written: the limit"});
        return Fields()
            .str("method", "runtime::copy_buffer")
            .num("n", double(n))
            .num("bytes", bytes)
            .num("ms", t.median_ms)
            .num("min_ms", t.min_ms)
            .num("gbps", copy_bps / 1e9);
    });
    measure("copy_kernel", [&] {
        const int64_t n = copy_n;
        kiln::Tensor x = kiln::randn({n}, opts);
        x.realize();
        Bench::Timing t = bench.time(inner, [&] { (-x).realize(); });
        double bytes = 2.0 * 4 * double(n);
        double bps = bytes / (t.median_ms * 1e-3);
        rows.push_back({"  generated kernel y = -x, same size", fmt("%.3f ms", t.median_ms),
                        rate(bps), fmt("%.2f x copy", bps / copy_bps)});
        return Fields()
            .str("method", "kernel y = -x")
            .num("n", double(n))
            .num("bytes", bytes)
            .num("ms", t.median_ms)
            .num("min_ms", t.min_ms)
            .num("first_ms", t.first_ms)
            .num("gbps", bps / 1e9)
            .num("ratio_to_copy", bps / copy_bps);
    });

    // A bandwidth-bound measurement: its table row (time, rate, ratio to the copy, error against
    // float64 on the CPU) and its JSON fields added to `f` (which holds the sizes).
    auto bandwidth_row = [&](const std::string& label, Fields f, double bytes,
                             const Bench::Timing& t, double err,
                             const kiln::cuda::CompileStats& c0,
                             const kiln::cuda::CompileStats& c1) {
        double bps = bytes / (t.median_ms * 1e-3);
        rows.push_back({label, fmt("%.3f ms", t.median_ms), rate(bps),
                        fmt("%.2f x copy", bps / copy_bps) + fmt(", rel err %.1e", err)});
        f.num("bytes", bytes)
            .num("ms", t.median_ms)
            .num("min_ms", t.min_ms)
            .num("first_ms", t.first_ms)
            .num("gbps", bps / 1e9)
            .num("ratio_to_copy", bps / copy_bps)
            .num("rel_err", err);
        add_compile_delta(f, c0, c1);
        return f;
    };

    // ---- the fused elementwise chain
    measure("chain", [&] {
        const int64_t n = quick ? int64_t(1) << 16 : int64_t(1) << 26;
        kiln::Tensor x = kiln::randn({n}, opts), w = kiln::randn({n}, opts),
                     b = kiln::randn({n}, opts);
        kiln::realize({x, w, b});
        auto chain = [](const kiln::Tensor& x, const kiln::Tensor& w, const kiln::Tensor& b) {
            return kiln::gelu(x * w + b) * kiln::sigmoid(x) + x * x;
        };
        auto c0 = compile_stats(dev);
        Bench::Timing t = bench.time(inner, [&] { chain(x, w, b).realize(); });
        auto c1 = compile_stats(dev);
        double bytes = 4.0 * 4 * double(n);
        const int64_t m = std::min<int64_t>(n, 1 << 16);
        kiln::Tensor y = chain(x, w, b).slice(0, 0, m);
        double err = rel_err(
            y, chain(cpu64(x.slice(0, 0, m)), cpu64(w.slice(0, 0, m)), cpu64(b.slice(0, 0, m))));
        Fields f;
        f.num("n", double(n));
        return bandwidth_row("chain gelu(x*w+b)*sigmoid(x)+x*x, " + std::to_string(n), f, bytes,
                             t, err, c0, c1);
    });

    // ---- softmax over rows
    measure("softmax", [&] {
        const int64_t r = quick ? 64 : 8192, c = quick ? 256 : 8192;
        kiln::Tensor x = kiln::randn({r, c}, opts);
        x.realize();
        auto c0 = compile_stats(dev);
        Bench::Timing t = bench.time(inner, [&] { kiln::softmax(x, -1).realize(); });
        auto c1 = compile_stats(dev);
        double bytes = 2.0 * 4 * double(r * c);
        const int64_t m = std::min<int64_t>(r, 16);
        double err = rel_err(kiln::softmax(x.slice(0, 0, m), -1),
                             kiln::softmax(cpu64(x.slice(0, 0, m)), -1));
        Fields f;
        f.num("rows", double(r)).num("cols", double(c));
        return bandwidth_row("softmax " + std::to_string(r) + "x" + std::to_string(c) + ", dim -1", f, bytes, t, err, c0, c1);
    });

    // ---- layer_norm over rows, with weight and bias (nn.LayerNorm's affine form)
    measure("layer_norm", [&] {
        const int64_t r = quick ? 64 : 8192, c = quick ? 128 : 4096;
        kiln::Tensor x = kiln::randn({r, c}, opts);
        kiln::Tensor w = 1 + 0.1 * kiln::randn({c}, opts), b = 0.1 * kiln::randn({c}, opts);
        kiln::realize({x, w, b});
        auto c0 = compile_stats(dev);
        Bench::Timing t =
            bench.time(inner, [&] { kiln::layer_norm(x, {c}, w, b, 1e-5).realize(); });
        auto c1 = compile_stats(dev);
        double bytes = 2.0 * 4 * double(r * c) + 2.0 * 4 * double(c);
        const int64_t m = std::min<int64_t>(r, 16);
        double err =
            rel_err(kiln::layer_norm(x.slice(0, 0, m), {c}, w, b, 1e-5),
                    kiln::layer_norm(cpu64(x.slice(0, 0, m)), {c}, cpu64(w), cpu64(b), 1e-5));
        Fields f;
        f.num("rows", double(r)).num("cols", double(c));
        return bandwidth_row("layer_norm " + std::to_string(r) + "x" + std::to_string(c) + ", w, b", f, bytes, t, err, c0, c1);
    });

    // ---- MLP training step: forward, MSE, backward, AdamW; realized (and finished) every step
    measure("mlp_step", [&] {
        const int64_t batch = quick ? 64 : 4096;
        const std::vector<int64_t> sz = quick ? std::vector<int64_t>{32, 128, 128, 32}
                                              : std::vector<int64_t>{1024, 4096, 4096, 1024};
        nn::Sequential model(nn::Linear(sz[0], sz[1]), nn::GELU(), nn::Linear(sz[1], sz[2]),
                             nn::GELU(), nn::Linear(sz[2], sz[3]));
        model->to(dev);
        kiln::optim::AdamW opt(model->parameters(), kiln::optim::AdamWOptions(1e-3));
        kiln::Tensor x = kiln::randn({batch, sz[0]}, opts), y = kiln::randn({batch, sz[3]}, opts);
        kiln::realize({x, y});
        kiln::Tensor loss;
        auto step = [&] {
            opt.zero_grad();
            loss = F::mse_loss(model(x), y);
            loss.backward();
            opt.step();  // realizes the step: forward, backward and update as one program
        };
        auto c0 = compile_stats(dev);
        kiln::Stats s0 = kiln::stats();
        double first_ms = 1e3 * bench.once(step);
        float loss_first = loss.item<float>();
        std::vector<double> warmup_ms;  // a second compile (e.g. of lifted constants) shows here
        for (int i = 0; i < 2; ++i) warmup_ms.push_back(1e3 * bench.once(step));
        auto c1 = compile_stats(dev);
        kiln::Stats s1 = kiln::stats();
        kiln::cuda::MemoryStats m0 =
            cuda ? kiln::cuda::memory_stats(dev.index) : kiln::cuda::MemoryStats{};
        kiln::Stats s2 = kiln::stats();
        std::vector<double> times;
        for (int r = 0; r < bench.reps; ++r) times.push_back(1e3 * bench.once(step));
        kiln::Stats s3 = kiln::stats();
        kiln::cuda::MemoryStats m1 =
            cuda ? kiln::cuda::memory_stats(dev.index) : kiln::cuda::MemoryStats{};
        float loss_last = loss.item<float>();
        double ms = kiln_bench::median(times);
        double mn = *std::min_element(times.begin(), times.end());
        // The whole step's compile time: what the first step and the warm-up steps took beyond
        // a steady step (torch_gpu.py counts torch.compile's the same way).
        double compile_ms = first_ms - ms;
        for (double w : warmup_ms) compile_ms += std::max(0.0, w - ms);
        double flops = 0;  // forward 2*B*in*out per layer, backward twice that
        for (size_t i = 0; i + 1 < sz.size(); ++i) flops += 6.0 * double(batch * sz[i] * sz[i + 1]);
        double steps = bench.reps;
        rows.push_back({"MLP step " + std::to_string(sz[0]) + "-" + std::to_string(sz[1]) + "-" +
                            std::to_string(sz[2]) + "-" + std::to_string(sz[3]) + ", batch " +
                            std::to_string(batch),
                        fmt("%.3f ms", ms), fmt("%.1f TFLOP/s", flops / (ms * 1e-3) / 1e12),
                        fmt("loss %.4f", loss_first) + fmt(" -> %.4f", loss_last)});
        rows.push_back(
            {"  first step (compile)", fmt("%.1f ms", first_ms), "",
             fmt("compile ~%.1f ms", compile_ms) +
                 fmt(", %.0f kernels compiled", double(c1.kernels_compiled - c0.kernels_compiled)) +
                 fmt(", %.0f from disk", double(c1.disk_hits - c0.disk_hits))});
        std::string sizes;
        for (int64_t v : sz) sizes += (sizes.empty() ? "" : "-") + std::to_string(v);
        Fields f;
        f.num("batch", double(batch))
            .str("sizes", sizes)
            .num("ms", ms)
            .num("min_ms", mn)
            .num("tflops", flops / (ms * 1e-3) / 1e12)
            .num("first_ms", first_ms)
            .num("compile_wall_ms", compile_ms)
            .num("programs_compiled_first_steps",
                 double(s1.program_cache_misses - s0.program_cache_misses))
            .num("programs_compiled_in_loop",
                 double(s3.program_cache_misses - s2.program_cache_misses))
            .num("realizations_per_step", double(s3.realizations - s2.realizations) / steps)
            .num("launches_per_step", double(s3.kernels_launched - s2.kernels_launched) / steps)
            .num("extern_calls_per_step", double(s3.extern_calls - s2.extern_calls) / steps)
            .num("driver_allocations_in_loop",
                 double(m1.driver_allocations - m0.driver_allocations))
            .num("loss_first", loss_first)
            .num("loss_last", loss_last);
        add_compile_delta(f, c0, c1);
        return f;
    });

    // ---- what the kernel compiler did in this whole process
    if (args.only.empty()) {
        measure("compile", [&] {
            kiln::cuda::CompileStats c = compile_stats(dev);
            double compiled = double(c.kernels_compiled - at_start.kernels_compiled);
            double disk = double(c.disk_hits - at_start.disk_hits);
            double ms = c.compile_ms - at_start.compile_ms;
            // compile_ms counts NVRTC compiles and disk loads alike: per kernel, a run is cold
            // (all compiled) or warm (all from disk) when the cache directory was empty or full.
            std::string mode = compiled > 0 && disk == 0    ? "cold"
                               : compiled == 0 && disk > 0  ? "warm"
                               : compiled == 0 && disk == 0 ? "none"
                                                            : "mixed";
            double per = compiled + disk > 0 ? ms / (compiled + disk) : std::nan("");
            rows.push_back(
                {std::string(cuda ? "NVRTC" : "LLVM") + " compile per kernel (" + mode + ")",
                 std::isfinite(per) ? fmt("%.1f ms", per) : "n/a", "",
                 fmt("%.0f compiled", compiled) + fmt(", %.0f from disk", disk) +
                     fmt(", %.0f from memory", double(c.memory_hits - at_start.memory_hits))});
            return Fields()
                .str("mode", mode)
                .num("kernels_compiled", compiled)
                .num("disk_hits", disk)
                .num("memory_hits", double(c.memory_hits - at_start.memory_hits))
                .num("compile_ms", ms)
                .num("ms_per_kernel", per);
        });
    }

    std::printf("\nKiln GPU benchmark on %s (%s)%s; medians of %d (x%d calls per region)\n\n",
                device_name.c_str(), dev.str().c_str(), quick ? ", QUICK sizes" : "", bench.reps,
                inner);
    std::printf("%-48s %12s %14s  %s\n", "measurement", "time", "rate", "note");
    for (const Row& r : rows)
        std::printf("%-48s %12s %14s  %s\n", r.name.c_str(), r.time.c_str(), r.rate.c_str(),
                    r.note.c_str());
    if (!args.json.empty()) std::printf("\nwrote %s\n", args.json.c_str());
    return report.errors.empty() ? 0 : 1;
}
