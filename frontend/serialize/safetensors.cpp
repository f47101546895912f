// The safetensors format, read and written exactly as the reference implementation does: the
// header is validated completely (JSON shape, dtypes, sizes, offsets that tile the data with no
// gap or overlap) before any tensor is read, so a bad file fails before anything is allocated
// from it. Data is little-endian, as on every machine Kiln runs on.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "frontend/checks.h"
#include "frontend/realize.h"
#include "frontend/serialize/atomic_file.h"
#include "frontend/tensor_impl.h"
#include "kiln/serialize.h"

namespace kiln {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; Kiln writes its buffers as they are");

using json = nlohmann::json;

/// A header larger than this is refused before it is read (the reference reader's limit).
constexpr uint64_t kMaxHeader = 100'000'000;

const char* st_dtype(DType t) {
    switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
    }
    return "?";
}

bool parse_st_dtype(const std::string& s, DType& out) {
    for (DType t : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool})
        if (s == st_dtype(t)) {
            out = t;
            return true;
        }
    return false;
}

/// One tensor's entry in a validated header.
struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;  // relative to the start of the data
};

struct Header {
    uint64_t data_start = 0;  // 8 + header size
    std::vector<Entry> entries;
    std::map<std::string, std::string> metadata;
};

/// Reads and validates the header of `path`; problems throw ParseError "OP: PATH: PROBLEM".
class HeaderReader {
public:
    HeaderReader(const std::string& path, const char* op, const std::source_location& loc)
        : path_(path), op_(op), loc_(loc) {}

    [[noreturn]] void bad(const std::string& problem) const {
        fail<ParseError>(op_, path_ + ": " + problem, loc_);
    }

    Header read(std::FILE* f, uint64_t file_size) const {
        if (file_size < 8)
            bad("the file has " + std::to_string(file_size) +
                " bytes, too few for a safetensors file (the header size alone takes 8)");
        unsigned char size_bytes[8];
        read_exactly(f, 0, size_bytes, 8);
        uint64_t header_size = 0;
        for (int i = 7; i >= 0; --i) header_size = header_size << 8 | size_bytes[i];
        if (header_size > file_size - 8)
            bad("the header size " + std::to_string(header_size) + " is larger than the file (" +
                std::to_string(file_size) + " bytes)");
        if (header_size > kMaxHeader)
            bad("the header size " + std::to_string(header_size) + " exceeds the limit of " +
                std::to_string(kMaxHeader) + " bytes");
        std::string text(header_size, '\0');
        read_exactly(f, 8, text.data(), header_size);
        json header;
        try {
            header = json::parse(text);
        } catch (const json::parse_error& e) {
            bad(std::string("the header is not valid JSON (") + e.what() + ")");
        }
        if (!header.is_object()) bad("the header is not a JSON object");
        Header h;
        h.data_start = 8 + header_size;
        for (auto it = header.begin(); it != header.end(); ++it) {
            if (it.key() == "__metadata__") h.metadata = metadata(it.value());
            else h.entries.push_back(entry(it.key(), it.value()));
        }
        check_layout(h.entries, file_size - h.data_start);
        return h;
    }

