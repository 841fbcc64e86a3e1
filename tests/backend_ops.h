// The backend test suite's harness (issue 3; DESIGN.md §5, after ggml's test-backend-ops): an op
// case runs on the CPU and on the CUDA backend (simulated, or a real GPU when present) from the
// same random inputs; the device result must
//   - be on the device, with the CPU result's shape and dtype;
//   - have NaN/Inf exactly where the CPU result has them;
//   - agree with the CPU within a normalised MSE  Σ(d − c)² / Σ c²  ≤ tol;
//   - leave the guard bytes around every device buffer untouched: while the suite runs, the
//     backend's allocator is wrapped so that each allocation carries kGuardBytes of 0xFF on both
//     sides and its inside starts as 0xFF (NaN for f32/f64: an output element an op forgets to
//     write shows up as NaN); the guards are checked when the buffer is freed;
// and the gradients of Σ y·w (w random) with respect to every floating input must agree with the
// CPU's the same way (both backends run the same vjps, written in ops).
#pragma once
#if defined(UAD_CUDA_SIM)
#include "kernels/sim/sim_runtime_api.h"  // first: the CUDA qualifiers
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/backend.h"
#include "tensor/backend.h"
#include "tensor/device.h"
#include "tensor/ops.h"

namespace uad::backendtest {

constexpr size_t kGuardBytes = 256;

/// The wrapped allocator's bookkeeping.
struct GuardState {
  const CudaBackend* inner = nullptr;
  CudaBackend wrapped;
  std::mutex mu;
  std::unordered_map<void*, size_t> live;  // user pointer → requested bytes
  std::atomic<int> violations{0};
  std::string first_violation;
};

inline GuardState& guard_state() {
  static GuardState s;
  return s;
}

inline void* guarded_alloc(size_t bytes) {
  GuardState& s = guard_state();
  const size_t total = bytes + 2 * kGuardBytes;
  char* base = static_cast<char*>(s.inner->alloc(total));
  std::vector<unsigned char> poison(total, 0xFF);
  s.inner->copy_to_device(base, poison.data(), total);
  void* user = base + kGuardBytes;
  std::lock_guard<std::mutex> lock(s.mu);
  s.live[user] = bytes;
  return user;
}

inline void guarded_free(void* p) {
  GuardState& s = guard_state();
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.live.find(p);
    if (it == s.live.end()) {  // allocated before the wrapper was installed
      s.inner->free(p);
      return;
    }
    bytes = it->second;
    s.live.erase(it);
  }
  char* base = static_cast<char*>(p) - kGuardBytes;
  std::vector<unsigned char> head(kGuardBytes), tail(kGuardBytes);
  s.inner->copy_to_host(head.data(), base, kGuardBytes);
  s.inner->copy_to_host(tail.data(), base + kGuardBytes + bytes, kGuardBytes);
  for (size_t i = 0; i < kGuardBytes; ++i) {
    if (head[i] != 0xFF || tail[i] != 0xFF) {
      if (s.violations.fetch_add(1) == 0)
        s.first_violation = "a write " + std::string(head[i] != 0xFF ? "before" : "after") + " a buffer of " +
                            std::to_string(bytes) + " bytes (guard byte " + std::to_string(i) + ")";
      break;
    }
  }
  s.inner->free(base);
}

/// Installs the backend (the simulator's, or the real one when a GPU is present) with the guarded
/// allocator. False with `why` set when there is no device to test.
inline bool setup_device(std::string* why) {
#if defined(UAD_CUDA_SIM)
  cuda::install_backend();
#else
  const CudaProbe& p = probe_cuda();
  if (!p.available()) {
    *why = "no CUDA device: " + p.reason;
    return false;
  }
#endif
  GuardState& s = guard_state();
  if (!s.inner) {
    s.inner = cuda_backend_or_null();
    if (!s.inner) {
      *why = "no CUDA backend in this binary";
      return false;
    }
    s.wrapped = *s.inner;
    s.wrapped.alloc = &guarded_alloc;
    s.wrapped.free = &guarded_free;
    register_cuda_backend(&s.wrapped);
  }
  return true;
}

/// One op case: `f` maps the inputs (all of `dtype`, uniform in [lo, hi], requiring grad) to the
/// output; it may build derived inputs (masks, indices) from them with ops.
struct Case {
  std::string name;
  std::vector<Shape> shapes;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  DType dtype = DType::f32;
  double lo = -1.0, hi = 1.0;
  double tol = -1.0;   ///< NMSE bound; < 0 = 1e-9 for f32, 1e-20 for f64
  bool grad = true;    ///< compare the gradients of Σ y·w too
};

