#include "kiln/dtype.h"

#include <filesystem>

#include "kiln/error.h"

namespace kiln {

size_t dtype_size(DType t) {
    switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
    }
    return 0;
}

const char* dtype_name(DType t) {
    switch (t) {
    case DType::Float32: return "f32";
    case DType::Float64: return "f64";
    case DType::Int32: return "i32";
    case DType::Int64: return "i64";
    case DType::Bool: return "bool";
    }
    return "?";
}

bool parse_dtype(const std::string& name, DType& out) {
    for (DType t : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool}) {
        if (name == dtype_name(t)) {
            out = t;
            return true;
        }
    }
    return false;
}

bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
bool is_integral(DType t) { return t == DType::Int32 || t == DType::Int64; }

DType promote_types(DType a, DType b) {
    // The enum order is not the promotion order, so rank explicitly.
    auto rank = [](DType t) {
        switch (t) {
        case DType::Bool: return 0;
        case DType::Int32: return 1;
        case DType::Int64: return 2;
        case DType::Float32: return 3;
        case DType::Float64: return 4;
        }
        return 0;
    };
    return rank(a) >= rank(b) ? a : b;
}

std::string format_location(const std::source_location& loc) {
    std::string file = std::filesystem::path(loc.file_name()).filename().string();
    return file + ":" + std::to_string(loc.line());
}

namespace detail {
void internal_check_failed(const char* cond, const std::string& msg, const char* file, int line) {
    std::string text = "kiln internal error: check '" + std::string(cond) + "' failed at " +
                       std::filesystem::path(file).filename().string() + ":" +
                       std::to_string(line);
    if (!msg.empty()) text += ": " + msg;
    throw InternalError(text);
}
}  // namespace detail

}  // namespace kiln