    void read_exactly(std::FILE* f, uint64_t offset, void* out, uint64_t bytes) const {
        if (bytes == 0) return;
        if (::fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0 ||
            std::fread(out, 1, bytes, f) != bytes)
            bad("cannot read " + std::to_string(bytes) + " bytes at offset " +
                std::to_string(offset) + (std::ferror(f) ? std::string(": ") + std::strerror(errno)
                                                         : std::string(" (the file is shorter)")));
    }

private:
    std::map<std::string, std::string> metadata(const json& j) const {
        std::map<std::string, std::string> out;
        if (!j.is_object()) bad("__metadata__ is not an object of strings");
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (!it.value().is_string())
                bad("__metadata__ value of '" + it.key() + "' is not a string");
            out[it.key()] = it.value().get<std::string>();
        }
        return out;
    }

    Entry entry(const std::string& name, const json& j) const {
        auto problem = [&](const std::string& what) { bad("tensor '" + name + "': " + what); };
        if (!j.is_object()) problem("the entry is not an object");
        Entry e{name, DType::Float32, {}, 0, 0};
        if (!j.contains("dtype") || !j["dtype"].is_string()) problem("no dtype string");
        std::string dt = j["dtype"].get<std::string>();
        if (!parse_st_dtype(dt, e.dtype))
            problem("dtype " + dt + " is not one Kiln has (F32, F64, I32, I64, BOOL)");
        if (!j.contains("shape") || !j["shape"].is_array()) problem("no shape array");
        for (const json& d : j["shape"]) {
            if (!d.is_number_unsigned()) problem("the shape " + j["shape"].dump() + " is not a list of sizes");
            e.shape.push_back(static_cast<int64_t>(d.get<uint64_t>() & 0x7fffffffffffffff));
            if (d.get<uint64_t>() > uint64_t(INT64_MAX)) problem("a size in " + j["shape"].dump() + " is too large");
        }
        const json& off = j.contains("data_offsets") ? j["data_offsets"] : json();
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
            !off[1].is_number_unsigned())
            problem("data_offsets must be two byte offsets [begin, end]");
        e.begin = off[0].get<uint64_t>();
        e.end = off[1].get<uint64_t>();
        if (e.end < e.begin) problem("data_offsets " + off.dump() + " end before they begin");
        // The shape's byte count, refusing one that overflows (it cannot fit any file then).
        uint64_t bytes = dtype_size(e.dtype);
        for (int64_t d : e.shape) {
            if (d != 0 && bytes > UINT64_MAX / static_cast<uint64_t>(d))
                problem("the shape " + ir::shape_str(e.shape) + " is too large");
            bytes *= static_cast<uint64_t>(d);
        }
        if (bytes != e.end - e.begin)
            problem("data_offsets " + off.dump() + " hold " + std::to_string(e.end - e.begin) +
                    " bytes, but " + dtype_name(e.dtype) + ir::shape_str(e.shape) + " needs " +
                    std::to_string(bytes));
        return e;
    }

    /// The entries' byte ranges must tile [0, data_bytes) exactly (the reference's rule).
    void check_layout(std::vector<Entry> entries, uint64_t data_bytes) const {
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
        uint64_t at = 0;
        std::string previous;
        for (const Entry& e : entries) {
            if (e.end > data_bytes)
                bad("tensor '" + e.name + "': data_offsets [" + std::to_string(e.begin) + ", " +
                    std::to_string(e.end) + "] reach past the end of the data (" +
                    std::to_string(data_bytes) + " bytes)");
            if (e.begin != at)
                bad("tensor '" + e.name + "' starts at byte " + std::to_string(e.begin) +
                    " of the data, but " +
                    (previous.empty() ? std::string("the data starts at 0")
                                      : "'" + previous + "' ends at " + std::to_string(at)) +
                    " (offsets must be contiguous, without gaps or overlaps)");
            at = e.end;
            previous = e.name;
        }
        if (at != data_bytes)
            bad("the tensors' data ends at byte " + std::to_string(at) + " but the file has " +
                std::to_string(data_bytes) + " bytes of data");
    }

    const std::string& path_;
    const char* op_;
    const std::source_location& loc_;
};

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_for_reading(const std::string& path, const char* op, uint64_t& size,
                      const std::source_location& loc) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail<Error>(op, "cannot read '" + path + "': it is a directory", loc);
    File f(std::fopen(path.c_str(), "rb"));
    if (!f) fail<Error>(op, "cannot read '" + path + "': " + std::strerror(errno), loc);
    size = std::filesystem::file_size(path, ec);
    if (ec) fail<Error>(op, "cannot read '" + path + "': " + ec.message(), loc);
    return f;
}

Header read_header(const std::string& path, const char* op, File& f,
                   const std::source_location& loc) {
    uint64_t size = 0;
    f = open_for_reading(path, op, size, loc);
    return HeaderReader(path, op, loc).read(f.get(), size);
}

}  // namespace

void save_safetensors(const std::map<std::string, Tensor>& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata,
                      std::source_location loc) {
    const char* op = "save_safetensors";
    std::vector<Tensor> values;
    for (const auto& [name, t] : tensors) {
        if (name.empty() || name == "__metadata__")
            fail<ValueError>(op, "'" + name + "' cannot name a tensor", loc);
        if (!t.defined()) fail<ValueError>(op, "the tensor '" + name + "' is undefined", loc);
        values.push_back(t);
    }
    realize(values, loc);
    json header = json::object();
    std::vector<std::shared_ptr<runtime::Buffer>> buffers;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        ir::NodeRef n = detail::realized_node(*t.impl(), op, loc);
        buffers.push_back(detail::host_buffer(*t.impl(), op, loc));
        uint64_t bytes = static_cast<uint64_t>(ir::numel(n->shape())) * dtype_size(n->dtype());
        header[name] = {{"dtype", st_dtype(n->dtype())},
                        {"shape", n->shape()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
    std::string size(8, '\0');
    for (int i = 0; i < 8; ++i) size[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    std::vector<std::string_view> parts{size, text};
    for (const auto& buf : buffers) {
        parts.emplace_back(static_cast<const char*>(buf->data()),
                           static_cast<size_t>(buf->numel()) * dtype_size(buf->dtype()));
    }
    detail::write_file_atomically(path, parts, op);
}

std::map<std::string, Tensor> load_safetensors(const std::string& path, std::source_location loc) {
    const char* op = "load_safetensors";
    File f;
    Header h = read_header(path, op, f, loc);
    HeaderReader reader(path, op, loc);
    std::map<std::string, Tensor> out;
    for (const Entry& e : h.entries) {
        std::shared_ptr<runtime::Buffer> buf;
        try {
            buf = runtime::Buffer::allocate(e.dtype, ir::numel(e.shape));
        } catch (const OutOfMemoryError& err) {
            fail<OutOfMemoryError>(op, path + ": tensor '" + e.name + "': " + err.what(), loc);
        }
        reader.read_exactly(f.get(), h.data_start + e.begin, buf->data(), e.end - e.begin);
        if (e.dtype == DType::Bool) {  // any nonzero byte is true; Kiln keeps 0/1
            auto* p = static_cast<uint8_t*>(buf->data());
            for (int64_t i = 0; i < buf->numel(); ++i) p[i] = p[i] != 0;
        }
        out.emplace(e.name, make_tensor(detail::input_node(buf, e.shape)));
    }
    return out;
}

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path,
                                                             std::source_location loc) {
    File f;
    return read_header(path, "load_safetensors_metadata", f, loc).metadata;
}

}  // namespace kiln
