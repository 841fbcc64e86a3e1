// Lesion-like synthetic anomalies: MS-like white-matter lesions and a tumour-like mass with mass
// effect, plus the intensity-based white-matter estimate (definitions in io/anomaly.h).
#include <algorithm>
#include <cmath>

#include "io/anomaly_internal.h"
#include "io/augment.h"
#include "io/geometry.h"
#include "io/morphology.h"

namespace uad::io {

Tensor estimate_white_matter(const Tensor& image, const Tensor& brain_mask) {
  const char* op = "estimate_white_matter";
  Tensor img = detail::volume_f32(image, op, "image");
  Tensor brain = detail::mask_u8(brain_mask, img.shape(), op, "brain_mask");
  const float* v = img.data<float>();
  const uint8_t* b = brain.data<uint8_t>();
  const int64_t n = img.numel();
  float lo = INFINITY, hi = -INFINITY;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
    if (b[i]) {
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
      ++count;
    }
  check(count > 0, op, ": the brain mask is empty (shape ", img.shape(), ")");
  Tensor wm = zeros(img.shape(), DType::u8);
  if (!(hi > lo)) return wm;  // constant brain: no contrast, no white matter
  constexpr int kBins = 256;
  std::vector<double> hist(kBins, 0.0);
  const double scale = kBins / ((double)hi - (double)lo);
  auto bin_of = [&](float x) { return std::min(kBins - 1, (int)(((double)x - lo) * scale)); };
  for (int64_t i = 0; i < n; ++i)
    if (b[i]) hist[bin_of(v[i])] += 1;
  auto centre_of = [&](int k) { return lo + (k + 0.5) / scale; };
  // Initial centres: the 10th, 50th and 90th percentiles of the histogram.
  double cen[3];
  {
    const double q[3] = {0.1, 0.5, 0.9};
    double acc = 0;
    int j = 0;
    for (int k = 0; k < kBins && j < 3; ++k) {
      acc += hist[k];
      while (j < 3 && acc >= q[j] * (double)count) cen[j++] = centre_of(k);
    }
    while (j < 3) cen[j++] = hi;
  }
  for (int it = 0; it < 200; ++it) {  // Lloyd's iterations on the weighted bin centres
    double s[3] = {0, 0, 0}, w[3] = {0, 0, 0};
    for (int k = 0; k < kBins; ++k) {
      const double x = centre_of(k);
      int best = 0;
      for (int j = 1; j < 3; ++j)
        if (std::fabs(x - cen[j]) < std::fabs(x - cen[best])) best = j;
      s[best] += hist[k] * x;
      w[best] += hist[k];
    }
    double moved = 0;
    for (int j = 0; j < 3; ++j)
      if (w[j] > 0) {
        const double nc = s[j] / w[j];
        moved = std::max(moved, std::fabs(nc - cen[j]));
        cen[j] = nc;
      }
    if (moved < 1e-9) break;
  }
  std::sort(cen, cen + 3);
  const float thr = (float)(0.5 * (cen[1] + cen[2]));
  uint8_t* w = wm.data<uint8_t>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) w[i] = (b[i] && v[i] > thr) ? 1 : 0;
  Tensor eroded = binary_erosion(wm, StructuringElement::connectivity(6), 1);
  const uint8_t* e = eroded.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    if (e[i]) return eroded;
  return wm;
}

