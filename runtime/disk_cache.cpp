#include "runtime/disk_cache.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <random>
#include <system_error>

namespace kiln::runtime {

namespace {

constexpr char kMagic[] = "KILNCACHE1\n";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;

// ---- hashing. Not cryptographic: a collision (or a hostile file) is caught by comparing the
// full key stored in the entry, and corruption by the payload checksum.

inline uint64_t mix64(uint64_t x) {  // the splitmix64 / murmur3 finalizer
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

inline uint64_t read_u64_le(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// Two independent 64-bit lanes over 8-byte words, each lane finalized with the length: a
// 128-bit hash good enough for file names and checksums, and fast on megabyte payloads.
void hash128(std::string_view data, uint64_t seed, uint64_t& h1, uint64_t& h2) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    size_t n = data.size();
    h1 = seed ^ 0x9e3779b97f4a7c15ULL;
    h2 = ~seed ^ 0x6a09e667f3bcc909ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = read_u64_le(p + i);
        h1 = (h1 ^ mix64(w)) * 0x87c37b91114253d5ULL;
        h1 = (h1 << 31) | (h1 >> 33);
        h2 = (h2 + w) * 0x4cf5ad432745937fULL;
        h2 ^= h2 >> 29;
    }
    uint64_t tail = 0;
    for (size_t j = n; j > i; --j) tail = (tail << 8) | p[j - 1];
    h1 = mix64(h1 ^ mix64(tail ^ n));
    h2 = mix64(h2 ^ tail ^ (static_cast<uint64_t>(n) << 1) ^ h1);
}

uint64_t checksum64(std::string_view data) {
    uint64_t h1, h2;
    hash128(data, 0xc0ffee, h1, h2);
    return h1 ^ h2;
}

void append_u64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads a whole file; false when it cannot be opened or read.
bool read_file(const std::filesystem::path& path, std::string& out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    out.clear();
    std::error_code ec;
    if (auto size = std::filesystem::file_size(path, ec); !ec) out.reserve(size);
    char buf[1 << 16];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, got);
    bool ok = !std::ferror(f);
    std::fclose(f);
    return ok;
}

/// An entry file taken apart: its key and payload, or what is wrong with it.
struct ParsedEntry {
    std::string_view key, payload;
    const char* problem = nullptr;  ///< nullptr when intact
};

ParsedEntry parse_entry(const std::string& file) {
    const auto* p = reinterpret_cast<const unsigned char*>(file.data());
    size_t size = file.size();
    ParsedEntry e;
    if (size < kMagicSize + 8 || std::memcmp(p, kMagic, kMagicSize) != 0) {
        e.problem = "not a Kiln cache entry (bad magic)";
        return e;
    }
    size_t pos = kMagicSize;
    uint64_t key_len = read_u64_le(p + pos);
    pos += 8;
    if (size - pos < key_len) {
        e.problem = "truncated key";
        return e;
    }
    e.key = std::string_view(file.data() + pos, key_len);
    pos += key_len;
    if (size - pos < 16) {
        e.problem = "truncated payload";
        return e;
    }
    uint64_t payload_len = read_u64_le(p + pos);
    pos += 8;
    if (payload_len != size - pos - 8) {  // exactly: no truncation, no trailing bytes
        e.problem = payload_len > size - pos - 8 ? "truncated payload" : "trailing bytes";
        return e;
    }
    e.payload = std::string_view(file.data() + pos, payload_len);
    if (read_u64_le(p + pos + payload_len) != checksum64(e.payload)) e.problem = "bad checksum";
    return e;
}

/// Whether `name` is an entry file name (32 lowercase hex digits) or a writer's temporary
/// file for one (the name, then ".tmp.").
bool is_entry_name(const std::string& name, bool& temporary) {
    if (name.size() < 32) return false;
    for (size_t i = 0; i < 32; ++i)
        if (!std::isxdigit(static_cast<unsigned char>(name[i])) || std::isupper(name[i]))
            return false;
    temporary = name.size() > 32;
    return !temporary || name.compare(32, 5, ".tmp.") == 0;
}

// A name no other writer (thread or process) uses at the same time.
std::string temp_suffix() {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = std::random_device{}();
    char buf[80];
    std::snprintf(buf, sizeof buf, ".tmp.%ld.%llx.%llu", static_cast<long>(getpid()),
                  static_cast<unsigned long long>(salt),
                  static_cast<unsigned long long>(counter.fetch_add(1)));
    return buf;
}

}  // namespace

