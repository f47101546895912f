#include "support/debug.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace kiln::support {
namespace {

/// The switches, read together at the first use. Leaked: the KILN_PROFILE writer runs at exit,
/// after static destructors may have run.
struct Switches {
    int debug = 0;
    std::filesystem::path dump;
    std::filesystem::path profile;
};

const Switches& switches() noexcept {
    static const Switches* s = []() noexcept {
        auto* out = new (std::nothrow) Switches();
        if (!out) return static_cast<Switches*>(nullptr);
        if (const char* v = std::getenv("KILN_DEBUG"); v && *v) {
            char* end = nullptr;
            long level = std::strtol(v, &end, 10);
            if (end != v && level > 0) out->debug = level > 4 ? 4 : static_cast<int>(level);
        }
        try {
            if (const char* v = std::getenv("KILN_DUMP"); v && *v) out->dump = v;
            if (const char* v = std::getenv("KILN_PROFILE"); v && *v) out->profile = v;
        } catch (...) {
            std::fputs("kiln: warning: cannot use KILN_DUMP / KILN_PROFILE (out of memory)\n",
                       stderr);
        }
        return out;
    }();
    static const Switches none;
    return s ? *s : none;
}

}  // namespace

int debug_level() noexcept { return switches().debug; }

const std::filesystem::path* dump_dir() noexcept {
    const Switches& s = switches();
    return s.dump.empty() ? nullptr : &s.dump;
}

const std::filesystem::path* profile_path() noexcept {
    const Switches& s = switches();
    return s.profile.empty() ? nullptr : &s.profile;
}

void debug_print(std::string_view text) noexcept {
    static std::mutex* m = new std::mutex();  // leaked: used at exit too
    std::lock_guard lock(*m);
    std::fwrite(text.data(), 1, text.size(), stderr);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', stderr);
    std::fflush(stderr);
}

}  // namespace kiln::support
