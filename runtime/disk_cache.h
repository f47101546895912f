#pragma once
/// A directory of cached blobs (compiled kernels), keyed by text. Entries are written atomically
/// (temporary file + rename) and validated on load (magic, full key, length, checksum): a corrupt,
/// truncated or colliding entry is reported as a miss and removed, never trusted.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::runtime {

struct DiskCacheStats {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t corrupt = 0;  ///< entries found but rejected (and removed)
    int64_t stores = 0;
};

class DiskCache {
public:
    /// Uses `dir`, created on first store. An unusable directory makes every load a miss and
    /// every store a no-op (caching is an optimisation, never an error).
    explicit DiskCache(std::filesystem::path dir);
    /// $KILN_CACHE_DIR if set, else $HOME/.cache/kiln.
    static std::filesystem::path default_dir();

    std::optional<std::string> load(std::string_view key);
    void store(std::string_view key, std::string_view bytes);
    /// The file that holds `key`'s entry (whether or not it exists).
    std::filesystem::path path_for(std::string_view key) const;
    const std::filesystem::path& dir() const { return dir_; }
    DiskCacheStats stats() const { return stats_; }

private:
    std::filesystem::path dir_;
    DiskCacheStats stats_;
};

}  // namespace kiln::runtime
