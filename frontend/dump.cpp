// KILN_DUMP: writes realized graphs as .kir files and the kernels of their programs. Everything
// here swallows errors: a debugging aid must never make the program it observes fail.
#include "frontend/dump.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

#include "codegen/cpu_compiler.h"
#include "ir/printer.h"
#include "runtime/executor.h"
#include "support/debug.h"
#include "support/files.h"

namespace kiln::detail {
namespace {

std::atomic<uint64_t> g_next_number{0};
std::atomic<uint64_t> g_next_temp{0};
std::atomic<bool> g_warned{false};

/// One warning per process: a full disk would otherwise print one line per realization.
/// Takes a string_view so that the catch handlers below can call it without allocating.
void warn_once(std::string_view what) noexcept {
    if (g_warned.exchange(true)) return;
    std::fprintf(stderr, "kiln: warning: KILN_DUMP: %.*s (further dump errors are not reported)\n",
                 static_cast<int>(what.size()), what.data());
}

std::string errno_text(int e) { return std::strerror(e); }

/// Runs a dump step; an exception becomes the one warning: a dump never stops the program.
template <class Write>
std::optional<std::filesystem::path> guarded(Write&& write) noexcept {
    try {
        return write();
    } catch (const std::exception& ex) {
        warn_once(ex.what());
    } catch (...) {
        warn_once("unknown error");
    }
    return std::nullopt;
}

/// `text` written atomically to `target`, or the warning saying why not.
std::optional<std::filesystem::path> write_or_warn(const std::filesystem::path& target,
                                                   std::string_view text) {
    std::string problem = support::write_file_atomically(target, text);
    if (problem.empty()) return target;
    warn_once(fmt::format("cannot write {}: {}", target.string(), problem));
    return std::nullopt;
}

}  // namespace

std::optional<std::filesystem::path> dump_graph(const std::filesystem::path& dir,
                                                const std::vector<ir::NodeRef>& roots) noexcept {
    return guarded([&]() -> std::optional<std::filesystem::path> {
        std::string text = "# a graph realized by a Kiln program (KILN_DUMP); inspect it with "
                           "`kiln fuse FILE` or `kiln run FILE`\n" +
                           ir::print_graph(roots);
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            warn_once(fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
            return std::nullopt;
        }
        // Write under a private temporary name, then give it its final name in one step.
        std::filesystem::path temp =
            dir / fmt::format(".graph_tmp_{}_{}.kir", ::getpid(), g_next_temp.fetch_add(1));
        if (int e = support::write_new_file(temp.c_str(), text)) {
            warn_once(fmt::format("cannot write {}: {}", temp.string(), errno_text(e)));
            return std::nullopt;
        }
        // link() fails with EEXIST instead of replacing: a number taken by an earlier run or by
        // another process dumping into the same directory is skipped, never overwritten.
        for (;;) {
            std::filesystem::path target =
                dir / fmt::format("graph_{:04}.kir", g_next_number.fetch_add(1));
            if (::link(temp.c_str(), target.c_str()) == 0) {
                ::unlink(temp.c_str());
                return target;
            }
            int e = errno;
            if (e == EEXIST) continue;
            if (e == EPERM || e == EOPNOTSUPP || e == EXDEV || e == EMLINK) {
                // A file system without hard links: rename, after checking the name is free
                // (racy between processes, but never leaves a partial file).
                if (std::filesystem::exists(target, ec)) continue;
                if (::rename(temp.c_str(), target.c_str()) == 0) return target;
                e = errno;
            }
            ::unlink(temp.c_str());
            warn_once(fmt::format("cannot create {}: {}", target.string(), errno_text(e)));
            return std::nullopt;
        }
    });
}

std::optional<std::filesystem::path>
dump_graph_if_requested(const std::vector<ir::NodeRef>& canonical_roots) noexcept {
    // support::dump_dir() reads KILN_DUMP once: the realize driver calls this on every
    // realization, including cache hits, and getenv is not free.
    if (const std::filesystem::path* dir = support::dump_dir())
        return dump_graph(*dir, canonical_roots);
    return std::nullopt;
}

std::filesystem::path kernels_file_for(const std::filesystem::path& graph_file) {
    std::filesystem::path p = graph_file;
    p.replace_extension(".kernels.txt");
    return p;
}

std::string program_kernels_text(const ir::Program& program, const std::string& graph_name) {
    int64_t kernels = 0;
    for (const ir::Step& step : program.steps)
        if (std::holds_alternative<ir::KernelStep>(step)) ++kernels;
    codegen::CpuCompiler& compiler = codegen::CpuCompiler::global();
    std::string text = fmt::format(
        "# The program Kiln compiled for {} (KILN_DUMP): {} steps, {} kernels, {} extern calls.\n"
        "# Graphs that reused it from the program cache have this file under their own name.\n"
        "# Each kernel: its loop kernel, then its optimized LLVM IR for {}.\n",
        graph_name, program.steps.size(), kernels,
        static_cast<int64_t>(program.steps.size()) - kernels, compiler.target_description());
    for (size_t s = 0; s < program.steps.size(); ++s) {
        const ir::Step& step = program.steps[s];
        text += fmt::format("\n# step {}: {}\n", s, runtime::step_label(step));
        const auto* ks = std::get_if<ir::KernelStep>(&step);
        if (!ks) continue;
        text += ir::print_loop_kernel(ks->kernel);
        text += fmt::format("# step {}: kernel {}: optimized LLVM IR\n", s, ks->kernel.name);
        try {
            text += compiler.llvm_ir(ks->kernel, true);
        } catch (const std::bad_alloc&) {
            throw;
        } catch (const std::exception& e) {
            text += fmt::format("# (no LLVM IR: {})\n", e.what());
        }
    }
    return text;
}

std::optional<std::filesystem::path> dump_kernels(const std::filesystem::path& graph_file,
                                                  const ir::Program& program) noexcept {
    return guarded([&] {
        return write_or_warn(kernels_file_for(graph_file),
                             program_kernels_text(program, graph_file.filename().string()));
    });
}

std::optional<std::filesystem::path>
dump_cached_kernels(const std::filesystem::path& compiled_kernels,
                    const std::filesystem::path& graph_file) noexcept {
    return guarded([&]() -> std::optional<std::filesystem::path> {
        std::filesystem::path target = kernels_file_for(graph_file);
        // Link under a temporary name, then rename over the target: one step, and a stale file
        // of that name (left by an earlier run) is replaced.
        std::filesystem::path temp =
            target.parent_path() /
            fmt::format(".kernels_tmp_{}_{}.txt", ::getpid(), g_next_temp.fetch_add(1));
        if (::link(compiled_kernels.c_str(), temp.c_str()) == 0) {
            if (::rename(temp.c_str(), target.c_str()) == 0) return target;
            int e = errno;
            ::unlink(temp.c_str());
            warn_once(fmt::format("cannot create {}: {}", target.string(), errno_text(e)));
            return std::nullopt;
        }
        // No hard links here (or the first file is gone): a note naming the file instead.
        std::string note = fmt::format(
            "# {} reused the program compiled for an earlier graph (a program cache hit); its "
            "kernels are in {}\n",
            graph_file.filename().string(), compiled_kernels.filename().string());
        return write_or_warn(target, note);
    });
}

}  // namespace kiln::detail
