// Helpers shared by the model tests (test_models*.cpp, test_fanogan3d.cpp may use them too):
// element-wise comparisons, brain-like input slices, and a self-removing temporary file.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "tensor/ops.h"

namespace uad::test {

/// Largest |a − b| (a, b of one shape; a shape mismatch is a test failure).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

/// Largest |v|.
inline double max_abs(const Tensor& a) {
  double m = 0;
  for (double v : a.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

/// Brain-like slices [n,1,s,s]: an ellipse (intensity 0.5–0.95, brighter towards its centre) on a
/// zero background, shifted and sized per sample in proportion to s.
inline Tensor brain_batch(int64_t n, int64_t s, uint64_t seed) {
  Generator g(seed);
  Tensor c = arange(s);
  Tensor yy = c.reshape({1, 1, s, 1}), xx = c.reshape({1, 1, 1, s});
  Tensor p = rand({n, 5, 1, 1}, g);
  const double h = (double)s;
  Tensor cy = p.slice(1, 0, 1) * (0.15 * h) + 0.42 * h, cx = p.slice(1, 1, 2) * (0.15 * h) + 0.42 * h;
  Tensor ay = p.slice(1, 2, 3) * (0.1 * h) + 0.27 * h, ax = p.slice(1, 3, 4) * (0.1 * h) + 0.23 * h;
  Tensor r2 = square((yy - cy) / ay) + square((xx - cx) / ax);
  Tensor tex = 0.5 + 0.35 * exp(neg(r2) * 2.0) + p.slice(1, 4, 5) * 0.1;
  return where(lt(r2, ones({1})), tex, zeros({1})).contiguous();
}

/// A temporary file path (tag + pid + name), removed at scope exit.
struct TempFile {
  std::string path;
  TempFile(const std::string& tag, const std::string& name)
      : path((std::filesystem::temp_directory_path() / ("uad_" + tag + "_" + std::to_string(::getpid()) + "_" + name))
                 .string()) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace uad::test
