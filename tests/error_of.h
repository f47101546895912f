#pragma once
/// error_of<E>(f): the message of the kiln::Error of type E that `f` throws, for tests that
/// check exact messages. Another kiln::Error is reported with a prefix naming the mismatch, no
/// error as "(no error)". Shared by the test binaries (header only: each binary is one dir).
#include <functional>
#include <string>

#include "kiln/error.h"

namespace kiln::test {

template <class E = Error>
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        if (dynamic_cast<const E*>(&e) == nullptr)
            return std::string("(an error of another type) ") + e.what();
        return e.what();
    }
    return "(no error)";
}

}  // namespace kiln::test
