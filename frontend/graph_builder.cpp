#include "frontend/graph_builder.h"

#include <algorithm>

#include "frontend/checks.h"

namespace kiln {

using ir::Shape;

Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b,
                       const std::source_location& loc) {
    size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1) {
            fail<ShapeError>(op,
                             "shapes " + ir::shape_str(a) + " and " + ir::shape_str(b) +
                                 " cannot be broadcast (dim " + std::to_string(i) + ": " +
                                 std::to_string(da) + " vs " + std::to_string(db) + ")",
                             loc);
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

}  // namespace kiln
