#pragma once
/// Writing files so that a reader never sees half of one.
#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::support {

/// Writes `text` to `path` through a temporary file in the same directory that is then renamed
/// over `path` (replacing an existing file in one step). Returns "" on success, else what went
/// wrong (e.g. "No such file or directory"), and then neither the temporary nor a partial
/// `path` is left behind; an existing `path` is untouched. Never throws.
/// Writes all of `text` to the new file `path`, which must not exist yet (O_EXCL: a name
/// another writer took fails with EEXIST). Returns 0, or an errno after removing the file.
int write_new_file(const char* path, std::string_view text) noexcept;

std::string write_file_atomically(const std::filesystem::path& path,
                                  std::string_view text) noexcept;

}  // namespace kiln::support
