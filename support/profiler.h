#pragma once
/// The profiler's recording side (the public side is include/kiln/profiler.h): spans of time
/// that become Chrome / Perfetto "complete" events (`"ph": "X"`).
///
/// Cost when the profiler is off: a Span's constructor does one relaxed atomic load and its
/// destructor one test of a bool; nothing locks, allocates or reads the environment. Hot paths
/// (recording an op) test `active()` themselves and only then build a Span.
///
/// While on, each thread appends finished events to its own buffer (created at its first event
/// and registered in a global list under a mutex; a per-buffer mutex, uncontended except while
/// stop() collects, keeps it race-free). stop() merges the buffers. Timestamps are steady_clock,
/// written relative to start(). Events of a span that began in an earlier session are dropped.
/// A thread keeps at most kMaxEventsPerThread events per session; later ones are counted in the
/// trace's "otherData": {"dropped_events": N}.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::support::profiler {

namespace detail {
extern std::atomic<bool> g_active;
extern std::atomic<uint32_t> g_session;
}  // namespace detail

inline constexpr size_t kMaxEventsPerThread = size_t(1) << 20;

/// True while a session runs (one relaxed load: the check every instrumented path makes).
inline bool active() noexcept { return detail::g_active.load(std::memory_order_relaxed); }

/// steady_clock now, in nanoseconds.
int64_t now_ns() noexcept;

/// A span of time on the calling thread, from construction to destruction, recorded as one
/// event when the profiler was running at construction. `category` and `name` must outlive the
/// span (string literals); set_name() gives a computed name instead. Never throws.
class Span {
public:
    Span(const char* category, const char* name) noexcept : category_(category), name_(name) {
        if (active()) [[unlikely]]
            begin();
    }
    ~Span() {
        if (on_) [[unlikely]]
            end();
    }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;

    /// True when this span is being recorded: compute names and arguments only then.
    explicit operator bool() const noexcept { return on_; }

    /// Replaces the name (call only when recording).
    void set_name(std::string name) noexcept;
    /// Adds an argument shown with the event (`"args": {...}`; call only when recording).
    void arg(std::string_view key, int64_t value) noexcept;
    void arg(std::string_view key, double value) noexcept;
    void arg(std::string_view key, std::string_view value) noexcept;
    void arg(std::string_view key, const char* value) noexcept {
        arg(key, std::string_view(value));
    }
    void arg(std::string_view key, bool value) noexcept;
    /// Ends the span now (the destructor then does nothing).
    void finish() noexcept {
        if (on_) end();
    }

private:
    void begin() noexcept;
    void end() noexcept;

    const char* category_;
    const char* name_;
    bool on_ = false;
    uint32_t session_ = 0;
    int64_t start_ns_ = 0;
    std::string dynamic_name_;
    std::string args_;  // JSON members without braces: "a":1,"b":"x"
};

/// Records a finished event on the calling thread (when recording). `args_json` is a list of
/// JSON object members without braces, or "".
void add_event(const char* category, std::string name, int64_t start_ns, int64_t end_ns,
               std::string args_json) noexcept;

/// Names the calling thread in traces (Perfetto's thread name). Cheap; call it once when a
/// thread starts, before its first event.
void set_thread_name(std::string name) noexcept;

/// Events recorded by all threads and not yet collected by stop() (for tests: 0 while the
/// profiler has never run).
size_t buffered_events() noexcept;

/// Appends `s` to `out` as a JSON string literal (quotes and escapes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace kiln::support::profiler
