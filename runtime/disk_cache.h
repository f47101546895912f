#pragma once
/// A directory of cached blobs (compiled kernels), keyed by text. Entries are written atomically
/// (temporary file + rename) and validated on load (magic, full key, length, checksum): a corrupt,
/// truncated or colliding entry is reported as a miss and removed, never trusted.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime {

struct DiskCacheStats {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t corrupt = 0;  ///< entries found but rejected (and removed)
    int64_t stores = 0;
};

/// One file of a cache directory, as DiskCache::entries() finds it.
struct DiskCacheEntry {
    std::filesystem::path path;
    int64_t bytes = 0;                         ///< the file's size
    std::filesystem::file_time_type modified;  ///< when it was written
    /// Its key (empty when the file is too damaged to hold one).
    std::string key;
    /// Why the entry would be rejected by load() (bad magic, truncated, bad checksum, a file
    /// name that is not its key's hash, a temporary file left by an interrupted writer); empty
    /// for an intact entry.
    std::string problem;
};

/// Thread-safe, and several processes may share a directory: writers never expose partial files.
///
/// Entry file (little-endian): "KILNCACHE1\n", u64 key length, key, u64 payload length,
/// payload, u64 checksum of the payload. The file name is the hex of a 128-bit hash of the key.
class DiskCache {
public:
    /// Uses `dir`, created on first store. An unusable directory makes every load a miss and
    /// every store a no-op (caching is an optimisation, never an error).
    explicit DiskCache(std::filesystem::path dir);
    /// $KILN_CACHE_DIR if set, else $HOME/.cache/kiln, else /tmp/kiln-cache.
    static std::filesystem::path default_dir();

    /// The payload stored for `key`, or nullopt (a miss) when there is no entry or it is
    /// unreadable. An entry that is truncated, has a bad magic or checksum, or holds a different
    /// key is counted in stats().corrupt (and as a miss) and deleted.
    std::optional<std::string> load(std::string_view key);
    /// Stores `bytes` for `key`, replacing any entry, through a temporary file renamed into
    /// place. Failures (unwritable directory, full disk) are ignored: nothing is stored.
    void store(std::string_view key, std::string_view bytes);
    /// The file that holds `key`'s entry (whether or not it exists).
    std::filesystem::path path_for(std::string_view key) const;
    const std::filesystem::path& dir() const { return dir_; }
    DiskCacheStats stats() const;
    /// The exact bytes of the entry file store() writes for `key` and `bytes`.
    static std::string encode_entry(std::string_view key, std::string_view bytes);

    /// Every file in the directory, checked as load() would check it, sorted by path. Files
    /// that are not cache entries (other names) are not listed. A missing directory is empty.
    std::vector<DiskCacheEntry> entries() const;
    /// Removes the listed entries' files; returns how many were removed.
    static int64_t remove(const std::vector<DiskCacheEntry>& entries);

private:
    std::filesystem::path dir_;
    struct Counters {
        std::atomic<int64_t> hits{0}, misses{0}, corrupt{0}, stores{0};
    };
    Counters stats_;
};

}  // namespace kiln::runtime
