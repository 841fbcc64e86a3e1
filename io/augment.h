// Random healthy augmentation of brain volumes ([Z,Y,X], io/nifti.h's axis convention), plus the
// sampling and smooth-random-field helpers it shares with io/anomaly.h.
//
// augment_healthy applies, in this order (each transform drawn once per call):
//  1. Geometry — one backward map composed of an affine and an elastic part, applied in a single
//     resampling pass (trilinear for the image, nearest for the mask). With physical coordinates
//     q = S(p − c) in mm (p a voxel index (z,y,x), c = (n − 1)/2 the volume centre, S = diag(spacing)),
//     output voxel p reads the input at
//         q_src = (1/s)·Rᵀ(q − t) + d(p),     p_src = c + S⁻¹ q_src,
//     i.e. the input is rotated by R = R_z(θ_z)·R_y(θ_y)·R_x(θ_x) about the centre (θ_a about tensor
//     axis a, right-handed in (z,y,x) order), scaled by s (s > 1 enlarges the brain) and moved by
//     t (mm), then deformed by the smooth displacement d (mm, see smooth_random_field; each
//     component is alpha·f with max |f| = 1, so |d_a| ≤ elastic_alpha_mm).
//     Brain kept inside the field of view: when the input mask has no voxel on the volume border
//     but the warped mask has, the geometric draw is shrunk towards identity (angles, log s, t
//     and alpha multiplied by 0.5, 0.25, 0.125, 0.0625, then 0) until it has none;
//     params_json records the factor used ("geometry_factor").
//  2. Gamma: v ← v^γ (v clamped to [0,1] first), γ = exp(U(−r, r)).
//  3. Bias field: v ← v·(1 + b·f), f a smooth random field (σ = kBiasSigmaMm) with max |f| = 1.
//  4. Noise: v ← v + noise_std·N(0,1) on the warped-mask voxels only (the background keeps 0).
//  5. Clamp to [0,1].
// With every range 0 (rotation, scale, translation, alpha, gamma range, bias, noise) the output is
// bit-identical to the input (the map is the exact identity, p_src = p). All randomness comes from
// the Philox generator `g`, so the result is a function of (inputs, options, g's seed and offset).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad::io {

struct AugmentOptions {
  double max_rotation_deg = 10.0;    // per axis, uniform in ±
  double max_scale = 0.1;            // isotropic scale 1 + U(−max_scale, max_scale)
  double max_translation_mm = 5.0;   // per axis, uniform in ±
  double elastic_alpha_mm = 3.0;     // magnitude of the smooth random displacement
  double elastic_sigma_mm = 12.0;    // its smoothness (Gaussian σ)
  double gamma_log_range = 0.3;      // intensity gamma γ = exp(U(−r, r)), applied to [0,1] intensities
  double bias_field_strength = 0.15; // multiplicative smooth field within 1 ± strength
  double noise_std = 0.01;           // additive Gaussian noise (intensity units)
};

struct Augmented { Tensor image; Tensor mask; std::string params_json; };

/// Random healthy augmentation (one draw of every transform), deterministic for the generator state.
/// image [Z,Y,X] f32 in [0,1]; mask [Z,Y,X] u8; spacing_zyx in mm. Output same shape; mask warped with nearest.
///
/// Details in the file comment above. params_json (an object) records the generator's seed and
/// offset at entry and every drawn value: rotation_deg_zyx, scale, translation_mm_zyx,
/// elastic_alpha_mm/sigma_mm, geometry_factor, gamma, bias_field_strength/sigma_mm, noise_std.
/// Multithreaded (OpenMP); ~70 ms for 181×217×181 on 2 cores (bench/bench_augment.cpp).
/// Throws uad::Error (naming augment_healthy and the shapes) when image is not 3-D, the mask's
/// shape differs, a spacing is not > 0, or an option is negative / not finite, or
/// max_scale ≥ 1.
Augmented augment_healthy(const Tensor& image, const Tensor& mask, const std::array<double, 3>& spacing_zyx,
                          const AugmentOptions& opt, Generator& g);