/// Normalised MSE of d against the reference c over the elements finite in both; `mismatch` gets
/// the first index whose finiteness differs (or -1).
inline double nmse(const std::vector<double>& d, const std::vector<double>& c, int64_t* mismatch) {
  double num = 0, den = 0;
  *mismatch = -1;
  for (size_t i = 0; i < c.size(); ++i) {
    const bool fc = std::isfinite(c[i]), fd = std::isfinite(d[i]);
    if (fc != fd || (!fc && !(std::isnan(c[i]) && std::isnan(d[i])) && c[i] != d[i])) {
      if (*mismatch < 0) *mismatch = (int64_t)i;
      continue;
    }
    if (!fc) continue;
    num += (d[i] - c[i]) * (d[i] - c[i]);
    den += c[i] * c[i];
  }
  return den > 0 ? num / den : num;
}

inline ::testing::AssertionResult close(const Tensor& dev, const Tensor& ref, double tol, const std::string& what) {
  if (!dev.defined() || !ref.defined())
    return dev.defined() == ref.defined() ? ::testing::AssertionSuccess()
                                          : ::testing::AssertionFailure() << what << ": defined on one backend only";
  if (dev.device() != Device::cuda) return ::testing::AssertionFailure() << what << ": result is on " << device_name(dev.device());
  if (dev.shape() != ref.shape() || dev.dtype() != ref.dtype())
    return ::testing::AssertionFailure() << what << ": device " << shape_str(dev.shape()) << " " << dtype_name(dev.dtype()) << " vs cpu "
                                         << shape_str(ref.shape()) << " " << dtype_name(ref.dtype());
  const std::vector<double> d = dev.to_vector(), c = ref.to_vector();
  int64_t bad = -1;
  const double e = nmse(d, c, &bad);
  if (bad >= 0)
    return ::testing::AssertionFailure() << what << ": NaN/Inf differ at element " << bad << " (device " << d[(size_t)bad] << ", cpu "
                                         << c[(size_t)bad] << ")";
  if (!(e <= tol)) return ::testing::AssertionFailure() << what << ": normalised MSE " << e << " > " << tol;
  return ::testing::AssertionSuccess();
}

inline uint64_t seed_of(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : s) h = (h ^ (unsigned char)ch) * 1099511628211ull;
  return h;
}

/// Runs `c` on the CPU and on the device and compares values, NaN/Inf, gradients and guards.
inline void run_case(const Case& c) {
  SCOPED_TRACE(c.name);
  const double tol = c.tol >= 0 ? c.tol : c.dtype == DType::f64 ? 1e-20 : 1e-9;
  GuardState& gs = guard_state();
  const int violations_before = gs.violations.load();
  {
    Generator gen(seed_of(c.name));
    std::vector<Tensor> xc, xd;
    for (const Shape& s : c.shapes) {
      Tensor u = add(mul(rand(s, gen, c.dtype), scalar_tensor(c.hi - c.lo, c.dtype)), scalar_tensor(c.lo, c.dtype)).detach();
      xc.push_back(u.detach().requires_grad_(c.grad));
      xd.push_back(to_device(u, Device::cuda).detach().requires_grad_(c.grad));
    }
    Tensor yc = c.f(xc);
    Tensor yd = c.f(xd);
    ASSERT_TRUE(close(yd, yc, tol, c.name + " forward"));
    if (c.grad && is_floating(yc.dtype()) && yc.requires_grad()) {
      Generator wg(seed_of(c.name) + 1);
      Tensor w = rand(yc.shape(), wg, yc.dtype());
      sum(mul(yc, w)).backward();
      sum(mul(yd, to_device(w, Device::cuda))).backward();
      for (size_t i = 0; i < xc.size(); ++i)
        EXPECT_TRUE(close(xd[i].grad(), xc[i].grad(), tol * 10, c.name + " gradient of input " + std::to_string(i)));
    }
  }
  EXPECT_EQ(gs.violations.load(), violations_before) << c.name << ": guard bytes overwritten — " << gs.first_violation;
}

/// A fixture whose SetUp installs the device or skips with the reason.
class BackendOps : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!setup_device(&why)) GTEST_SKIP() << why;
  }
};

}  // namespace uad::backendtest
