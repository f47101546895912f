// Compiled into libkiln only with KILN_LLVM_STATIC=ON (see CMakeLists.txt).
//
// Debian 12's libLLVMSupport.a (Process.cpp, llvm::sys::Process::GetRandomNumber, used for
// unique temporary file names) calls arc4random, which glibc has only since 2.36. Linked
// statically, that call would make libkiln.so refuse to load on an older glibc (Ubuntu 22.04
// has 2.35) although nothing else in it needs more than 2.34. This hidden definition, from
// getrandom (glibc 2.25), satisfies LLVM's reference inside libkiln instead of glibc's.
// No glibc header that declares arc4random (<stdlib.h>) may be included here.
#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

extern "C" __attribute__((visibility("hidden"))) std::uint32_t arc4random(void) {
    std::uint32_t value = 0;
    for (;;) {
        ssize_t n = getrandom(&value, sizeof value, 0);
        if (n == static_cast<ssize_t>(sizeof value)) return value;
        if (n < 0 && errno != EINTR) break;
    }
    // No getrandom (a kernel before 3.17): enough for a temporary file name.
    auto ticks = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    return static_cast<std::uint32_t>((ticks ^ (ticks >> 32)) * 2654435761u);
}
