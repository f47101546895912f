#pragma once
/// Libraries loaded with dlopen at run time (the CUDA driver, NVRTC, cuBLAS): never linked, so one
/// build runs with or without them. Loaded libraries stay loaded for the life of the process.
#include <functional>
#include <string>
#include <vector>

namespace kiln::support {

/// Looks up a library's entry points, remembering the names it lacks.
class Symbols {
public:
    explicit Symbols(void* library) : library_(library) {}
    /// Sets `fn` to the symbol `name` (nullptr when missing; the name is then recorded).
    template <class Fn>
    void bind(Fn& fn, const char* name) {
        fn = reinterpret_cast<Fn>(find(name));
        if (!fn) missing_ += (missing_.empty() ? "" : ", ") + std::string(name);
    }
    /// The missing names, comma-separated; "" when every bind() found its symbol.
    const std::string& missing() const { return missing_; }

private:
    void* find(const char* name) const;
    void* library_;
    std::string missing_;
};

/// A library that loaded, or why none did.
struct SharedLibrary {
    void* handle = nullptr;  ///< nullptr when none of the candidates loaded
    std::string path;        ///< the candidate that loaded
    /// One line per candidate tried, "\n  PATH: why" (the loader's error or `accept`'s reason).
    std::string tried;
};

/// Loads the first of `candidates` (dlopen, RTLD_NOW | RTLD_LOCAL: its symbols never interpose
/// on the host program's) that `accept` takes: `accept` returns "" to keep the library, or why
/// it is unusable (then it is closed and the next candidate tried). Only $`env_var` when that
/// variable is set and not empty (tests load stand-ins that way). Thread-compatible.
SharedLibrary load_shared_library(const char* env_var, const std::vector<std::string>& candidates,
                                  const std::function<std::string(void*)>& accept = {});

}  // namespace kiln::support