/// σ (mm) of the smooth random bias field of augment_healthy (intensity non-uniformity varies
/// over ~5–10 cm in MR; this gives 2–3 bumps across a brain).
constexpr double kBiasSigmaMm = 50.0;

/// A smooth random field on a [Z,Y,X] grid with voxel size spacing_zyx (mm): white Gaussian noise
/// (Philox, generator g) on a control grid of spacing h = σ/2 mm per axis (at least one voxel;
/// control node k sits at voxel k·h), smoothed there with a Gaussian of σ mm (gaussian_smooth),
/// normalised so its largest |value| is 1, and trilinearly interpolated to every voxel
/// (resample_grid). A cheap stand-in for Gaussian-smoothed white noise at full resolution (the
/// control-grid construction of elastic deformations, e.g. Simard et al. 2003 / TorchIO
/// RandomElasticDeformation). Returns f32 shape_zyx, values in [−1, 1].
/// Throws when the shape is not 3-D positive, a spacing is not > 0 or sigma_mm is not > 0.
Tensor smooth_random_field(const Shape& shape_zyx, const std::array<double, 3>& spacing_zyx, double sigma_mm,
                           Generator& g);

/// Trilinear interpolation of a contiguous f32 volume [nz,ny,nx] at fractional voxel coordinates
/// (z,y,x); neighbours outside the volume count as 0 (PyTorch grid_sample with
/// padding_mode='zeros', align_corners=True). Written as a + w·(b − a) per axis, so at integer
/// coordinates inside the volume it returns the voxel's value exactly.
inline float sample_trilinear(const float* v, int64_t nz, int64_t ny, int64_t nx, double z, double y, double x) {
  const double fz0 = std::floor(z), fy0 = std::floor(y), fx0 = std::floor(x);
  if (fz0 < -1 || fy0 < -1 || fx0 < -1 || fz0 > (double)nz || fy0 > (double)ny || fx0 > (double)nx) return 0.f;
  const int64_t z0 = (int64_t)fz0, y0 = (int64_t)fy0, x0 = (int64_t)fx0;
  const float wz = (float)(z - fz0), wy = (float)(y - fy0), wx = (float)(x - fx0);
  auto at = [&](int64_t zz, int64_t yy, int64_t xx) -> float {
    return (zz < 0 || yy < 0 || xx < 0 || zz >= nz || yy >= ny || xx >= nx) ? 0.f : v[(zz * ny + yy) * nx + xx];
  };
  auto row = [&](int64_t zz, int64_t yy) {
    const float a = at(zz, yy, x0), b = at(zz, yy, x0 + 1);
    return a + wx * (b - a);
  };
  const float r00 = row(z0, y0), r01 = row(z0, y0 + 1), r10 = row(z0 + 1, y0), r11 = row(z0 + 1, y0 + 1);
  const float p0 = r00 + wy * (r01 - r00), p1 = r10 + wy * (r11 - r10);
  return p0 + wz * (p1 - p0);
}

/// Nearest-neighbour lookup of a contiguous u8 volume [nz,ny,nx] at voxel floor(c + 0.5) per axis
/// (resample.h's nearest rule); 0 outside the volume.
inline uint8_t sample_nearest(const uint8_t* v, int64_t nz, int64_t ny, int64_t nx, double z, double y, double x) {
  const double rz = std::floor(z + 0.5), ry = std::floor(y + 0.5), rx = std::floor(x + 0.5);
  if (rz < 0 || ry < 0 || rx < 0 || rz >= (double)nz || ry >= (double)ny || rx >= (double)nx) return 0;
  return v[((int64_t)rz * ny + (int64_t)ry) * nx + (int64_t)rx];
}

}  // namespace uad::io
