// Helpers shared by the io tests: a self-removing temporary directory and the Python reference
// scripts of this folder (run with /usr/bin/python3, the interpreter that has numpy, nibabel and
// scipy from Debian).
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "tensor/tensor.h"

namespace uad::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    std::string name = "uad_";
    name += tag;
    name += '_';
    name += std::to_string(::getpid());
    name += '_';
    name += std::to_string(counter++);
    path = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  /// Number of entries in the directory (to check that failed writes leave nothing behind).
  size_t entries() const {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(path)) (void)e, ++n;
    return n;
  }
};

inline const char* kPython = "/usr/bin/python3";

/// True when /usr/bin/python3 can import every module in `modules` (e.g. "nibabel, scipy").
inline bool python_has(const std::string& modules) {
  std::string cmd = std::string(kPython) + " -c 'import " + modules + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// Runs tests/io_ref/<script> with `args`; returns the exit status (0 = success).
inline int run_io_ref(const std::string& script, const std::string& args) {
  std::string cmd = std::string(kPython) + " " + UAD_SOURCE_DIR + "/tests/io_ref/" + script + " " + args;
  return std::system(cmd.c_str());
}

/// A float32 tensor of uniform values in [lo, hi) from a fixed seed.
inline Tensor uniform_f32(const Shape& s, uint32_t seed, float lo = 0.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t = empty(s, DType::f32);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(g);
  return t;
}

}  // namespace uad::test
