// The profiler: per-thread event buffers, sessions (kiln::profiler::start/stop, KILN_PROFILE)
// and the Chrome trace writer.
#include "support/profiler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include "kiln/error.h"
#include "kiln/profiler.h"
#include "support/debug.h"
#include "support/files.h"

namespace kiln::support::profiler {

namespace detail {
constinit std::atomic<bool> g_active{false};
constinit std::atomic<uint32_t> g_session{0};
}  // namespace detail

namespace {

using detail::g_active;
using detail::g_session;

struct Event {
    int64_t start_ns = 0;
    int64_t end_ns = 0;
    uint32_t session = 0;
    const char* category = "";
    std::string name;
    std::string args;
};

/// One thread's events. Only its thread appends; stop() and start() take the events out or
/// clear them, under `mutex` (uncontended otherwise).
struct ThreadBuffer {
    std::mutex mutex;
    /// In chunks of kChunk, so that a long session never moves the events it already holds.
    std::vector<std::vector<Event>> chunks;
    size_t count = 0;
    int64_t dropped = 0;
    int64_t tid = 0;
    std::string thread_name;
    /// Set when the thread has exited: the registry drops the buffer once it has been read.
    std::atomic<bool> exited{false};
};

/// Every thread's buffer. Leaked: threads may record and the KILN_PROFILE writer may run while
/// static destructors run at exit.
struct Registry {
    std::mutex mutex;
    std::vector<std::shared_ptr<ThreadBuffer>> buffers;
};

Registry& registry() {
    static Registry* r = new Registry();
    return *r;
}

/// Serializes start() and stop(); guards g_origin_ns.
constinit std::mutex g_session_mutex;
int64_t g_origin_ns = 0;

thread_local ThreadBuffer* t_buffer = nullptr;  // owned by the registry
thread_local bool t_exited = false;             // this thread's exit handlers have run
thread_local char t_name[64] = {};              // from set_thread_name() (trivially destroyed)

/// Marks the thread's buffer as exited when the thread ends.
struct ExitNotifier {
    ~ExitNotifier() {
        if (t_buffer) t_buffer->exited.store(true, std::memory_order_release);
        t_buffer = nullptr;
        t_exited = true;
    }
};

int64_t current_tid() noexcept { return static_cast<int64_t>(::syscall(SYS_gettid)); }

ThreadBuffer* this_thread_buffer() {
    if (t_buffer) return t_buffer;
    if (t_exited) return nullptr;  // recording from a thread_local destructor: dropped
    thread_local ExitNotifier notifier;
    (void)notifier;
    auto buffer = std::make_shared<ThreadBuffer>();
    buffer->tid = current_tid();
    if (t_name[0])
        buffer->thread_name = t_name;
    else if (buffer->tid == ::getpid())
        buffer->thread_name = "main";
    else
        buffer->thread_name = fmt::format("thread {}", buffer->tid);
    {
        Registry& r = registry();
        std::lock_guard lock(r.mutex);
        r.buffers.push_back(buffer);
    }
    t_buffer = buffer.get();
    return t_buffer;
}

void push(Event&& e) {
    ThreadBuffer* b = this_thread_buffer();
    if (!b) return;
    constexpr size_t kChunk = 4096;
    std::lock_guard lock(b->mutex);
    if (b->count >= kMaxEventsPerThread) {
        ++b->dropped;
        return;
    }
    if (b->chunks.empty() || b->chunks.back().size() == kChunk) {
        b->chunks.emplace_back();
        b->chunks.back().reserve(kChunk);
    }
    b->chunks.back().push_back(std::move(e));
    ++b->count;
}

void append_key(std::string& args, std::string_view key) {
    if (args.empty())
        args.reserve(64);  // one allocation for a few arguments
    else
        args += ',';
    append_json_string(args, key);
    args += ':';
}

/// Microseconds since `origin`, as Chrome wants them (fractions allowed).
void append_us(std::string& out, int64_t ns) {
    fmt::format_to(std::back_inserter(out), "{:.3f}", ns / 1e3);
}

struct Collected {
    struct Thread {
        int64_t tid = 0;
        std::string name;
    };
    std::vector<Thread> threads;
    std::vector<std::pair<int64_t, Event>> events;  // (tid, event)
    int64_t dropped = 0;
};

/// Takes every buffered event of `session` out of the buffers (others are discarded) and drops
/// the buffers of exited threads.
Collected collect(uint32_t session) {
    Collected c;
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    for (const std::shared_ptr<ThreadBuffer>& b : r.buffers) {
        std::vector<std::vector<Event>> chunks;
        int64_t dropped = 0;
        std::string name;
        {
            std::lock_guard block(b->mutex);
            chunks.swap(b->chunks);
            b->count = 0;
            dropped = b->dropped;
            b->dropped = 0;
            name = b->thread_name;
        }
        bool any = false;
        for (std::vector<Event>& chunk : chunks)
            for (Event& e : chunk) {
                if (e.session != session) continue;
                c.events.emplace_back(b->tid, std::move(e));
                any = true;
            }
        if (any) c.threads.push_back({b->tid, std::move(name)});
        c.dropped += dropped;
    }
    std::erase_if(r.buffers, [](const std::shared_ptr<ThreadBuffer>& b) {
        return b->exited.load(std::memory_order_acquire);
    });
    return c;
}

std::string trace_json(Collected& c, int64_t origin_ns) {
    std::sort(c.events.begin(), c.events.end(), [](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first < b.first;
        if (a.second.start_ns != b.second.start_ns) return a.second.start_ns < b.second.start_ns;
        return a.second.end_ns > b.second.end_ns;  // the enclosing span first
    });
    const int64_t pid = ::getpid();
    std::string out;
    out.reserve(256 + c.events.size() * 160);
    out += "{\"traceEvents\":[\n";
    fmt::format_to(std::back_inserter(out),
                   "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"tid\":0,"
                   "\"args\":{{\"name\":\"kiln\"}}}}",
                   pid);
    for (const Collected::Thread& t : c.threads) {
        fmt::format_to(std::back_inserter(out),
                       ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},"
                       "\"args\":{{\"name\":",
                       pid, t.tid);
        append_json_string(out, t.name);
        out += "}}";
    }
    for (const auto& [tid, e] : c.events) {
        out += ",\n{\"name\":";
        append_json_string(out, e.name);
        out += ",\"cat\":";
        append_json_string(out, e.category);
        out += ",\"ph\":\"X\",\"ts\":";
        append_us(out, e.start_ns - origin_ns);
        out += ",\"dur\":";
        append_us(out, std::max<int64_t>(0, e.end_ns - e.start_ns));
        fmt::format_to(std::back_inserter(out), ",\"pid\":{},\"tid\":{},\"args\":{{", pid, tid);
        out += e.args;
        out += "}}";
    }
    fmt::format_to(std::back_inserter(out),
                   "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{{\"producer\":\"kiln\","
                   "\"dropped_events\":{}}}}}\n",
                   c.dropped);
    return out;
}

/// KILN_PROFILE: a session from library load to normal exit.
void write_at_exit() noexcept {
    const std::filesystem::path* path = profile_path();
    if (!path || !kiln::profiler::running()) return;
    try {
        kiln::profiler::stop(*path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kiln: warning: KILN_PROFILE: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "kiln: warning: KILN_PROFILE: the trace could not be written\n");
    }
}

[[maybe_unused]] const bool g_started_from_env = [] {
    if (!profile_path()) return false;
    try {
        kiln::profiler::start();
    } catch (...) {
        return false;
    }
    std::atexit(write_at_exit);
    return true;
}();

}  // namespace

