// safetensors checkpoints: round trip of every dtype, the exact byte layout, each corrupt-file
// case with its error, atomic saves (a failed save leaves the previous file untouched), and an
// independent reader/writer in plain Python (tests/parity/safetensors_check.py), and a module
// checkpoint loaded by PyTorch into the same torch.nn modules (tests/parity/module_check.py).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "layers/layers.h"
#include "tensor/ops.h"
#include "tests/error_of.h"
#include "tests/parity/harness.h"

#ifndef UAD_SOURCE_DIR
#error "UAD_SOURCE_DIR must be defined (tests/CMakeLists.txt does it)"
#endif

using namespace uad;
using namespace uad::io;
using namespace uad::nn;
using uad::test::error_of;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path dir;
  TempDir() {
    std::string base = (fs::temp_directory_path() / "uad_st_XXXXXX").string();
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    EXPECT_NE(mkdtemp(buf.data()), nullptr);
    dir = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), (std::streamsize)bytes.size());
}

/// A file made of an 8-byte length, the given header text and `data_bytes` bytes of data.
std::string craft(const std::string& header, size_t data_bytes, uint64_t declared_len = UINT64_MAX) {
  uint64_t n = declared_len == UINT64_MAX ? header.size() : declared_len;
  std::string s(reinterpret_cast<const char*>(&n), 8);
  return s + header + std::string(data_bytes, '\x01');
}

std::map<std::string, Tensor> sample_tensors() {
  Generator g(7);
  std::map<std::string, Tensor> m;
  m["enc.0.weight"] = rand({4, 3, 2, 2}, g) * 2.0 - 1.0;
  m["enc.0.bias"] = from_vector({0.5, -1.25, 3.0, 1e-30}, {4});
  m["f64"] = rand({3, 5}, g, DType::f64);
  m["labels"] = from_vector({-3, 0, 7, 2147483647, -2147483648.0}, {5}, DType::i32);
  m["mask"] = from_vector({0, 1, 255, 3, 4, 5}, {2, 3}, DType::u8);
  m["scalar"] = scalar_tensor(42.5);
  m["empty"] = zeros({0, 3});
  m["transposed"] = (rand({3, 4}, g) + 1.0).transpose(0, 1);  // non-contiguous input
  return m;
}

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  EXPECT_EQ(a.dtype(), b.dtype()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(a.to_vector(), b.to_vector()) << what;  // bit-exact values
}

}  // namespace

TEST(Safetensors, RoundTripEveryDtype) {
  TempDir d;
  const std::string path = d / "ckpt.safetensors";
  auto m = sample_tensors();
  std::map<std::string, std::string> meta{{"epoch", "3"}, {"model", "unified_ae"}, {"note", "ünïcode ✓"}};
  save_safetensors(path, m, meta);
  SafetensorsFile f = load_safetensors(path);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), m.size());
  for (auto& [name, t] : m) {
    ASSERT_TRUE(f.tensors.count(name)) << name;
    expect_same(f.tensors[name], t, name);
    EXPECT_TRUE(f.tensors[name].is_contiguous());
  }
  // No metadata → no __metadata__ entry, still loadable; an empty map of tensors is valid too.
  save_safetensors(path, {{"x", ones({2})}});
  EXPECT_TRUE(load_safetensors(path).metadata.empty());
  EXPECT_EQ(read_bytes(path).find("__metadata__"), std::string::npos);
  save_safetensors(path, {});
  EXPECT_TRUE(load_safetensors(path).tensors.empty());
}

TEST(Safetensors, ByteLayout) {
  TempDir d;
  const std::string path = d / "layout.safetensors";
  save_safetensors(path, {{"b", from_vector({1, 2}, {2})}, {"a", from_vector({7}, {1, 1}, DType::u8)}}, {{"k", "v"}});
  const std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);  // little-endian length
  EXPECT_EQ(n % 8, 0u) << "header padded to 8 bytes";
  ASSERT_EQ(bytes.size(), 8 + n + 1 + 8);  // u8[1,1] + f32[2]
  auto h = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(h["__metadata__"]["k"], "v");
  EXPECT_EQ(h["a"]["dtype"], "U8");
  EXPECT_EQ(h["a"]["shape"], nlohmann::json::array({1, 1}));
  EXPECT_EQ(h["a"]["data_offsets"], nlohmann::json::array({0, 1}));  // name order
  EXPECT_EQ(h["b"]["dtype"], "F32");
  EXPECT_EQ(h["b"]["data_offsets"], nlohmann::json::array({1, 9}));
  EXPECT_EQ((unsigned char)bytes[8 + n], 7);
  float v[2];
  std::memcpy(v, bytes.data() + 8 + n + 1, 8);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], 2.0f);
}

