#pragma once
/// The gather and scatter_add steps (ir::IndexStep): row copies and row additions selected by
/// an i64 index buffer.
#include <cstdint>

#include "ir/program.h"
#include "kiln/error.h"

namespace kiln::runtime {

/// An index outside [0, bound) met by the step of call site `site` (IndexAttr::site). Thrown by
/// execute() once the whole program has run; the frontend rethrows it naming the user's call.
class IndexOutOfRange : public IndexError {
public:
    IndexOutOfRange(int64_t value, int64_t bound, int64_t site);
    int64_t value, bound, site;
};

/// Runs `step` on its buffers (dense, index, rows as in IndexStep). Out-of-range indices read
/// row 0 (gather) or add nothing (scatter_add); the first one is returned (nullptr: none).
const int64_t* run_index_step(const ir::IndexStep& step, void* dense, const int64_t* index,
                              void* rows);

}  // namespace kiln::runtime