int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void Span::begin() noexcept {
    on_ = true;
    session_ = g_session.load(std::memory_order_acquire);
    start_ns_ = now_ns();
}

void Span::end() noexcept {
    on_ = false;
    int64_t end_ns = now_ns();
    try {
        std::string name = dynamic_name_.empty() ? std::string(name_) : std::move(dynamic_name_);
        push(Event{start_ns_, end_ns, session_, category_, std::move(name), std::move(args_)});
    } catch (...) {
        // Out of memory: the event is lost, the program goes on.
    }
}

void Span::set_name(std::string name) noexcept { dynamic_name_ = std::move(name); }

void Span::arg(std::string_view key, int64_t value) noexcept {
    try {
        append_key(args_, key);
        fmt::format_to(std::back_inserter(args_), "{}", value);
    } catch (...) {
    }
}

void Span::arg(std::string_view key, double value) noexcept {
    try {
        append_key(args_, key);
        if (std::isfinite(value))
            fmt::format_to(std::back_inserter(args_), "{}", value);
        else
            args_ += "null";
    } catch (...) {
    }
}

void Span::arg(std::string_view key, std::string_view value) noexcept {
    try {
        append_key(args_, key);
        append_json_string(args_, value);
    } catch (...) {
    }
}

void Span::arg(std::string_view key, bool value) noexcept {
    try {
        append_key(args_, key);
        args_ += value ? "true" : "false";
    } catch (...) {
    }
}

