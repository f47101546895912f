// safetensors files: round trips of every dtype, the exact bytes Kiln writes, a file written by
// Python without the safetensors package (data/from_python.safetensors, made by
// make_python_fixture.py), one test per kind of corrupt file with its exact message, atomic
// writes, and kiln::save / kiln::load of modules that never half-load.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include <kiln/kiln.h>
#include "error_of.h"

namespace fs = std::filesystem;
namespace nn = kiln::nn;
using kiln::Tensor;
using kiln::test::error_of;

namespace {

/// A fresh directory for one test, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("kiln_serialize_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
    static int& counter() {
        static int n = 0;
        return n;
    }
    /// Names of the files in the directory (to see that no temporary file is left).
    std::vector<std::string> listing() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
}

/// A file with this header text (padded to 8 bytes) and data.
std::string file_with(const std::string& header, const std::string& data) {
    std::string h = header;
    h.append((8 - h.size() % 8) % 8, ' ');
    std::string size(8, '\0');
    for (int i = 0; i < 8; ++i) size[i] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
    return size + h + data;
}


std::string at(int line) { return " at safetensors_test.cpp:" + std::to_string(line); }

}  // namespace

TEST_CASE("every dtype, 0-d and empty tensors and metadata round-trip", "[serialize]") {
    TempDir dir;
    std::map<std::string, Tensor> in{
        {"f32", kiln::tensor(std::vector<float>{1.5f, -2.0f, 3.25f, 0.1f, -0.0f, 1e30f}, {2, 3})},
        {"f64", kiln::tensor(std::vector<double>{1.0 / 3, -1e-300}, {2}, kiln::TensorOptions().dtype(kiln::kFloat64))},
        {"i32", kiln::tensor(std::vector<int32_t>{-7, 2147483647}, {2})},
        {"i64", kiln::tensor(std::vector<int64_t>{int64_t(1) << 62, -3, 0}, {3, 1})},
        {"bool", kiln::tensor(std::vector<bool>{true, false, false, true}, {2, 2})},
        {"scalar", kiln::full({}, 4.5)},
        {"empty", kiln::zeros({0, 3})},
        {"lazy", kiln::arange(5) * 3},  // computed when saved
    };
    std::string path = dir.file("all.safetensors");
    kiln::save_safetensors(in, path, {{"epoch", "3"}, {"note", "ünïcode ok"}});
    std::map<std::string, Tensor> out = kiln::load_safetensors(path);
    REQUIRE(out.size() == in.size());
    for (const auto& [name, t] : in) {
        INFO(name);
        const Tensor& back = out.at(name);
        CHECK(back.dtype() == t.dtype());
        CHECK(back.sizes() == t.sizes());
        CHECK_FALSE(back.requires_grad());
    }
    CHECK(out["f32"].to_vector<float>() == in["f32"].to_vector<float>());
    CHECK(out["f64"].to_vector<double>() == in["f64"].to_vector<double>());
    CHECK(out["i32"].to_vector<int32_t>() == in["i32"].to_vector<int32_t>());
    CHECK(out["i64"].to_vector<int64_t>() == in["i64"].to_vector<int64_t>());
    CHECK(out["bool"].to_vector<bool>() == in["bool"].to_vector<bool>());
    CHECK(out["scalar"].item<float>() == 4.5f);
    CHECK(out["lazy"].to_vector<int64_t>() == std::vector<int64_t>{0, 3, 6, 9, 12});
    CHECK(kiln::load_safetensors_metadata(path) ==
          std::map<std::string, std::string>{{"epoch", "3"}, {"note", "ünïcode ok"}});
    CHECK(dir.listing() == std::vector<std::string>{"all.safetensors"});  // no temporary left
}

TEST_CASE("the bytes Kiln writes are the format's", "[serialize]") {
    TempDir dir;
    std::string path = dir.file("small.safetensors");
    kiln::save_safetensors({{"b", kiln::tensor(std::vector<int32_t>{7}, {1})},
                            {"a", kiln::tensor(std::vector<float>{1.0f, -2.0f}, {2})}},
                           path);
    std::string header = R"({"a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]},)"
                         R"("b":{"data_offsets":[8,12],"dtype":"I32","shape":[1]}})";
    std::string data(12, '\0');
    float a[2] = {1.0f, -2.0f};
    int32_t b = 7;
    std::memcpy(data.data(), a, 8);
    std::memcpy(data.data() + 8, &b, 4);
    CHECK(read_bytes(path) == file_with(header, data));
    CHECK(read_bytes(path).size() % 8 == 4);  // the header is padded, the data is not
}

