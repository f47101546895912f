#pragma once
/// Call sites of ops that read indices from data (gather, embedding, cross_entropy, ...). The
/// IR's gather and scatter_add carry a site number; when the runtime meets an index out of
/// range it reports that number, and the realize driver turns it into the user's message.
#include <cstdint>
#include <source_location>
#include <string>

namespace kiln::detail {

/// The number of the site (interned: the same call gives the same number, so programs recorded
/// in a loop stay one structure). `what` describes the bound in the message ("the weight has 100
/// rows"), `noun` the value ("index", "target").
int64_t index_site(const std::string& op, const std::string& noun, const std::string& what,
                   const std::source_location& loc);
/// "OP: NOUN VALUE is out of range [0, BOUND) (WHAT) at FILE:LINE" for site `site`.
std::string index_error_message(int64_t site, int64_t value, int64_t bound);

}  // namespace kiln::detail
