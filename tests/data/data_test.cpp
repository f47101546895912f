// IDX files (every element type, gzip and plain, exact errors), the MNIST dataset on synthetic
// files, TensorDataset, and the DataLoader's epochs: every example once, seeded orders, the
// last batch kept or dropped, and a smaller last batch that compiles once for a whole run.
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include <catch2/catch.hpp>

#include <kiln/kiln.h>
#include "error_of.h"

namespace fs = std::filesystem;
namespace data = kiln::data;
using kiln::Tensor;
using kiln::test::error_of;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        static int n = 0;
        path = fs::temp_directory_path() / ("kiln_data_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string be32(uint32_t v) {
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

/// An IDX file's bytes: magic (0, 0, type, rank), sizes, then `payload`.
std::string idx(int type, const std::vector<uint32_t>& sizes, const std::string& payload) {
    std::string s{char(0), char(0), char(type), char(sizes.size())};
    for (uint32_t d : sizes) s += be32(d);
    return s + payload;
}

void write_plain(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

void write_gz(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
    gzclose(f);
}


std::string at(int line) { return " at data_test.cpp:" + std::to_string(line); }

/// Synthetic MNIST files in `dir`: n images of 28x28 whose pixel (i, r, c) is (i + r + c) % 256,
/// labels i % 10 (plus `label_delta` extra labels).
void write_mnist(const TempDir& dir, const std::string& prefix, uint32_t n, int label_delta = 0) {
    std::string pixels;
    for (uint32_t i = 0; i < n; ++i)
        for (int r = 0; r < 28; ++r)
            for (int c = 0; c < 28; ++c) pixels += char((i + r + c) % 256);
    std::string labels;
    for (uint32_t i = 0; i < n + label_delta; ++i) labels += char(i % 10);
    write_gz(dir.file(prefix + "-images-idx3-ubyte.gz"), idx(0x08, {n, 28, 28}, pixels));
    write_plain(dir.file(prefix + "-labels-idx1-ubyte"), idx(0x08, {n + label_delta}, labels));
}

}  // namespace

TEST_CASE("IDX files of every element type, plain and gzipped", "[data][idx]") {
    TempDir dir;
    struct Case {
        int type;
        std::string payload;
        std::vector<double> values;
        kiln::DType dtype;
    };
    float f = -1.5f;
    double d = 1.0 / 3;
    uint32_t fb;
    uint64_t db;
    std::memcpy(&fb, &f, 4);
    std::memcpy(&db, &d, 8);
    std::vector<Case> cases{
        {0x08, std::string{char(0), char(200), char(255), char(7)}, {0, 200, 255, 7}, kiln::kInt32},
        {0x09, std::string{char(0), char(-56), char(127), char(-128)}, {0, -56, 127, -128}, kiln::kInt32},
        {0x0B, std::string{char(1), char(2), char(-1), char(-2), char(0), char(0), char(0x7f), char(-1)},
         {258, -2, 0, 32767}, kiln::kInt32},
        {0x0C, be32(70000) + be32(uint32_t(-5)) + be32(0) + be32(1), {70000, -5, 0, 1}, kiln::kInt32},
        {0x0D, be32(fb) + be32(fb) + be32(0) + be32(fb), {-1.5, -1.5, 0, -1.5}, kiln::kFloat32},
        {0x0E, be32(uint32_t(db >> 32)) + be32(uint32_t(db)) + std::string(24, '\0'), {d, 0, 0, 0}, kiln::kFloat64},
    };
    for (const Case& c : cases) {
        INFO("type " << c.type);
        for (bool gz : {false, true}) {
            std::string path = dir.file(gz ? "x.idx.gz" : "x.idx");
            std::string bytes = idx(c.type, {2, 2}, c.payload);
            gz ? write_gz(path, bytes) : write_plain(path, bytes);
            Tensor t = data::read_idx(path);
            CHECK(t.dtype() == c.dtype);
            CHECK(t.sizes() == std::vector<int64_t>{2, 2});
            CHECK(t.to(kiln::kFloat64).to_vector<double>() == c.values);
        }
    }
}

TEST_CASE("bad IDX files are errors naming the file and the problem", "[data][idx][errors]") {
    TempDir dir;
    std::string path = dir.file("bad.idx");
    int line = __LINE__ + 1;
    auto read_error = [&](const std::string& bytes) { write_plain(path, bytes); return error_of<kiln::ParseError>([&] { data::read_idx(path); }); };
    std::string p = "read_idx: " + path + ": ";
    CHECK(read_error(std::string{char(8), char(3), char(0), char(1)}) ==
          p + "bad magic number 0x08030001 (an IDX file starts with two zero bytes, the element "
              "type and the rank)" + at(line));
    CHECK(read_error(idx(0x0A, {1}, "x")) ==
          p + "unknown element type 0x0a (IDX has 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)" + at(line));
    CHECK(read_error(std::string{char(0), char(0), char(8), char(3), char(0)}) ==
          p + "the header of rank 3 needs 16 bytes, the file has 5" + at(line));
    CHECK(read_error(idx(0x08, {2, 3}, "abcd")) ==
          p + "truncated: the sizes [2,3] need 6 bytes of data, the file has 4" + at(line));
    CHECK(read_error(idx(0x08, {2}, "abc")) ==
          p + "the file has 3 bytes of data, more than the 2 its sizes [2] describe" + at(line));
    // A gzip stream cut in half.
    std::string gz = dir.file("cut.idx.gz");
    write_gz(gz, idx(0x08, {4096}, std::string(4096, 'x')));
    std::string whole;
    {
        std::ifstream in(gz, std::ios::binary);
        whole.assign(std::istreambuf_iterator<char>(in), {});
    }
    write_plain(gz, whole.substr(0, whole.size() / 2));
    line = __LINE__ + 1;
    std::string e = error_of<kiln::ParseError>([&] { data::read_idx(gz); });
    CHECK(e.starts_with("read_idx: " + gz + ": "));
    CHECK(e.ends_with(at(line)));
    line = __LINE__ + 1;
    CHECK(error_of([&] { data::read_idx(dir.file("none.idx")); }) ==
          "read_idx: cannot read '" + dir.file("none.idx") + "': No such file or directory" + at(line));
}

TEST_CASE("MNIST reads images scaled to [0, 1] and i64 labels", "[data][mnist]") {
    TempDir dir;
    write_mnist(dir, "train", 5);
    write_mnist(dir, "t10k", 3);
    data::MNIST train(dir.path.string());
    data::MNIST test(dir.path.string(), data::MNIST::Mode::Test);
    REQUIRE(train.size() == 5);
    REQUIRE(test.size() == 3);
    CHECK(train.data().sizes() == std::vector<int64_t>{5, 1, 28, 28});
    CHECK(train.targets().dtype() == kiln::kInt64);
    CHECK(train.targets().to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
    data::Example e = train.get(4);
    CHECK(e.data.sizes() == std::vector<int64_t>{1, 28, 28});
    std::vector<float> px = e.data.to_vector<float>();
    CHECK(px[0] == 4.0f / 255);
    CHECK(px[28 * 27 + 27] == float((4 + 27 + 27) % 256) / 255);
    CHECK(e.target.item<int64_t>() == 4);

    TempDir bad;
    write_mnist(bad, "train", 4, 1);
    int line = __LINE__ + 1;
    CHECK(error_of<kiln::ParseError>([&] { data::MNIST m(bad.path.string()); }) ==
          "MNIST: " + bad.file("train-images-idx3-ubyte.gz") + " has 4 images but " +
              bad.file("train-labels-idx1-ubyte") + " has 5 labels" + at(line));
    TempDir empty;
    line = __LINE__ + 1;
    CHECK(error_of([&] { data::MNIST m(empty.path.string()); }) ==
          "MNIST: neither " + empty.file("train-images-idx3-ubyte") + " nor " +
              empty.file("train-images-idx3-ubyte.gz") + " exists" + at(line));
}

TEST_CASE("DataLoader: every example once per epoch, seeded orders, partial batches", "[data][loader]") {
    std::vector<int64_t> ids(10);
    std::iota(ids.begin(), ids.end(), 0);
    auto ds = std::make_shared<data::TensorDataset>(
        kiln::tensor(ids, {10}).to(kiln::kFloat32).reshape({10, 1}) * 2, kiln::tensor(ids, {10}));
    auto epoch_of = [](data::DataLoader& loader) {
        std::vector<int64_t> seen;
        std::vector<size_t> sizes;
        for (const data::Example& b : loader) {
            sizes.push_back(static_cast<size_t>(b.target.size(0)));
            std::vector<int64_t> t = b.target.to_vector<int64_t>();
            std::vector<float> x = b.data.to_vector<float>();
            for (size_t i = 0; i < t.size(); ++i) CHECK(x[i] == 2.0f * float(t[i]));  // rows stay paired
            seen.insert(seen.end(), t.begin(), t.end());
        }
        return std::make_pair(seen, sizes);
    };
    data::DataLoader plain(ds, data::DataLoaderOptions(4));
    auto [order0, sizes0] = epoch_of(plain);
    CHECK(order0 == ids);
    CHECK(sizes0 == std::vector<size_t>{4, 4, 2});
    CHECK(plain.batches() == 3);

    data::DataLoader shuffled(ds, data::DataLoaderOptions(4).shuffle(true).seed(11));
    auto [a, sa] = epoch_of(shuffled);
    auto [b, sb] = epoch_of(shuffled);
    CHECK(shuffled.epoch() == 2);
    CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 10);
    CHECK(std::set<int64_t>(b.begin(), b.end()).size() == 10);
    CHECK(a != b);
    CHECK(a != ids);
    data::DataLoader again(ds, data::DataLoaderOptions(4).shuffle(true).seed(11));
    CHECK(epoch_of(again).first == a);
    CHECK(epoch_of(again).first == b);
    data::DataLoader other(ds, data::DataLoaderOptions(4).shuffle(true).seed(12));
    CHECK(epoch_of(other).first != a);

    data::DataLoader dropping(ds, data::DataLoaderOptions(4).drop_last(true));
    CHECK(epoch_of(dropping).second == std::vector<size_t>{4, 4});
    CHECK(dropping.batches() == 2);

    // The written-out algorithm, for other programs to follow (bench/fashion_mnist_torch.py).
    std::vector<size_t> want(10);
    std::iota(want.begin(), want.end(), 0);
    uint64_t state = 11 ^ (1 * 0x9E3779B97F4A7C15ull);
    for (size_t i = 9; i >= 1; --i) {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        std::swap(want[i], want[z % (i + 1)]);
    }
    CHECK(shuffled.order(1) == want);

    int line = __LINE__ + 1;
    CHECK(error_of([&] { data::DataLoader l(ds, data::DataLoaderOptions(0)); }) ==
          "DataLoader: batch_size must be >= 1" + at(line));
    line = __LINE__ + 1;
    CHECK(error_of<kiln::ShapeError>([&] { data::TensorDataset t(kiln::zeros({3, 2}), kiln::zeros({4})); }) ==
          "TensorDataset: data [3,2] and targets [4] must have the same number of rows" + at(line));
}

TEST_CASE("a smaller last batch compiles once for the whole run", "[data][loader][cache]") {
    auto ds = std::make_shared<data::TensorDataset>(kiln::randn({10, 3}), kiln::randn({10, 1}));
    data::DataLoader loader(ds, data::DataLoaderOptions(4).shuffle(true));
    kiln::nn::Linear model(3, 1);
    auto train_epoch = [&] {
        for (const data::Example& b : loader) {
            Tensor loss = kiln::nn::functional::mse_loss(model(b.data), b.target);
            loss.backward();
            kiln::NoGradGuard g;
            for (Tensor& p : model->parameters()) {
                p.sub_(p.grad(), 0.1);
                p.mutable_grad() = Tensor();
            }
            kiln::realize(model->parameters());
        }
    };
    train_epoch();  // compiles the full-batch step and the last-batch step
    kiln::reset_stats();
    for (int epoch = 0; epoch < 3; ++epoch) train_epoch();
    kiln::Stats s = kiln::stats();
    CHECK(s.program_cache_misses == 0);
    CHECK(s.realizations == 9);
}
