// IDX files (the format of MNIST and Fashion-MNIST): a 4-byte magic number (0, 0, element
// type, rank), rank big-endian u32 sizes, then the elements big-endian. zlib's gzread reads
// gzip-compressed and plain files alike.
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "frontend/checks.h"
#include "frontend/realize.h"
#include "frontend/tensor_impl.h"
#include "kiln/data.h"

namespace kiln::data {
namespace {

struct GzCloser {
    void operator()(gzFile f) const { gzclose(f); }
};

/// The whole (decompressed) contents of `path`.
std::string read_all(const std::string& path, const char* op, const std::source_location& loc) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail<Error>(op, "cannot read '" + path + "': it is a directory", loc);
    std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
    if (!f) fail<Error>(op, "cannot read '" + path + "': " + std::strerror(errno), loc);
    std::string out;
    char chunk[1 << 16];
    for (;;) {
        int n = gzread(f.get(), chunk, sizeof chunk);
        if (n < 0) {
            int code = 0;
            const char* msg = gzerror(f.get(), &code);
            fail<ParseError>(op, path + ": cannot decompress (" + std::string(msg ? msg : "zlib error") + ")", loc);
        }
        if (n == 0) break;
        out.append(chunk, static_cast<size_t>(n));
    }
    // A gzip stream cut short reads as a clean end in some zlib versions: ask explicitly.
    int code = 0;
    gzerror(f.get(), &code);
    if (code != Z_OK && code != Z_STREAM_END)
        fail<ParseError>(op, path + ": the compressed data is truncated or corrupt", loc);
    return out;
}

uint32_t big_endian_u32(const unsigned char* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

}  // namespace

Tensor read_idx(const std::string& path, std::source_location loc) {
    const char* op = "read_idx";
    std::string bytes = read_all(path, op, loc);
    auto bad = [&](const std::string& problem) { fail<ParseError>(op, path + ": " + problem, loc); };
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (bytes.size() < 4) bad("the file has " + std::to_string(bytes.size()) + " bytes, too few for an IDX header");
    if (p[0] != 0 || p[1] != 0) {
        char magic[16];
        std::snprintf(magic, sizeof magic, "0x%08x", big_endian_u32(p));
        bad(std::string("bad magic number ") + magic +
            " (an IDX file starts with two zero bytes, the element type and the rank)");
    }
    int type = p[2], rank = p[3];
    size_t size = 0;
    DType dtype = DType::Int32;
    switch (type) {
    case 0x08: case 0x09: size = 1; break;
    case 0x0B: size = 2; break;
    case 0x0C: size = 4; break;
    case 0x0D: size = 4; dtype = DType::Float32; break;
    case 0x0E: size = 8; dtype = DType::Float64; break;
    default: {
        char t[8];
        std::snprintf(t, sizeof t, "0x%02x", type);
        bad(std::string("unknown element type ") + t + " (IDX has 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)");
    }
    }
    size_t header = 4 + 4 * static_cast<size_t>(rank);
    if (bytes.size() < header)
        bad("the header of rank " + std::to_string(rank) + " needs " + std::to_string(header) +
            " bytes, the file has " + std::to_string(bytes.size()));
    std::vector<int64_t> shape;
    uint64_t count = 1;
    for (int d = 0; d < rank; ++d) {
        shape.push_back(big_endian_u32(p + 4 + 4 * d));
        count *= static_cast<uint64_t>(shape.back());
        if (count > (uint64_t(1) << 40)) bad("the sizes " + ir::shape_str(shape) + " are too large");
    }
    uint64_t want = count * size, have = bytes.size() - header;
    if (have < want)
        bad("truncated: the sizes " + ir::shape_str(shape) + " need " + std::to_string(want) +
            " bytes of data, the file has " + std::to_string(have));
    if (have > want)
        bad("the file has " + std::to_string(have) + " bytes of data, more than the " +
            std::to_string(want) + " its sizes " + ir::shape_str(shape) + " describe");
    auto buf = runtime::Buffer::allocate(dtype, static_cast<int64_t>(count));
    const unsigned char* d = p + header;
    for (uint64_t i = 0; i < count; ++i, d += size) {
        switch (type) {
        case 0x08: static_cast<int32_t*>(buf->data())[i] = d[0]; break;
        case 0x09: static_cast<int32_t*>(buf->data())[i] = static_cast<int8_t>(d[0]); break;
        case 0x0B: static_cast<int32_t*>(buf->data())[i] = static_cast<int16_t>(d[0] << 8 | d[1]); break;
        case 0x0C: static_cast<int32_t*>(buf->data())[i] = static_cast<int32_t>(big_endian_u32(d)); break;
        case 0x0D: {
            uint32_t bits = big_endian_u32(d);
            std::memcpy(static_cast<float*>(buf->data()) + i, &bits, 4);
            break;
        }
        case 0x0E: {
            uint64_t bits = uint64_t(big_endian_u32(d)) << 32 | big_endian_u32(d + 4);
            std::memcpy(static_cast<double*>(buf->data()) + i, &bits, 8);
            break;
        }
        }
    }
    return make_tensor(detail::input_node(buf, shape));
}

namespace {

/// ROOT/NAME if it exists, else ROOT/NAME.gz.
std::string find_file(const std::string& root, const std::string& name, const std::source_location& loc) {
    std::filesystem::path plain = std::filesystem::path(root) / name;
    std::error_code ec;
    if (std::filesystem::exists(plain, ec)) return plain.string();
    std::string gz = plain.string() + ".gz";
    if (std::filesystem::exists(gz, ec)) return gz;
    fail<Error>("MNIST", "neither " + plain.string() + " nor " + gz + " exists", loc);
}

Tensor load_images(const std::string& path, const std::source_location& loc) {
    Tensor raw = read_idx(path, loc);
    if (raw.dim() != 3)
        fail<ParseError>("MNIST", path + " holds " + ir::shape_str(raw.sizes()) +
                                      ", not images [N, rows, columns]", loc);
    std::vector<int64_t> s = raw.sizes();
    Tensor images = (raw.to(kFloat32) / 255.0).reshape({s[0], 1, s[1], s[2]});
    images.realize();
    return images;
}

Tensor load_labels(const std::string& path, int64_t images, const std::string& images_path,
                   const std::source_location& loc) {
    Tensor raw = read_idx(path, loc);
    if (raw.dim() != 1)
        fail<ParseError>("MNIST", path + " holds " + ir::shape_str(raw.sizes()) + ", not labels [N]", loc);
    if (raw.size(0) != images)
        fail<ParseError>("MNIST", images_path + " has " + std::to_string(images) + " images but " +
                                      path + " has " + std::to_string(raw.size(0)) + " labels", loc);
    Tensor labels = raw.to(kInt64);
    labels.realize();
    return labels;
}

Tensor mnist_images(const std::string& root, MNIST::Mode mode, const std::source_location& loc) {
    const char* prefix = mode == MNIST::Mode::Train ? "train" : "t10k";
    return load_images(find_file(root, std::string(prefix) + "-images-idx3-ubyte", loc), loc);
}

Tensor mnist_labels(const std::string& root, MNIST::Mode mode, int64_t images,
                    const std::source_location& loc) {
    const char* prefix = mode == MNIST::Mode::Train ? "train" : "t10k";
    return load_labels(find_file(root, std::string(prefix) + "-labels-idx1-ubyte", loc), images,
                       find_file(root, std::string(prefix) + "-images-idx3-ubyte", loc), loc);
}

}  // namespace

MNIST::MNIST(const std::string& root, Mode mode, std::source_location loc)
    : MNIST(mnist_images(root, mode, loc), root, mode, loc) {}

MNIST::MNIST(Tensor images, const std::string& root, Mode mode, const std::source_location& loc)
    : TensorDataset(images, mnist_labels(root, mode, images.size(0), loc), loc) {}

}  // namespace kiln::data
