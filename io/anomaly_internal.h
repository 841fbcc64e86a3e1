// Internal helpers shared by io/augment.cpp and io/anomaly*.cpp (not part of the public API).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/anomaly.h"
#include "tensor/error.h"
#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad::io::detail {

/// A contiguous f32 [Z,Y,X] copy-or-view of t; throws (naming op) when t is not 3-D.
inline Tensor volume_f32(const Tensor& t, const char* op, const char* what) {
  check(t.defined() && t.dim() == 3, op, ": ", what, " must be a [Z,Y,X] tensor, got ",
        t.defined() ? t.shape() : Shape{});
  return t.detach().to(DType::f32).contiguous();
}

/// A contiguous u8 0/1 mask (nonzero = 1) of `ref`'s shape; throws (naming op) on a shape mismatch.
inline Tensor mask_u8(const Tensor& m, const Shape& ref, const char* op, const char* what) {
  check(m.defined() && m.shape() == ref, op, ": ", what, " shape ", m.defined() ? m.shape() : Shape{},
        " differs from the image shape ", ref);
  Tensor out = empty(ref, DType::u8);
  uint8_t* d = out.data<uint8_t>();
  const int64_t n = out.numel();
  if (m.dtype() == DType::u8 && m.is_contiguous()) {
    const uint8_t* s = m.data<uint8_t>();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) d[i] = s[i] != 0 ? 1 : 0;
    return out;
  }
  Tensor f = m.detach().to(DType::f32).contiguous();
  const float* s = f.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = s[i] != 0.f ? 1 : 0;
  return out;
}

inline void check_spacing(const std::array<double, 3>& sp, const char* op) {
  for (double s : sp)
    check(std::isfinite(s) && s > 0, op, ": spacing_zyx must be finite and > 0 mm, got (", sp[0], ",", sp[1], ",",
          sp[2], ")");
}

/// `n` uniform [0,1) values from g (one Philox draw, tensor/generator.h's stream).
inline std::vector<double> uniforms(Generator& g, int64_t n) { return rand({n}, g, DType::f64).to_vector(); }
/// One uniform value in [lo, hi).
inline double uniform(Generator& g, double lo, double hi) { return lo + (hi - lo) * uniforms(g, 1)[0]; }
/// An integer uniform in [lo, hi] (inclusive).
inline int64_t uniform_int(Generator& g, int64_t lo, int64_t hi) {
  const int64_t k = lo + (int64_t)std::floor(uniforms(g, 1)[0] * (double)(hi - lo + 1));
  return k > hi ? hi : k;
}

// ---- shared by io/anomaly.cpp, io/anomaly_mood.cpp, io/anomaly_lesion.cpp ----

/// The state of one make_anomaly call: the input (f32 image, u8 brain), the output image (a copy
/// of the input, rewritten in place) and the output mask (zeros, set by the type).
struct AnomalyCtx {
  Tensor img, brain, out, mask;
  int64_t nz = 0, ny = 0, nx = 0;
  std::array<double, 3> sp{};
  const float* in = nullptr;
  const uint8_t* b = nullptr;
  float* o = nullptr;
  uint8_t* m = nullptr;
  int64_t index(int64_t z, int64_t y, int64_t x) const { return (z * ny + y) * nx + x; }
  std::array<int64_t, 3> coords(int64_t i) const { return {i / (ny * nx), (i / nx) % ny, i % nx}; }
};

/// A random brain voxel of the central half of the volume (see io/anomaly.h); throws when the brain is empty.
std::array<int64_t, 3> pick_central_brain_voxel(const AnomalyCtx& c, Generator& g);
/// Mean physical extent of the volume (mm): the "side" of the MOOD radii.
double side_mm(const AnomalyCtx& c);
/// max − min of the input image.
double intensity_range(const AnomalyCtx& c);
/// Voxel index bounds [lo, hi] (inclusive, clamped to the volume) of a ball of radius r_mm at centre.
void ball_bounds(const AnomalyCtx& c, const std::array<int64_t, 3>& centre, double r_mm, std::array<int64_t, 3>& lo,
                 std::array<int64_t, 3>& hi);

/// The eight MOOD types (io/anomaly_mood.cpp).
void apply_mood(AnomalyCtx& c, AnomalyType t, Generator& g, nlohmann::json& P);
/// ms_lesions (io/anomaly_lesion.cpp); wm: u8 mask already intersected with the brain.
void apply_ms_lesions(AnomalyCtx& c, const Tensor& wm, Generator& g, nlohmann::json& P);
/// tumour_mass (io/anomaly_lesion.cpp).
void apply_tumour_mass(AnomalyCtx& c, Generator& g, nlohmann::json& P);

}  // namespace uad::io::detail
