// A vectorisable exp for the softmax family, shared by CPU and CUDA (one definition).
//
// f32: Cephes' expf (range reduction x = n·ln2 + r with a split ln2, degree-6 minimax
// polynomial on [−ln2/2, ln2/2], scaling by 2ⁿ through the exponent bits) — max error ≈ 1 ulp,
// and unlike libm's expf it has no errno/branches, so `#pragma omp simd` loops vectorise it.
// Inputs below −87.3 return exactly 0 (so exp(−inf) = 0, as softmax of a masked entry needs).
// f64: std::exp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/common/host_device.h"

namespace uad::fn {

UAD_HD inline float fast_exp(float x) {
  const float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  const float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;  // ln2 split in two for an exact n·ln2_hi
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < -87.3f ? 0.0f : e * scale;
}

UAD_HD inline double fast_exp(double x) { return std::exp(x); }

}  // namespace uad::fn