namespace detail {

namespace {

// ½(1 + cos(π t)) for t in [0,1]: 1 → 0.
inline double half_cos(double t) { return 0.5 * (1.0 + std::cos(M_PI * std::clamp(t, 0.0, 1.0))); }
inline double smoothstep(double e0, double e1, double x) {
  const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

using Mat3 = std::array<std::array<double, 3>, 3>;

// Root mean square of a tensor's values (1 when all are 0).
double rms(const Tensor& t) {
  const float* p = t.data<float>();
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += (double)p[i] * p[i];
  return s > 0 ? std::sqrt(s / (double)t.numel()) : 1.0;
}

// Rotation matrix of the unit quaternion (w, x, y, z).
Mat3 quat_to_mat(const std::array<double, 4>& q) {
  const double w = q[0], x = q[1], y = q[2], z = q[3];
  return {{{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
           {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
           {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}}};
}

}  // namespace

void apply_ms_lesions(AnomalyCtx& c, const Tensor& wm_mask, Generator& g, nlohmann::json& P) {
  const uint8_t* wm = wm_mask.data<uint8_t>();
  const int64_t n = c.img.numel();
  double sum = 0;
  int64_t n_wm = 0;
  for (int64_t i = 0; i < n; ++i)
    if (wm[i]) {
      sum += c.in[i];
      ++n_wm;
    }
  check(n_wm > 0, "make_anomaly: ms_lesions needs white matter, but the white-matter mask is empty (shape ",
        c.img.shape(), ")");
  // Centres: deep white matter (eroded twice, 6-neighbourhood) when there is any, so that lesions are
  // not cut to slivers by thin gyral white matter; else any white-matter voxel.
  const Tensor deep = binary_erosion(wm_mask, StructuringElement::connectivity(6), 2);
  std::vector<int64_t> wm_idx;
  for (int64_t i = 0; i < n; ++i)
    if (deep.data<uint8_t>()[i]) wm_idx.push_back(i);
  P["centre_pool"] = wm_idx.empty() ? "white_matter" : "deep_white_matter";
  if (wm_idx.empty())
    for (int64_t i = 0; i < n; ++i)
      if (wm[i]) wm_idx.push_back(i);
  const double mean_wm = sum / (double)n_wm, range = intensity_range(c);
  const int64_t count = uniform_int(g, 3, 10);
  P["white_matter_mean"] = mean_wm;
  P["intensity_range"] = range;
  P["count"] = count;
  nlohmann::json lesions = nlohmann::json::array();
  constexpr double kCore = 0.6;  // w = 1 up to this ellipsoidal radius
  for (int64_t l = 0; l < count; ++l) {
    const std::vector<double> u = uniforms(g, 8);
    const int64_t ci = wm_idx[std::min<int64_t>((int64_t)wm_idx.size() - 1, (int64_t)(u[0] * (double)wm_idx.size()))];
    const std::array<int64_t, 3> C = c.coords(ci);
    const std::array<double, 3> axes{2 + 6 * u[1], 2 + 6 * u[2], 2 + 6 * u[3]};
    // Shoemake (1992): a uniformly random unit quaternion from three uniforms.
    const double s1 = std::sqrt(1 - u[4]), s2 = std::sqrt(u[4]);
    const std::array<double, 4> q{s2 * std::cos(2 * M_PI * u[6]), s1 * std::sin(2 * M_PI * u[5]),
                                  s1 * std::cos(2 * M_PI * u[5]), s2 * std::sin(2 * M_PI * u[6])};
    const Mat3 Q = quat_to_mat(q);
    const float t = (float)std::min(1.0, mean_wm + (0.15 + 0.15 * u[7]) * range);
    std::array<int64_t, 3> lo{}, hi{};
    ball_bounds(c, C, *std::max_element(axes.begin(), axes.end()), lo, hi);
    int64_t voxels = 0;
#pragma omp parallel for collapse(2) schedule(static) reduction(+ : voxels)
    for (int64_t z = lo[0]; z <= hi[0]; ++z)
      for (int64_t y = lo[1]; y <= hi[1]; ++y)
        for (int64_t x = lo[2]; x <= hi[2]; ++x) {
          const int64_t i = c.index(z, y, x);
          if (!wm[i]) continue;
          const double d[3] = {(double)(z - C[0]) * c.sp[0], (double)(y - C[1]) * c.sp[1],
                               (double)(x - C[2]) * c.sp[2]};
          double rho2 = 0;
          for (int k = 0; k < 3; ++k) {  // body coordinates Qᵀ d
            const double e = (Q[0][k] * d[0] + Q[1][k] * d[1] + Q[2][k] * d[2]) / axes[k];
            rho2 += e * e;
          }
          if (rho2 >= 1.0) continue;
          const double rho = std::sqrt(rho2);
          const float w = (float)(rho <= kCore ? 1.0 : half_cos((rho - kCore) / (1.0 - kCore)));
          c.o[i] = std::clamp(c.o[i] + w * (t - c.o[i]), 0.f, 1.f);
          c.m[i] = 1;
          ++voxels;
        }
    lesions.push_back({{"center_zyx", C}, {"semi_axes_mm", axes}, {"quaternion_wxyz", q}, {"intensity", t},
                       {"voxels", voxels}});
  }
  P["lesions"] = lesions;
}

void apply_tumour_mass(AnomalyCtx& c, Generator& g, nlohmann::json& P) {
  constexpr double kOutline = 0.15, kOutlineClip = 0.3;  // irregular outline: 1 + clamp(0.15·f₁/rms, ±0.3)
  constexpr double kTextureClip = 2.5;                    // texture: 1 + h·clamp(f₂/rms, ±2.5)
  constexpr double kInner = 0.15, kInnerClip = 0.3;      // core/rim boundaries: ρ·(1 + clamp(0.15·f₃/rms, ±0.3))
  const std::array<int64_t, 3> C = pick_central_brain_voxel(c, g);
  const Box bb = bounding_box(c.brain);
  double min_extent = INFINITY;
  for (int a = 0; a < 3; ++a) min_extent = std::min(min_extent, (double)(bb.hi[a] - bb.lo[a]) * c.sp[a]);
  const std::vector<double> u = uniforms(g, 8);
  const double R_drawn = 15 + 15 * u[0];
  const double R = std::min(R_drawn, 0.25 * min_extent);
  const double k = 0.3 + 0.3 * u[1];
  const double rho_n = 0.25 + 0.2 * u[2], rho_r = rho_n + 0.12 + 0.13 * u[3];
  const double I_n = 0.05 + 0.15 * u[4], I_r = 0.85 + 0.15 * u[5], I_s = 0.45 + 0.2 * u[6], h = 0.1 + 0.05 * u[7];
  P["center_zyx"] = C;
  P["radius_mm_drawn"] = R_drawn;
  P["radius_mm"] = R;
  P["displaced_fraction"] = k;
  P["necrosis_rho"] = rho_n;
  P["rim_outer_rho"] = rho_r;
  P["intensity_necrosis"] = I_n;
  P["intensity_rim"] = I_r;
  P["intensity_solid"] = I_s;
  P["texture_amplitude"] = h;
  P["outline_amplitude"] = kOutline;
  P["outline_clip"] = kOutlineClip;
  P["texture_clip"] = kTextureClip;
  P["mass_effect_taper_mm"] = {2 * R, 4 * R};

  // 1. Mass effect: radial backward map on the brain voxels within 4R.
  std::array<int64_t, 3> lo{}, hi{};
  ball_bounds(c, C, 4 * R, lo, hi);
  const double kR3 = k * R * R * R;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t z = lo[0]; z <= hi[0]; ++z)
    for (int64_t y = lo[1]; y <= hi[1]; ++y)
      for (int64_t x = lo[2]; x <= hi[2]; ++x) {
        const int64_t i = c.index(z, y, x);
        if (!c.b[i]) continue;
        const double d[3] = {(double)(z - C[0]), (double)(y - C[1]), (double)(x - C[2])};
        const double r = std::sqrt(d[0] * d[0] * c.sp[0] * c.sp[0] + d[1] * d[1] * c.sp[1] * c.sp[1] +
                                   d[2] * d[2] * c.sp[2] * c.sp[2]);
        if (r >= 4 * R) continue;
        const double tau = r <= 2 * R ? 1.0 : half_cos((r - 2 * R) / (2 * R));
        const double r_src = r - (r - std::cbrt(std::max(r * r * r - kR3, 0.0))) * tau;
        const double f = r > 0 ? r_src / r : 0.0;
        c.o[i] = std::clamp(sample_trilinear(c.in, c.nz, c.ny, c.nx, C[0] + f * d[0], C[1] + f * d[1], C[2] + f * d[2]),
                            0.f, 1.f);
      }

  // 2. The mass over the displaced tissue, on a box of ±1.35R (the outline reaches 1.3R).
  ball_bounds(c, C, 1.35 * R, lo, hi);
  const Shape box{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
  const Tensor f1 = smooth_random_field(box, c.sp, R / 2.5, g);
  const Tensor f2 = smooth_random_field(box, c.sp, 2.0, g);
  const Tensor f3 = smooth_random_field(box, c.sp, R / 5, g);
  const float* F1 = f1.data<float>();
  const float* F2 = f2.data<float>();
  const float* F3 = f3.data<float>();
  const double rms1 = rms(f1), rms2 = rms(f2), rms3 = rms(f3);
  int64_t voxels = 0;
#pragma omp parallel for collapse(2) schedule(static) reduction(+ : voxels)
  for (int64_t z = lo[0]; z <= hi[0]; ++z)
    for (int64_t y = lo[1]; y <= hi[1]; ++y)
      for (int64_t x = lo[2]; x <= hi[2]; ++x) {
        const int64_t i = c.index(z, y, x);
        if (!c.b[i]) continue;
        const int64_t j = ((z - lo[0]) * box[1] + (y - lo[1])) * box[2] + (x - lo[2]);
        const double dz = (double)(z - C[0]) * c.sp[0], dy = (double)(y - C[1]) * c.sp[1],
                     dx = (double)(x - C[2]) * c.sp[2];
        const double outline = 1.0 + std::clamp(kOutline * F1[j] / rms1, -kOutlineClip, kOutlineClip);
        const double rho = std::sqrt(dz * dz + dy * dy + dx * dx) / (R * outline);
        if (rho >= 1.0) continue;
        const double rho_in = rho * (1.0 + std::clamp(kInner * F3[j] / rms3, -kInnerClip, kInnerClip));
        const double s1 = smoothstep(rho_n - 0.025, rho_n + 0.025, rho_in),
                     s2 = smoothstep(rho_r - 0.025, rho_r + 0.025, rho_in);
        const double texture = 1.0 + h * std::clamp(F2[j] / rms2, -kTextureClip, kTextureClip);
        const double T = (I_n * (1 - s1) + I_r * s1 * (1 - s2) + I_s * s2) * texture;
        const double w = rho <= 0.9 ? 1.0 : half_cos((rho - 0.9) / 0.1);
        c.o[i] = std::clamp((float)(w * T + (1 - w) * c.o[i]), 0.f, 1.f);
        c.m[i] = 1;
        ++voxels;
      }
  P["mass_voxels"] = voxels;
}

}  // namespace detail
}  // namespace uad::io