TEST(Safetensors, CorruptFilesGiveOneClearError) {
  TempDir d;
  const std::string path = d / "bad.safetensors";
  // A valid file: "a" F32 [2] at [0,8), "b" U8 [3] at [8,11).
  const std::string ok_header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})";
  write_bytes(path, craft(ok_header, 11));
  ASSERT_EQ(load_safetensors(path).tensors.size(), 2u);

  struct Case {
    const char* what;
    std::string bytes;
    const char* expect;  // a fragment of the message
  };
  const std::vector<Case> cases = {
      {"shorter than 8 bytes", std::string("\x05\x00\x00", 3), "truncated: 3 bytes"},
      {"header length beyond the file", craft(ok_header, 11, 1u << 20), "truncated: the header length 1048576"},
      {"huge header length", craft(ok_header, 11, UINT64_MAX - 1), "truncated"},
      {"data cut short", craft(ok_header, 10), "out of range"},
      {"extra data at the end", craft(ok_header, 12), "data buffer has 12 bytes but the tensors cover 11"},
      {"bad JSON", craft(R"({"a":{"dtype":"F32",)", 0), "not valid JSON"},
      {"not an object", craft("[1,2]", 0), "not a JSON object"},
      {"unknown dtype", craft(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 4), "unknown dtype 'BF16'"},
      {"missing dtype", craft(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8), "missing or non-string dtype"},
      {"negative shape", craft(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative integers"},
      {"offsets reversed", craft(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4), "out of range"},
      {"offsets out of range", craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 8), "out of range"},
      {"size mismatch", craft(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8), "needs 16"},
      {"one offset", craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8), "data_offsets must be two"},
      {"overlap", craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "overlap"},
      {"gap", craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       "gap in the data buffer"},
      {"duplicate key", craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
       "names 'a' twice"},
      {"metadata not strings", craft(R"({"__metadata__":{"epoch":3}})", 0), "is not a string"},
  };
  for (const Case& c : cases) {
    write_bytes(path, c.bytes);
    std::string e = error_of([&] { load_safetensors(path); });
    EXPECT_NE(e.find(path), std::string::npos) << c.what << ": the error names the file: " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.what << ": got '" << e << "', expected '" << c.expect << "'";
  }
  std::string missing = d / "missing.safetensors";
  EXPECT_NE(error_of([&] { load_safetensors(missing); }).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { load_safetensors(d.dir.string()); }).find("not a regular file"), std::string::npos);
}

TEST(Safetensors, FailedSaveLeavesThePreviousFileUntouched) {
  TempDir d;
  const std::string path = d / "model.safetensors";
  save_safetensors(path, {{"w", from_vector({1, 2, 3}, {3})}}, {{"epoch", "1"}});
  const std::string good = read_bytes(path);

  // Invalid inputs fail before any file is created.
  EXPECT_NE(error_of([&] { save_safetensors(path, {{"", ones({1})}}); }).find("invalid tensor name"), std::string::npos);
  EXPECT_NE(error_of([&] { save_safetensors(path, {{"__metadata__", ones({1})}}); }).find("invalid tensor name"), std::string::npos);
  EXPECT_NE(error_of([&] { save_safetensors(path, {{"u", Tensor()}}); }).find("'u' is undefined"), std::string::npos);

  // Directory missing, or a path "inside" a regular file: the error names the path.
  std::string e = error_of([&] { save_safetensors(d / "no/such/dir/model.safetensors", {{"w", ones({3})}}); });
  EXPECT_NE(e.find("no/such/dir/model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot create the temporary file"), std::string::npos) << e;
  e = error_of([&] { save_safetensors(path + "/inner.safetensors", {{"w", ones({3})}}); });
  EXPECT_NE(e.find("cannot create the temporary file"), std::string::npos) << e;

  // A save that fails midway (the file-size limit is hit after part of the data was written; the
  // test runs as root, so a read-only directory would not stop it): the error says so, the
  // previous file is byte-identical and no temporary file is left behind.
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto prev_handler = signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing us
  struct rlimit lim = old;
  lim.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  e = error_of([&] { save_safetensors(path, {{"w", ones({100000})}}, {{"epoch", "2"}}); });
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev_handler);
  EXPECT_NE(e.find("write failed"), std::string::npos) << e;
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_EQ(read_bytes(path), good);
  EXPECT_EQ(load_safetensors(path).metadata.at("epoch"), "1");
  int files = 0;
  for (auto& entry : fs::directory_iterator(d.dir)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1) << "the temporary file was removed";

  // And a successful save replaces it.
  save_safetensors(path, {{"w", ones({100000})}}, {{"epoch", "2"}});
  EXPECT_EQ(load_safetensors(path).metadata.at("epoch"), "2");
}