void add_event(const char* category, std::string name, int64_t start_ns, int64_t end_ns,
               std::string args_json) noexcept {
    if (!active()) return;
    try {
        push(Event{start_ns, end_ns, g_session.load(std::memory_order_acquire), category,
                   std::move(name), std::move(args_json)});
    } catch (...) {
    }
}

void set_thread_name(std::string name) noexcept {
    size_t n = std::min(name.size(), sizeof t_name - 1);
    name.copy(t_name, n);
    t_name[n] = '\0';
    if (t_buffer) {
        try {
            std::lock_guard lock(t_buffer->mutex);
            t_buffer->thread_name = t_name;
        } catch (...) {
        }
    }
}

size_t buffered_events() noexcept {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    size_t n = 0;
    for (const std::shared_ptr<ThreadBuffer>& b : r.buffers) {
        std::lock_guard block(b->mutex);
        n += b->count;
    }
    return n;
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20)
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            else
                out += ch;
        }
    }
    out += '"';
}

}  // namespace kiln::support::profiler

namespace kiln::profiler {

using support::profiler::detail::g_active;
using support::profiler::detail::g_session;

void start() {
    std::lock_guard lock(support::profiler::g_session_mutex);
    if (g_active.load(std::memory_order_relaxed))
        throw Error(support::profile_path()
                        ? "profiler::start: the profiler is already running (KILN_PROFILE=" +
                              support::profile_path()->string() + " profiles the whole run)"
                        : "profiler::start: the profiler is already running (call "
                          "kiln::profiler::stop first)");
    // Leftovers of an earlier session (spans that ended after its stop) go away now.
    support::profiler::collect(0xFFFFFFFFu);
    support::profiler::g_origin_ns = support::profiler::now_ns();
    g_session.fetch_add(1, std::memory_order_acq_rel);
    g_active.store(true, std::memory_order_release);
}

void stop(const std::filesystem::path& path) {
    std::lock_guard lock(support::profiler::g_session_mutex);
    if (!g_active.load(std::memory_order_relaxed))
        throw Error("profiler::stop: the profiler is not running (call kiln::profiler::start "
                    "first)");
    g_active.store(false, std::memory_order_release);
    support::profiler::Collected c =
        support::profiler::collect(g_session.load(std::memory_order_acquire));
    std::string text = support::profiler::trace_json(c, support::profiler::g_origin_ns);
    std::string problem = support::write_file_atomically(path, text);
    if (!problem.empty())
        throw Error("profiler: cannot write the trace " + path.string() + ": " + problem);
}

bool running() noexcept { return g_active.load(std::memory_order_relaxed); }

}  // namespace kiln::profiler
