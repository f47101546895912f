#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "runtime/disk_cache.h"

using namespace kiln::runtime;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("kiln-disk-cache-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string binary_payload(size_t n) {
    std::mt19937 rng(42);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

size_t file_count(const fs::path& dir) {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
    return n;
}

}  // namespace

TEST_CASE("disk cache round trip", "[runtime][disk_cache]") {
    TempDir tmp;
    DiskCache cache(tmp.path / "nested" / "dir");  // created on first store
    CHECK_FALSE(cache.load("kernel A").has_value());
    CHECK(cache.stats().misses == 1);

    std::string payload = binary_payload(100000);
    payload[10] = '\0';
    cache.store("kernel A", payload);
    cache.store("kernel B", "");
    CHECK(cache.stats().stores == 2);

    auto a = cache.load("kernel A");
    REQUIRE(a.has_value());
    CHECK(*a == payload);
    auto b = cache.load("kernel B");
    REQUIRE(b.has_value());
    CHECK(b->empty());
    CHECK(cache.stats().hits == 2);
    CHECK(cache.stats().corrupt == 0);

    // The file is where path_for says, named by 32 hex digits, and nothing else is left behind.
    fs::path file = cache.path_for("kernel A");
    CHECK(file.parent_path() == cache.dir());
    CHECK(file.filename().string().size() == 32);
    CHECK(file.filename().string().find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(fs::exists(file));
    CHECK(cache.path_for("kernel A") != cache.path_for("kernel B"));
    CHECK(file_count(cache.dir()) == 2);
    CHECK(read_all(file) == DiskCache::encode_entry("kernel A", payload));
    CHECK(read_all(file).rfind("KILNCACHE1\n", 0) == 0);

    // Overwriting replaces the entry; a second instance on the same dir sees it.
    cache.store("kernel A", "v2");
    DiskCache other(cache.dir());
    CHECK(other.load("kernel A") == std::optional<std::string>("v2"));
    CHECK(file_count(cache.dir()) == 2);
}

TEST_CASE("damaged entries are misses, counted as corrupt and deleted", "[runtime][disk_cache]") {
    TempDir tmp;
    fs::create_directories(tmp.path);
    DiskCache cache(tmp.path);
    const std::string key = "loop kernel text\nwith lines";
    const std::string payload = binary_payload(5000);
    const std::string good = DiskCache::encode_entry(key, payload);

    struct Case {
        const char* name;
        std::string bytes;
    };
    std::vector<Case> cases;
    cases.push_back({"empty file", ""});
    cases.push_back({"truncated in the magic", good.substr(0, 5)});
    cases.push_back({"truncated in the key", good.substr(0, 25)});
    cases.push_back({"truncated in the payload", good.substr(0, good.size() / 2)});
    cases.push_back({"truncated checksum", good.substr(0, good.size() - 1)});
    cases.push_back({"trailing bytes", good + "x"});
    std::string bad_magic = good;
    bad_magic[4] = 'X';
    cases.push_back({"bad magic", bad_magic});
    for (size_t pos : {size_t{11}, size_t{20}, good.size() / 2, good.size() - 3}) {
        std::string flipped = good;
        flipped[pos] = static_cast<char>(flipped[pos] ^ 0x10);
        cases.push_back({"flipped byte", flipped});
    }
    cases.push_back({"garbage", binary_payload(777)});
    cases.push_back({"entry of another key", DiskCache::encode_entry("another key", payload)});
    std::string huge_len = good;
    for (int i = 11; i < 19; ++i) huge_len[static_cast<size_t>(i)] = '\xff';
    cases.push_back({"absurd key length", huge_len});

    int64_t corrupt = 0;
    for (const Case& c : cases) {
        INFO(c.name);
        write_all(cache.path_for(key), c.bytes);
        CHECK_FALSE(cache.load(key).has_value());
        CHECK(cache.stats().corrupt == ++corrupt);
        CHECK_FALSE(fs::exists(cache.path_for(key)));
    }
    CHECK(cache.stats().hits == 0);
    // After removal a fresh store works again.
    cache.store(key, payload);
    CHECK(cache.load(key) == std::optional<std::string>(payload));
}

TEST_CASE("an entry for key A placed at key B's path is a miss", "[runtime][disk_cache]") {
    TempDir tmp;
    DiskCache cache(tmp.path);
    cache.store("key A", "payload of A");
    // Simulate a hash collision: B's file holds A's (valid) entry.
    fs::copy_file(cache.path_for("key A"), cache.path_for("key B"));
    CHECK_FALSE(cache.load("key B").has_value());
    CHECK(cache.stats().corrupt == 1);
    CHECK_FALSE(fs::exists(cache.path_for("key B")));
    CHECK(cache.load("key A") == std::optional<std::string>("payload of A"));
}

TEST_CASE("an unusable cache directory never throws", "[runtime][disk_cache]") {
    TempDir tmp;
    fs::create_directories(tmp.path / "ro");
    DiskCache ok(tmp.path / "ro");
    ok.store("k", "v");
    fs::permissions(tmp.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    bool is_root = geteuid() == 0;  // root ignores permissions; the test still must not throw

    DiskCache cache(tmp.path / "ro");
    CHECK_NOTHROW(cache.store("other", "bytes"));
    if (!is_root) {
        CHECK(cache.stats().stores == 0);
        CHECK_FALSE(fs::exists(cache.path_for("other")));
        CHECK(file_count(tmp.path / "ro") == 1);  // no temp file left behind
    }
    CHECK(cache.load("k") == std::optional<std::string>("v"));  // reading still works

    // A directory no one may create, not even root.
    DiskCache in_proc("/proc/kiln-cache-test");
    CHECK_NOTHROW(in_proc.store("k", "v"));
    CHECK_FALSE(in_proc.load("k").has_value());
    CHECK(in_proc.stats().stores == 0);

    // A directory that cannot be created (its parent is a file).
    write_all(tmp.path / "file", "x");
    DiskCache under_file(tmp.path / "file" / "cache");
    CHECK_NOTHROW(under_file.store("k", "v"));
    CHECK_FALSE(under_file.load("k").has_value());
    CHECK(under_file.stats().stores == 0);
    CHECK(under_file.stats().misses == 1);

    // A directory where the entry's path is a directory.
    DiskCache odd(tmp.path / "odd");
    fs::create_directories(odd.path_for("k"));
    CHECK_NOTHROW(odd.store("k", "v"));
    CHECK_FALSE(odd.load("k").has_value());
    CHECK(file_count(odd.dir()) == 1);  // the failed rename removed its temp file
}

TEST_CASE("default cache directory follows the environment", "[runtime][disk_cache]") {
    std::string saved_cache = getenv("KILN_CACHE_DIR") ? getenv("KILN_CACHE_DIR") : "";
    bool had_cache = getenv("KILN_CACHE_DIR") != nullptr;
    std::string saved_home = getenv("HOME") ? getenv("HOME") : "";
    bool had_home = getenv("HOME") != nullptr;

    setenv("KILN_CACHE_DIR", "/some/where", 1);
    CHECK(DiskCache::default_dir() == fs::path("/some/where"));
    unsetenv("KILN_CACHE_DIR");
    setenv("HOME", "/home/someone", 1);
    CHECK(DiskCache::default_dir() == fs::path("/home/someone/.cache/kiln"));
    unsetenv("HOME");
    CHECK(DiskCache::default_dir() == fs::path("/tmp/kiln-cache"));

    if (had_cache) setenv("KILN_CACHE_DIR", saved_cache.c_str(), 1);
    if (had_home) setenv("HOME", saved_home.c_str(), 1);
}
