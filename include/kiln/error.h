#pragma once
/// Errors Kiln throws. User mistakes are `kiln::Error` (or a subclass); internal faults are
/// `kiln::InternalError` raised by KILN_CHECK. Kiln never aborts or exits the host process.
#include <source_location>
#include <stdexcept>
#include <string>

namespace kiln {

/// A user mistake: the message names the op, the shapes/dtypes involved and the call site.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Shapes that do not fit an op (broadcasting, matmul, reshape, dims out of range).
class ShapeError : public Error {
public:
    using Error::Error;
};

/// Dtypes that do not fit an op.
class TypeError : public Error {
public:
    using Error::Error;
};

/// An argument value that is not allowed (negative size, bad step, unknown option).
class ValueError : public Error {
public:
    using Error::Error;
};

/// An index read from data is out of range (an embedding id, a class target, a gather index).
/// The message names the op, the offending value, the bound and the call site.
class IndexError : public Error {
public:
    using Error::Error;
};

/// Memory ran out (the system refused an allocation, or an address-space limit was reached).
/// The message says how many bytes were asked for, what the caching allocator holds in use and
/// in its cache, the op and the call site. Nothing is left half-done: the tensors involved keep
/// their previous state, so freeing memory (dropping tensors) and retrying works. Like PyTorch's
/// torch.OutOfMemoryError.
class OutOfMemoryError : public Error {
public:
    using Error::Error;
};

/// A malformed file or text (IR text, a corrupt cache entry given to a tool).
class ParseError : public Error {
public:
    using Error::Error;
};

/// A bug inside Kiln (a broken invariant), never a user mistake.
class InternalError : public std::logic_error {
public:
    explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

/// "file.cpp:42" for a call site (the file's base name only).
std::string format_location(const std::source_location& loc);

namespace detail {
[[noreturn]] void internal_check_failed(const char* cond, const std::string& msg, const char* file,
                                        int line);
}  // namespace detail

}  // namespace kiln

/// Internal invariant. The message is only built when the check fails.
#define KILN_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) [[unlikely]]                                                                  \
            ::kiln::detail::internal_check_failed(#cond, std::string(__VA_ARGS__), __FILE__,      \
                                                  __LINE__);                                       \
    } while (0)
