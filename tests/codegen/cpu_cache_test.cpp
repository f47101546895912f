// The CPU backend's kernel caches (memory, then disk), its IR output and target description.
#include <fstream>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "codegen/kernel_util.h"

using namespace kiln;
using namespace kiln::test;

namespace {

/// A fresh, empty directory removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("kiln_codegen_test_" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

ir::LoopKernel saxpy(const char* name) {
    NodeRef x = load(0, kFloat32, var(0)), y = load(1, kFloat32, var(0));
    return elementwise(name, {kFloat32, kFloat32}, kFloat32, 100, add(mul(cst(3, kFloat32), x), y));
}

void check_saxpy(runtime::KernelFn fn) {
    std::vector<float> x(100), y(100), out(100, 0);
    for (int i = 0; i < 100; ++i) x[i] = i * 0.5f, y[i] = 100.0f - i;
    run(fn, {x.data(), y.data(), out.data()}, 0, 100);
    for (int i = 0; i < 100; ++i) REQUIRE(out[i] == 3.0f * x[i] + y[i]);
}

/// The disk cache entry the compiler writes for `kernel` (the only file in `dir`).
std::filesystem::path only_entry(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    REQUIRE(files.size() == 1);
    return files[0];
}

}  // namespace

TEST_CASE("second compile of a kernel is a memory hit", "[codegen][cache]") {
    TempDir dir;
    codegen::CpuCompiler c(dir.path);
    runtime::KernelFn a = c.compile(saxpy("k"));
    runtime::KernelFn b = c.compile(saxpy("k"));
    CHECK(a == b);
    codegen::CompileStats s = c.stats();
    CHECK(s.kernels_compiled == 1);
    CHECK(s.memory_hits == 1);
    CHECK(s.disk_hits == 0);
    CHECK(s.compile_ms > 0);
    check_saxpy(b);
    // Another name is another kernel (and another symbol in the same JIT).
    check_saxpy(c.compile(saxpy("k2")));
    CHECK(c.stats().kernels_compiled == 2);
}

TEST_CASE("a new compiler on the same directory loads the object from disk", "[codegen][cache]") {
    TempDir dir;
    {
        codegen::CpuCompiler first(dir.path);
        check_saxpy(first.compile(saxpy("k")));
    }
    codegen::CpuCompiler second(dir.path);
    check_saxpy(second.compile(saxpy("k")));
    codegen::CompileStats s = second.stats();
    CHECK(s.disk_hits == 1);
    CHECK(s.kernels_compiled == 0);
    // The entry is where the disk cache says it is (keyed by more than the kernel text).
    std::filesystem::path entry = only_entry(dir.path);
    CHECK(entry.parent_path().string().rfind(dir.path.string(), 0) == 0);
}

TEST_CASE("a corrupted cache entry is recompiled, never trusted", "[codegen][cache]") {
    TempDir dir;
    {
        codegen::CpuCompiler first(dir.path);
        first.compile(saxpy("k"));
    }
    std::filesystem::path entry = only_entry(dir.path);
    auto size = std::filesystem::file_size(entry);
    REQUIRE(size > 64);
    {
        std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(size / 2));
        const char junk[16] = {'\xde', '\xad', '\xbe', '\xef', 0,      0,      0,      0,
                               '\x0f', '\x0b', '\xcc', '\xcc', '\xcc', '\xcc', '\xff', '\xff'};
        f.write(junk, sizeof(junk));
    }
    codegen::CpuCompiler second(dir.path);
    check_saxpy(second.compile(saxpy("k")));
    CHECK(second.stats().disk_hits == 0);
    CHECK(second.stats().kernels_compiled == 1);
    // The recompiled object was stored again and is good for the next process.
    codegen::CpuCompiler third(dir.path);
    check_saxpy(third.compile(saxpy("k")));
    CHECK(third.stats().disk_hits == 1);
}

TEST_CASE("optimized IR of an f32 add is vectorized", "[codegen]") {
    TempDir dir;
    codegen::CpuCompiler c(dir.path);
    NodeRef x = load(0, kFloat32, var(0)), y = load(1, kFloat32, var(0));
    auto k = elementwise("vadd", {kFloat32, kFloat32}, kFloat32, 4096, add(x, y));
    std::string ir = c.llvm_ir(k, true);
    bool wide = ir.find("<16 x float>") != std::string::npos;
    bool vectorized = wide || ir.find("<8 x float>") != std::string::npos;
    if (!wide) WARN("f32 add vectorized with less than 16 lanes:\n" << ir);
    CHECK(vectorized);
    // noalias buffers: no runtime overlap checks.
    CHECK(ir.find("vector.memcheck") == std::string::npos);
    std::string raw = c.llvm_ir(k, false);
    CHECK(raw.find("noalias") != std::string::npos);
    CHECK(raw.find("x float>") == std::string::npos);
    CHECK(raw.find("define void @kiln_k") != std::string::npos);
    // llvm_ir never compiles into the JIT or the caches.
    CHECK(c.stats().kernels_compiled == 0);
    CHECK((!std::filesystem::exists(dir.path) || std::filesystem::is_empty(dir.path)));
}

TEST_CASE("target description names the CPU and its features", "[codegen]") {
    codegen::CpuCompiler c{std::filesystem::path{}};
    std::string d = c.target_description();
    INFO(d);
    CHECK(d.find(' ') != std::string::npos);
#if defined(__x86_64__)
    CHECK(d.find("+sse2") != std::string::npos);
#endif
}

TEST_CASE("concurrent compiles from several threads", "[codegen][cache]") {
    TempDir dir;
    codegen::CpuCompiler c(dir.path);
    const char* names[] = {"t0", "t1", "t2", "t3", "t4"};
    std::vector<std::thread> threads;
    std::vector<std::vector<runtime::KernelFn>> got(4);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) got[t].push_back(c.compile(saxpy(names[(i + t) % 5])));
        });
    for (std::thread& t : threads) t.join();
    for (int t = 0; t < 4; ++t)
        for (int i = 0; i < 5; ++i) {
            CHECK(got[t][i] == got[0][(i + t) % 5]);
            check_saxpy(got[t][i]);
        }
    CHECK(c.stats().kernels_compiled == 5);
    CHECK(c.stats().memory_hits == 15);
}

TEST_CASE("the global compiler is one object", "[codegen]") {
    CHECK(&codegen::CpuCompiler::global() == &codegen::CpuCompiler::global());
}