TEST_CASE("a file written by Python without the safetensors package loads", "[serialize]") {
    std::string path = std::string(KILN_TEST_DATA_DIR) + "/from_python.safetensors";
    std::map<std::string, Tensor> t = kiln::load_safetensors(path);
    REQUIRE(t.size() == 7);
    std::vector<float> w;
    for (int i = 0; i < 6; ++i) w.push_back(float(i) / 4 - 0.5f);
    CHECK(t["weight"].sizes() == std::vector<int64_t>{2, 3});
    CHECK(t["weight"].to_vector<float>() == w);
    CHECK(t["double"].to_vector<double>() == std::vector<double>{1.0 / 3, -2.5, 1e300, -0.0});
    CHECK(t["steps"].to_vector<int64_t>() ==
          std::vector<int64_t>{7, -8, int64_t(1) << 40, -(int64_t(1) << 62)});
    CHECK(t["labels"].to_vector<int32_t>() == std::vector<int32_t>{3, -1, 2147483647});
    CHECK(t["mask"].to_vector<bool>() == std::vector<bool>{true, false, true});
    CHECK(t["scalar"].dim() == 0);
    CHECK(t["scalar"].item<float>() == 2.75f);
    CHECK(t["empty"].sizes() == std::vector<int64_t>{0, 5});
    CHECK(kiln::load_safetensors_metadata(path).at("writer") == "python");
}

TEST_CASE("corrupt files are errors naming the file, the tensor and the problem",
          "[serialize][errors]") {
    TempDir dir;
    std::string path = dir.file("bad.safetensors");
    int line = __LINE__ + 1;  // every message names the load below
    auto load_error = [&](const std::string& bytes) { write_bytes(path, bytes); return error_of<kiln::ParseError>([&] { kiln::load_safetensors(path); }); };
    std::string p = "load_safetensors: " + path + ": ";
    auto where = [&] { return at(line); };
    std::string f8(8, '\0');
    auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                    const std::string& offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
               ",\"data_offsets\":" + offsets + "}";
    };
    CHECK(load_error("abc") ==
          p + "the file has 3 bytes, too few for a safetensors file (the header size alone takes 8)" + where());
    std::string huge = file_with("{}", "");
    huge[0] = 100;  // header size 100 in a 16-byte file
    CHECK(load_error(huge) == p + "the header size 100 is larger than the file (16 bytes)" + where());
    CHECK(load_error(file_with("{\"a\": [", "")).starts_with(p + "the header is not valid JSON ("));
    CHECK(load_error(file_with("[1, 2]", "")) == p + "the header is not a JSON object" + where());
    CHECK(load_error(file_with("{" + entry("w", "F16", "[2]", "[0,4]") + "}", "1234")) ==
          p + "tensor 'w': dtype F16 is not one Kiln has (F32, F64, I32, I64, BOOL)" + where());
    CHECK(load_error(file_with("{" + entry("w", "F32", "[-2]", "[0,8]") + "}", f8)) ==
          p + "tensor 'w': the shape [-2] is not a list of sizes" + where());
    CHECK(load_error(file_with("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", f8)) ==
          p + "tensor 'w': data_offsets must be two byte offsets [begin, end]" + where());
    CHECK(load_error(file_with("{" + entry("w", "F32", "[3]", "[0,8]") + "}", f8)) ==
          p + "tensor 'w': data_offsets [0,8] hold 8 bytes, but f32[3] needs 12" + where());
    CHECK(load_error(file_with("{" + entry("w", "F32", "[2]", "[8,16]") + "}", f8 + f8)) ==
          p + "tensor 'w' starts at byte 8 of the data, but the data starts at 0 (offsets must "
              "be contiguous, without gaps or overlaps)" + where());
    CHECK(load_error(file_with("{" + entry("w", "F32", "[2]", "[0,8]") + "," +
                                   entry("v", "F32", "[2]", "[4,12]") + "}", f8 + f8)) ==
          p + "tensor 'v' starts at byte 4 of the data, but 'w' ends at 8 (offsets must be "
              "contiguous, without gaps or overlaps)" + where());
    CHECK(load_error(file_with("{" + entry("w", "F32", "[4]", "[0,16]") + "}", f8)) ==
          p + "tensor 'w': data_offsets [0, 16] reach past the end of the data (8 bytes)" + where());
    CHECK(load_error(file_with("{" + entry("w", "F32", "[2]", "[0,8]") + "}", f8 + "xy")) ==
          p + "the tensors' data ends at byte 8 but the file has 10 bytes of data" + where());
    CHECK(load_error(file_with("{\"__metadata__\":{\"a\":1}}", "")) ==
          p + "__metadata__ value of 'a' is not a string" + where());
    // a missing file and a directory
    fs::remove(path);
    line = __LINE__ + 1;
    CHECK(error_of([&] { kiln::load_safetensors(path); }) ==
          "load_safetensors: cannot read '" + path + "': No such file or directory" + where());
    line = __LINE__ + 1;
    CHECK(error_of([&] { kiln::load_safetensors(dir.path.string()); }) ==
          "load_safetensors: cannot read '" + dir.path.string() + "': it is a directory" + where());
}