// An independent implementation of the format (plain Python: struct + json + numpy) reads uad's
// file and checks its rules, reports per-tensor sums, and writes the tensors back in its own
// layout (reverse order, unpadded header), which uad must read bit-exactly.
TEST(Safetensors, IndependentPythonReaderAndWriter) {
  TempDir d;
  const std::string in = d / "uad.safetensors", out = d / "python.safetensors";
  auto m = sample_tensors();
  save_safetensors(in, m, {{"epoch", "12"}});
  const std::string cmd = std::string("/usr/bin/python3 ") + UAD_SOURCE_DIR + "/tests/parity/safetensors_check.py " + in + " " + out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[4096];
  while (size_t k = fread(buf, 1, sizeof buf, p)) text.append(buf, k);
  const int status = pclose(p);
  ASSERT_EQ(status, 0) << "safetensors_check.py failed: " << text;
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["metadata"]["epoch"], "12");
  EXPECT_EQ(j["header_len"].get<uint64_t>() % 8, 0u);
  ASSERT_EQ(j["tensors"].size(), m.size());
  for (auto& [name, t] : m) {
    const auto& s = j["tensors"][name];
    EXPECT_EQ(s["dtype"], safetensors_dtype_name(t.dtype())) << name;
    EXPECT_EQ(s["shape"].get<Shape>(), t.shape()) << name;
    std::vector<double> v = t.to_vector();
    double total = 0;
    for (double x : v) total += x;
    EXPECT_NEAR(s["sum"].get<double>(), total, 1e-9 * (1 + std::fabs(total))) << name;
    if (!v.empty()) {
      EXPECT_EQ(s["first"].get<double>(), v[0]) << name;
    }
  }
  SafetensorsFile back = load_safetensors(out);
  EXPECT_EQ(back.metadata.at("writer"), "python");
  EXPECT_EQ(back.metadata.at("epoch"), "12");
  for (auto& [name, t] : m) expect_same(back.tensors.at(name), t, "python-written " + name);
}

// The same state dict loads into the same torch.nn modules (PyTorch's parameter names and weight
// layouts; only its num_batches_tracked buffers are absent) and gives the same outputs, in eval
// mode and in train mode, with the same running statistics afterwards (momentum conventions).
// PyTorch side: tests/parity/module_check.py.
TEST(Safetensors, PyTorchLoadsTheSameModule) {
  struct TwoNets : Module {
    std::shared_ptr<Sequential> net2, net3;
    explicit TwoNets(Generator& g) {
      net2 = register_module("net2", make_sequential({
          std::make_shared<Conv2d>(1, 4, 3, ConvOptions{.stride = {2}, .padding = {1}}, g),
          std::make_shared<BatchNorm>(4, BatchNormOptions::keras(), g),
          std::make_shared<LeakyReLU>(0.3),
          std::make_shared<ConvTranspose2d>(4, 3, 3, ConvOptions{.stride = {2}, .padding = {1}, .output_padding = {1}}, g),
          std::make_shared<InstanceNorm>(3, InstanceNormOptions{.affine = true}),
          std::make_shared<ELU>(),
          std::make_shared<LayerNorm>(Shape{3, 8, 8}),
          std::make_shared<Flatten>(),
          std::make_shared<Linear>(192, 5, LinearOptions{}, g),
          std::make_shared<Tanh>(),
      }));
      net3 = register_module("net3", make_sequential({
          std::make_shared<Conv3d>(1, 2, 3, ConvOptions{.padding = {1}, .bias = false}, g),
          std::make_shared<BatchNorm>(2, BatchNormOptions{}, g),
          std::make_shared<ReLU>(),
          std::make_shared<ConvTranspose3d>(2, 1, 4, ConvOptions{.stride = {2}, .padding = {1}}, g),
          std::make_shared<Sigmoid>(),
          std::make_shared<Softplus>(),
      }));
    }
  };
  Generator g(31);
  TwoNets m(g);
  for (const Tensor& p : m.parameters()) init::uniform_(p, -0.8, 0.8, g);  // γ, β, affine terms too
  Tensor x2 = rand({2, 1, 8, 8}, g) * 2.0 - 1.0, x3 = rand({1, 1, 4, 4, 4}, g) * 2.0 - 1.0;
  {
    NoGradGuard ng;
    for (int i = 0; i < 2; ++i) {  // non-trivial running statistics
      (*m.net2)(x2 * 1.5 + 0.3);
      (*m.net3)(x3 * 0.5 - 0.2);
    }
  }
  const std::string dir = parity::Workdir::get().new_case("module_check");
  save_state(m, dir + "/model.safetensors");
  test::write_npy(dir + "/x2.npy", x2);
  test::write_npy(dir + "/x3.npy", x3);
  std::map<std::string, Tensor> ours;
  {
    NoGradGuard ng;
    m.eval();
    ours["eval2"] = (*m.net2)(x2);
    ours["eval3"] = (*m.net3)(x3);
    m.train();
    ours["train2"] = (*m.net2)(x2);
    ours["train3"] = (*m.net3)(x3);
  }
  for (auto& [n, t] : m.named_buffers()) ours[n] = t;
  const std::string cmd = std::string("/usr/bin/python3 ") + UAD_SOURCE_DIR + "/tests/parity/module_check.py " + dir;
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string text;
  char buf[1024];
  while (size_t r = fread(buf, 1, sizeof buf, pipe)) text.append(buf, r);
  ASSERT_EQ(pclose(pipe), 0) << "module_check.py: " << text;
  EXPECT_EQ(ours.size(), 4u + 4u);
  for (auto& [n, t] : ours) EXPECT_TRUE(parity::compare_tensors(n, t, test::read_npy(dir + "/" + n + ".npy"), parity::Tol{})) << n;
}