DiskCache::DiskCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

DiskCacheStats DiskCache::stats() const {
    return {stats_.hits.load(), stats_.misses.load(), stats_.corrupt.load(), stats_.stores.load()};
}

std::filesystem::path DiskCache::default_dir() {
    const char* env = std::getenv("KILN_CACHE_DIR");
    if (env != nullptr && *env != '\0') return env;
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') return std::filesystem::path(home) / ".cache" / "kiln";
    return "/tmp/kiln-cache";
}

std::filesystem::path DiskCache::path_for(std::string_view key) const {
    uint64_t h1, h2;
    hash128(key, 0, h1, h2);
    char name[33];
    std::snprintf(name, sizeof name, "%016llx%016llx", static_cast<unsigned long long>(h1),
                  static_cast<unsigned long long>(h2));
    return dir_ / name;
}

std::string DiskCache::encode_entry(std::string_view key, std::string_view bytes) {
    std::string out;
    out.reserve(kMagicSize + key.size() + bytes.size() + 24);
    out.append(kMagic, kMagicSize);
    append_u64(out, key.size());
    out.append(key);
    append_u64(out, bytes.size());
    out.append(bytes);
    append_u64(out, checksum64(bytes));
    return out;
}

std::optional<std::string> DiskCache::load(std::string_view key) {
    std::filesystem::path path = path_for(key);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        stats_.misses++;
        return std::nullopt;
    }
    std::string file;
    if (!read_file(path, file)) {  // unreadable (permissions, raced with a delete): a miss
        stats_.misses++;
        return std::nullopt;
    }
    ParsedEntry parsed = parse_entry(file);
    if (parsed.problem || parsed.key != key) {
        // Never trust it, and do not pay for reading it again: remove it so that the caller's
        // store() replaces it. A failed removal (read-only dir) is harmless.
        stats_.corrupt++;
        stats_.misses++;
        std::filesystem::remove(path, ec);
        return std::nullopt;
    }
    stats_.hits++;
    return std::string(parsed.payload);
}

std::vector<DiskCacheEntry> DiskCache::entries() const {
    std::vector<DiskCacheEntry> out;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(dir_, ec)) {
        bool temporary = false;
        if (!item.is_regular_file(ec) || !is_entry_name(item.path().filename(), temporary))
            continue;
        DiskCacheEntry e;
        e.path = item.path();
        e.bytes = static_cast<int64_t>(item.file_size(ec));
        e.modified = item.last_write_time(ec);
        std::string file;
        if (temporary) {
            e.problem = "temporary file of an interrupted write";
        } else if (!read_file(e.path, file)) {
            e.problem = "unreadable";
        } else {
            ParsedEntry parsed = parse_entry(file);
            e.key = parsed.key;
            if (parsed.problem)
                e.problem = parsed.problem;
            else if (path_for(parsed.key).filename() != e.path.filename())
                e.problem = "file name is not its key's hash";
        }
        out.push_back(std::move(e));
    }
    std::sort(out.begin(), out.end(),
              [](const DiskCacheEntry& a, const DiskCacheEntry& b) { return a.path < b.path; });
    return out;
}

int64_t DiskCache::remove(const std::vector<DiskCacheEntry>& entries) {
    int64_t removed = 0;
    std::error_code ec;
    for (const DiskCacheEntry& e : entries) removed += std::filesystem::remove(e.path, ec) ? 1 : 0;
    return removed;
}

void DiskCache::store(std::string_view key, std::string_view bytes) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return;
    std::filesystem::path path = path_for(key);
    std::filesystem::path temp = path;
    temp += temp_suffix();
    std::string entry = encode_entry(key, bytes);

    FILE* f = std::fopen(temp.c_str(), "wb");
    if (f == nullptr) return;
    bool ok = std::fwrite(entry.data(), 1, entry.size(), f) == entry.size();
    ok = (std::fclose(f) == 0) && ok;
    // Readers only ever see complete entries: the rename is atomic within one directory, and a
    // failed write leaves nothing but its own temp file, which is removed here.
    if (ok) {
        std::filesystem::rename(temp, path, ec);
        ok = !ec;
    }
    if (!ok) {
        std::filesystem::remove(temp, ec);
        return;
    }
    stats_.stores++;
}

}  // namespace kiln::runtime
