#pragma once
/// Writing a file so that readers see the old contents or the new ones, never a part.
#include <string>
#include <string_view>
#include <vector>

namespace kiln::detail {

/// Writes `parts` (in order) to a temporary file in path's directory, fsyncs it, renames it
/// over `path` and fsyncs the directory. On any failure the temporary file is removed and a
/// kiln::Error "OP: cannot write 'PATH': REASON" is thrown (`op` names the user's call).
void write_file_atomically(const std::string& path, const std::vector<std::string_view>& parts,
                           const std::string& op);

}  // namespace kiln::detail
