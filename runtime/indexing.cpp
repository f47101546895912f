#include "runtime/indexing.h"

#include <cstring>
#include <string>

namespace kiln::runtime {
namespace {

template <class T>
void add_rows(T* out, const T* in, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] += in[i];
}

void add_row(DType t, void* out, const void* in, int64_t n) {
    switch (t) {
    case DType::Float32: add_rows(static_cast<float*>(out), static_cast<const float*>(in), n); break;
    case DType::Float64: add_rows(static_cast<double*>(out), static_cast<const double*>(in), n); break;
    case DType::Int32: add_rows(static_cast<int32_t*>(out), static_cast<const int32_t*>(in), n); break;
    case DType::Int64: add_rows(static_cast<int64_t*>(out), static_cast<const int64_t*>(in), n); break;
    case DType::Bool: break;  // the verifier refuses bool scatter_add
    }
}

}  // namespace

IndexOutOfRange::IndexOutOfRange(int64_t v, int64_t b, int64_t s)
    : IndexError("index " + std::to_string(v) + " is out of range [0, " + std::to_string(b) + ")"),
      value(v), bound(b), site(s) {}

const int64_t* run_index_step(const ir::IndexStep& st, void* dense, const int64_t* index,
                              void* rows) {
    const size_t es = dtype_size(st.dtype);
    const int64_t inner = st.split.inner, size = st.split.size;
    const size_t row_bytes = static_cast<size_t>(inner) * es;
    auto* d = static_cast<char*>(dense);
    auto* r = static_cast<char*>(rows);
    const int64_t* bad = nullptr;
    if (st.scatter) std::memset(d, 0, static_cast<size_t>(st.split.outer * size) * row_bytes);
    for (int64_t a = 0; a < st.split.outer; ++a) {
        for (int64_t k = 0; k < st.count; ++k) {
            const int64_t* at = index + a * st.count + k;
            int64_t j = *at;
            char* row = r + static_cast<size_t>(a * st.count + k) * row_bytes;
            if (j < 0 || j >= size) {
                if (!bad) bad = at;
                if (!st.scatter) {
                    if (size > 0) std::memcpy(row, d + static_cast<size_t>(a * size) * row_bytes, row_bytes);
                    else std::memset(row, 0, row_bytes);
                }
                continue;
            }
            char* slot = d + static_cast<size_t>(a * size + j) * row_bytes;
            if (st.scatter) add_row(st.dtype, slot, row, inner);
            else std::memcpy(row, slot, row_bytes);
        }
    }
    return bad;
}

}  // namespace kiln::runtime
