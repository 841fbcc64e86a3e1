// Shared helpers of the simulator kernel tests (tests/test_sim_kernels_*.cpp): device buffers
// with guard values around them, uploads of CPU tensors, comparisons with the CPU reference
// (exact, or by normalised MSE where the summation order legitimately differs), NaN/Inf checks.
#pragma once
#include "kernels/sim/sim_runtime_api.h"  // first: it defines the CUDA qualifiers the shared functors use

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "tensor/ops.h"

namespace uad::simtest {

using cuda::DeviceArray;

/// Elements of guard on each side of a GuardedBuffer.
constexpr int64_t kGuard = 67;

/// A device buffer of n elements of T with kGuard sentinel elements on each side (a distinctive
/// NaN payload for floats): a kernel writing outside [0, n) changes a sentinel, which check()
/// reports. AddressSanitizer covers accesses beyond the whole allocation.
template <class T> class GuardedBuffer {
 public:
  explicit GuardedBuffer(int64_t n, T fill = sentinel()) : n_(n), buf_((size_t)(n + 2 * kGuard)) {
    std::vector<T> h((size_t)(n + 2 * kGuard), sentinel());
    for (int64_t i = 0; i < n; ++i) h[(size_t)(kGuard + i)] = fill;
    cuda::copy_to_device(buf_.data(), h.data(), h.size() * sizeof(T));
  }
  /// From host values (the inside), guards around.
  explicit GuardedBuffer(const std::vector<T>& v) : GuardedBuffer((int64_t)v.size()) {
    if (!v.empty()) cuda::copy_to_device(data(), v.data(), v.size() * sizeof(T));
  }
  T* data() const { return buf_.data() + kGuard; }
  int64_t size() const { return n_; }
  std::vector<T> inside() const {
    std::vector<T> h((size_t)n_);
    if (n_) cuda::copy_to_host(h.data(), data(), (size_t)n_ * sizeof(T));
    return h;
  }
  /// Every guard element still holds the sentinel (bitwise).
  ::testing::AssertionResult guards_intact() const {
    std::vector<T> h((size_t)(n_ + 2 * kGuard));
    cuda::copy_to_host(h.data(), buf_.data(), h.size() * sizeof(T));
    const T s = sentinel();
    for (int64_t i = 0; i < n_ + 2 * kGuard; ++i) {
      if (i == kGuard) i += n_;
      if (i >= n_ + 2 * kGuard) break;
      if (std::memcmp(&h[(size_t)i], &s, sizeof(T)) != 0)
        return ::testing::AssertionFailure() << "guard element " << (i < kGuard ? i - kGuard : i - kGuard - n_) << (i < kGuard ? " before" : " after (offset from the end)")
                                             << " was overwritten";
    }
    return ::testing::AssertionSuccess();
  }
  static T sentinel() {
    if constexpr (std::is_same_v<T, float>) {
      const uint32_t b = 0x7fc0beefu;
      float f;
      std::memcpy(&f, &b, 4);
      return f;
    } else if constexpr (std::is_same_v<T, double>) {
      const uint64_t b = 0x7ff8dead0000beefull;
      double d;
      std::memcpy(&d, &b, 8);
      return d;
    } else {
      return T(-12345);
    }
  }

 private:
  int64_t n_;
  DeviceArray<T> buf_;
};

/// The elements of a CPU tensor (any layout) as T.
template <class T> std::vector<T> values_of(const Tensor& t) {
  Tensor c = t.contiguous();
  return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
}

/// A guarded device copy of a CPU tensor.
template <class T> GuardedBuffer<T> upload(const Tensor& t) { return GuardedBuffer<T>(values_of<T>(t)); }

/// Uniform values in [lo, hi) of dtype dt.
inline Tensor random_tensor(const Shape& s, DType dt, uint64_t seed, double lo = -2, double hi = 2) {
  Generator g(seed);
  return (rand(s, g, DType::f64) * (hi - lo) + lo).to(dt).contiguous();
}

/// Σ(got − want)² / max(Σ want², tiny): 0 when equal.
template <class T> double nmse(const std::vector<T>& got, const std::vector<T>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = (double)got[i] - (double)want[i];
    num += d * d;
    den += (double)want[i] * (double)want[i];
  }
  return num / std::max(den, 1e-300);
}

/// got equals want element for element (bitwise for finite values; NaN where want is NaN).
template <class T> ::testing::AssertionResult same_values(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < want.size(); ++i) {
    const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
    if (!both_nan && std::memcmp(&got[i], &want[i], sizeof(T)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << " want " << want[i];
  }
  return ::testing::AssertionSuccess();
}

/// All values finite, then nmse ≤ tol.
template <class T> ::testing::AssertionResult close_values(const std::vector<T>& got, const std::vector<T>& want, double tol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  std::vector<T> g2, w2;  // the elements where want is finite (NaN/Inf must match exactly)
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isfinite(want[i])) {
      if (!std::isfinite(got[i])) return ::testing::AssertionFailure() << "element " << i << " is " << got[i] << ", want " << want[i];
      g2.push_back(got[i]);
      w2.push_back(want[i]);
    } else if (!(std::isnan(want[i]) ? std::isnan(got[i]) : got[i] == want[i])) {
      return ::testing::AssertionFailure() << "element " << i << " is " << got[i] << ", want " << want[i];
    }
  }
  const double e = nmse(g2, w2);
  if (!(e <= tol)) return ::testing::AssertionFailure() << "normalised MSE " << e << " > " << tol;
  return ::testing::AssertionSuccess();
}

/// Normalised-MSE tolerance for results whose summation order differs from the CPU's: a few
/// hundred ulps² of relative error per element (f32 ε² ≈ 1.4e-14, f64 ε² ≈ 4.9e-32).
template <class T> constexpr double order_tol() { return sizeof(T) == 4 ? 1e-11 : 1e-26; }

/// Tolerance where the GPU kernel follows the CPU's order but the compilers may fuse a·b + c
/// into one FMA in one and not the other (GCC's vectorised CPU loops vs the scalar kernel; nvcc
/// contracts by default): last-bit differences only, so ~1 ulp² per element.
template <class T> constexpr double fma_tol() { return sizeof(T) == 4 ? 1e-13 : 1e-29; }

/// Runs fn() once plainly and under two seeded thread-order shuffles; restores the seed.
template <class Fn> void with_shuffles(Fn fn) {
  const auto saved = sim::shuffle_seed();
  fn();
  for (uint64_t seed : {11u, 12u}) {
    sim::set_shuffle_seed(seed);
    fn();
  }
  sim::set_shuffle_seed(saved);
}

}  // namespace uad::simtest