TEST_CASE("saves are atomic: a failed save leaves the old file and no temporary",
          "[serialize][errors]") {
    TempDir dir;
    std::string path = dir.file("model.safetensors");
    kiln::save_safetensors({{"x", kiln::ones({3})}}, path);
    std::string before = read_bytes(path);
    // Refused before anything is written: the old file stays.
    int line = __LINE__ + 1;
    CHECK(error_of([&] { kiln::save_safetensors({{"x", Tensor()}}, path); }) ==
          "save_safetensors: the tensor 'x' is undefined" + at(line));
    CHECK(read_bytes(path) == before);
    // The directory does not exist: nothing is created.
    std::string missing = dir.file("no/such/dir/m.safetensors");
    std::string e = error_of([&] { kiln::save_safetensors({{"x", kiln::ones({3})}}, missing); });
    CHECK(e == "save_safetensors: cannot write '" + missing + "': No such file or directory");
    // A read-only directory (unless running as root, who may write anyway).
    fs::path ro = dir.path / "ro";
    fs::create_directory(ro);
    kiln::save_safetensors({{"x", kiln::ones({3})}}, (ro / "m.safetensors").string());
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    if (::geteuid() != 0) {
        std::string ro_file = (ro / "m.safetensors").string();
        e = error_of([&] { kiln::save_safetensors({{"x", kiln::zeros({3})}}, ro_file); });
        CHECK(e == "save_safetensors: cannot write '" + ro_file + "': Permission denied");
        CHECK(kiln::load_safetensors(ro_file).at("x").to_vector<float>() == std::vector<float>(3, 1.0f));
    }
    fs::permissions(ro, fs::perms::owner_all);
    // Overwriting replaces the contents.
    kiln::save_safetensors({{"y", kiln::zeros({2})}}, path);
    CHECK(kiln::load_safetensors(path).count("y") == 1);
    CHECK(dir.listing() == std::vector<std::string>{"model.safetensors", "ro"});
}

namespace {

struct TinyImpl : nn::Module {
    TinyImpl(int64_t hidden = 4) {
        fc = register_module("fc", nn::Linear(3, hidden));
        norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({hidden})));
        count = register_buffer("count", kiln::zeros({1}, kiln::TensorOptions().dtype(kiln::kInt64)));
    }
    nn::Linear fc{nullptr};
    nn::LayerNorm norm{nullptr};
    Tensor count;
};
KILN_MODULE(Tiny);

std::map<std::string, std::vector<float>> float_values(const nn::Module& m) {
    std::map<std::string, std::vector<float>> out;
    for (const auto& item : m.named_parameters()) out[item.key()] = item.value().to_vector<float>();
    return out;
}

}  // namespace

