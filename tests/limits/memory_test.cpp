// Out of memory: a 4 TiB request and an address-space limit reached while tensors accumulate
// both throw kiln::OutOfMemoryError (bytes asked for, what the allocator holds, op, call site),
// and the process keeps working once memory is freed. The limit is set in a child process (the
// test binary re-run on a hidden test), so the rest of the suite keeps its address space.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "kiln/kiln.h"

using namespace kiln;

// Under AddressSanitizer a request beyond its maximum would abort the process instead of failing
// like a real allocator: make it fail (return null), as the code under test expects.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // they reserve terabytes of shadow memory up front
#else
constexpr bool kSanitized = false;
#endif

/// Bytes of address space this process uses now (VmSize).
size_t address_space_in_use() {
    std::ifstream statm("/proc/self/statm");
    size_t pages = 0;
    statm >> pages;
    return pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

constexpr int64_t kElements = int64_t(1) << 24;  // 64 MiB of f32 per tensor

}  // namespace

TEST_CASE("a request larger than memory is an OutOfMemoryError", "[limits][memory]") {
    Tensor big = zeros({int64_t(1) << 40});
    try {
        big.realize();
        FAIL("4 TiB were allocated");
    } catch (const OutOfMemoryError& e) {
        std::string line = std::to_string(__LINE__ - 3);
        CHECK(std::regex_match(
            std::string(e.what()),
            std::regex(
                "realize: out of memory: cannot allocate 4\\.00 TiB \\(4398046511104 bytes\\) "
                "for 1099511627776 f32 elements; the CPU allocator holds .+ in use and .+ "
                "cached at memory_test\\.cpp:" +
                line)));
    }
    // Nothing was left half-done: the same tensor can still be used for what fits.
    CHECK(big.slice(0, 0, 4).sum().item<float>() == 0.0f);
    CHECK(std::is_base_of_v<Error, OutOfMemoryError>);
}

TEST_CASE("running into an address-space limit is an OutOfMemoryError, and Kiln recovers",
          "[limits][memory]") {
    if (kSanitized) {
        WARN("skipped: RLIMIT_AS cannot be tested under a sanitizer (it reserves the address "
             "space)");
        return;
    }
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        execl(self.c_str(), self.c_str(), "[.oom_child]", static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));  // not killed: no crash, no abort
    CHECK(WEXITSTATUS(status) == 0);
}

// Run only by the test above, in its child process.
TEST_CASE("oom child", "[.oom_child]") {
    // Each tensor is the previous one + 1: the same program every time, a new buffer each.
    std::vector<Tensor> held{ones({kElements})};
    held[0].realize();
    // Compile everything used below now: LLVM should not be what runs out of memory.
    CHECK((held[0] + 1.0).sum().item<float>() == 2.0f * kElements);
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = address_space_in_use() + (size_t(1) << 30);  // 1 GiB more
    REQUIRE(setrlimit(RLIMIT_AS, &limit) == 0);

    bool caught = false;
    int line = 0;
    std::string message;
    try {
        for (int i = 0; i < 64; ++i) {  // 4 GiB in all: more than the limit
            held.push_back(held.back() + 1.0);
            line = __LINE__ + 1;
            held.back().realize();
        }
    } catch (const OutOfMemoryError& e) {
        caught = true;
        message = e.what();
    }
    REQUIRE(caught);
    INFO(message);
    CHECK(held.size() > 4);
    CHECK(std::regex_match(
        message, std::regex("realize: out of memory: cannot allocate 64\\.00 MiB \\(67108864 "
                            "bytes\\) for 16777216 f32 elements; the CPU allocator holds "
                            "[0-9.]+ [MG]iB \\([0-9]+ bytes\\) in use and .+ cached at "
                            "memory_test\\.cpp:" +
                            std::to_string(line))));
    // The tensors before the failure are intact; the one that failed is still lazy.
    size_t n = held.size();
    CHECK(held[n - 2].sum().item<float>() == static_cast<float>(n - 1) * kElements);
    Tensor failed = held.back();
    held.erase(held.begin() + 1, held.end() - 1);  // frees all but the first and the failed one
    // Memory is back: the tensor that failed realizes now, and so does new work.
    CHECK(failed.sum().item<float>() == static_cast<float>(n) * kElements);
    CHECK((held[0] + 1.0).sum().item<float>() == 2.0f * kElements);
}
