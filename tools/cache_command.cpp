// `kiln cache ls|stats|clear|verify`: the on-disk kernel cache ($KILN_CACHE_DIR, default
// ~/.cache/kiln) that every Kiln process shares.
#include <chrono>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "runtime/disk_cache.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/explain.h"

namespace kiln::cli {
namespace {

/// What an entry holds, from its key's first line: "kernel e_add_mul", "math library ...".
std::string entry_kind(const runtime::DiskCacheEntry& e) {
    if (!e.problem.empty()) return e.problem;
    std::string first = e.key.substr(0, e.key.find('\n'));
    if (first.rfind("kernel ", 0) == 0) first = first.substr(0, first.find('('));
    return first;
}

std::string age(std::filesystem::file_time_type t) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                       std::filesystem::file_time_type::clock::now() - t)
                       .count();
    if (seconds < 120) return fmt::format("{} s ago", seconds);
    if (seconds < 7200) return fmt::format("{} min ago", seconds / 60);
    if (seconds < 172800) return fmt::format("{} h ago", seconds / 3600);
    return fmt::format("{} days ago", seconds / 86400);
}

int run_cache(const std::string& what) {
    runtime::DiskCache cache(runtime::DiskCache::default_dir());
    std::vector<runtime::DiskCacheEntry> entries = cache.entries();
    int64_t bytes = 0, bad = 0;
    for (const auto& e : entries) bytes += e.bytes, bad += !e.problem.empty();
    if (what == "ls") {
        for (const auto& e : entries)
            fmt::print("{}  {:>10}  {:<12}  {}\n", e.path.filename().string(), human_bytes(e.bytes),
                       age(e.modified), entry_kind(e));
        fmt::print("{} entries, {} in {}\n", entries.size(), human_bytes(bytes),
                   cache.dir().string());
    } else if (what == "stats") {
        std::map<std::string, std::pair<int64_t, int64_t>> kinds;  // kind -> count, bytes
        for (const auto& e : entries) {
            std::string kind = !e.problem.empty()                      ? "corrupt"
                               : e.key.rfind("math library", 0) == 0 ? "math library"
                                                                      : "kernel";
            kinds[kind].first++;
            kinds[kind].second += e.bytes;
        }
        fmt::print("cache directory: {}\n", cache.dir().string());
        fmt::print("entries: {} ({})\n", entries.size(), human_bytes(bytes));
        for (const auto& [kind, cb] : kinds)
            fmt::print("  {:<13} {:>6}  {}\n", kind, cb.first, human_bytes(cb.second));
        if (!entries.empty()) {
            auto [oldest, newest] = std::minmax_element(
                entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.modified < b.modified; });
            fmt::print("oldest: {}, newest: {}\n", age(oldest->modified), age(newest->modified));
        }
    } else if (what == "clear") {
        int64_t removed = runtime::DiskCache::remove(entries);
        fmt::print("removed {} of {} entries ({}) from {}\n", removed, entries.size(),
                   human_bytes(bytes), cache.dir().string());
        if (removed != static_cast<int64_t>(entries.size()))
            throw Error(fmt::format("could not remove {} entries of {}",
                                    static_cast<int64_t>(entries.size()) - removed,
                                    cache.dir().string()));
    } else {  // verify
        std::vector<runtime::DiskCacheEntry> corrupt;
        for (const auto& e : entries)
            if (!e.problem.empty()) corrupt.push_back(e);
        for (const auto& e : corrupt)
            fmt::print("corrupt: {} ({}): {}\n", e.path.filename().string(), human_bytes(e.bytes),
                       e.problem);
        int64_t removed = runtime::DiskCache::remove(corrupt);
        fmt::print("{} entries checked in {}: {} intact, {} corrupt ({} removed)\n",
                   entries.size(), cache.dir().string(), entries.size() - corrupt.size(),
                   corrupt.size(), removed);
    }
    return kExitOk;
}

}  // namespace

void add_cache(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("cache", "the on-disk kernel cache: ls|stats|clear|verify");
    std::string about = "The on-disk kernel cache shared by Kiln processes ($KILN_CACHE_DIR, "
                     "default ~/.cache/kiln): ls lists entries, stats sums them up, clear "
                     "removes them all, verify checks every entry as a load would and removes "
                     "the corrupt ones.";
    auto what = std::make_shared<std::string>();
    cmd->add_option("ACTION", *what, "ls, stats, clear or verify")
        ->required()
        ->check(CLI::IsMember({"ls", "stats", "clear", "verify"}));
    set_help(*cmd, about, "  kiln cache stats\n  KILN_CACHE_DIR=/tmp/cache kiln cache verify");
    cmd->callback([&action, what] { action = [what] { return run_cache(*what); }; });
}

}  // namespace kiln::cli