TEST_CASE("save and load a module; a mismatched file changes nothing", "[serialize][nn]") {
    TempDir dir;
    std::string path = dir.file("tiny.safetensors");
    Tiny a, b;
    {
        kiln::NoGradGuard g;
        a->count.fill_(41);
    }
    kiln::save(a, path);
    CHECK(kiln::load_safetensors_metadata(path).at("module") == "Tiny");
    REQUIRE(float_values(*a) != float_values(*b));
    Tensor held = b->fc->weight;
    kiln::load(b, path);
    CHECK(float_values(*a) == float_values(*b));
    CHECK(held.to_vector<float>() == a->fc->weight.to_vector<float>());  // loaded in place
    CHECK(held.requires_grad());
    CHECK(b->count.to_vector<int64_t>() == std::vector<int64_t>{41});

    Tiny wide(5);
    auto wide_before = float_values(*wide);
    int line = __LINE__ + 1;
    CHECK(error_of<kiln::ParseError>([&] { kiln::load(wide, path); }) ==
          "load: " + path + ": tensor 'fc.bias' is f32[4] in the file, but f32[5] in the module" +
              at(line));
    CHECK(float_values(*wide) == wide_before);  // nothing half-loaded

    std::map<std::string, Tensor> partial = kiln::load_safetensors(path);
    partial.erase("norm.bias");
    kiln::save_safetensors(partial, path);
    line = __LINE__ + 1;
    CHECK(error_of([&] { kiln::load(b, path); }) ==
          "load: " + path + " has no tensor 'norm.bias' (the module's f32[4])" + at(line));
    partial["norm.bias"] = kiln::zeros({4});
    partial["extra"] = kiln::zeros({2});
    kiln::save_safetensors(partial, path);
    line = __LINE__ + 1;
    CHECK(error_of([&] { kiln::load(b, path); }) ==
          "load: " + path + " has a tensor 'extra' (f32[2]) that the module does not have" + at(line));
}

// Hidden (run by the serialize_python ctest when PyTorch is installed, see tests/CMakeLists.txt):
// writes the file read_kiln_file.py checks with json, struct and torch alone.
TEST_CASE("write the file for the Python reader", "[.interop]") {
    const char* out = std::getenv("KILN_INTEROP_FILE");
    REQUIRE(out != nullptr);
    std::vector<float> w;
    for (int i = 0; i < 6; ++i) w.push_back(float(i) / 4 - 0.5f);
    kiln::save_safetensors(
        {{"weight", kiln::tensor(w, {2, 3})},
         {"double", kiln::tensor(std::vector<double>{1.0 / 3, -2.5}, {2},
                                 kiln::TensorOptions().dtype(kiln::kFloat64))},
         {"steps", kiln::tensor(std::vector<int64_t>{7, -(int64_t(1) << 62)}, {2})},
         {"labels", kiln::tensor(std::vector<int32_t>{3, -1}, {2})},
         {"mask", kiln::tensor(std::vector<bool>{true, false, true}, {3})},
         {"scalar", kiln::full({}, 2.75)},
         {"empty", kiln::zeros({0, 5})}},
        out, {{"writer", "kiln"}});
}

TEST_CASE("a run resumed from saved model and optimizer files takes the same next step",
          "[serialize][optim]") {
    TempDir dir;
    auto make = [] {
        kiln::manual_seed(3);
        return nn::Sequential(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
    };
    Tensor x = kiln::randn({16, 4}), y = kiln::randn({16, 2});
    kiln::realize({x, y});
    auto train_step = [&](nn::Sequential& m, kiln::optim::Optimizer& opt) {
        opt.zero_grad();
        kiln::nn::functional::mse_loss(m(x), y).backward();
        opt.step();
    };
    nn::Sequential a = make();
    kiln::optim::Adam opt_a(a->parameters(), kiln::optim::AdamOptions(0.01));
    for (int i = 0; i < 3; ++i) train_step(a, opt_a);
    kiln::save(a, dir.file("model.safetensors"));
    kiln::save(opt_a, dir.file("optim.safetensors"));
    train_step(a, opt_a);

    nn::Sequential b = make();
    kiln::optim::Adam opt_b(b->parameters(), kiln::optim::AdamOptions(0.5));
    kiln::load(b, dir.file("model.safetensors"));
    kiln::load(opt_b, dir.file("optim.safetensors"));
    CHECK(opt_b.param_groups()[0].options().get_lr() == 0.01);
    train_step(b, opt_b);
    for (size_t i = 0; i < a->parameters().size(); ++i)
        CHECK(a->parameters()[i].to_vector<float>() == b->parameters()[i].to_vector<float>());
}
