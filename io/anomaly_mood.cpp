// The eight MOOD synthetic anomaly types (definitions in io/anomaly.h's file comment).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/anomaly_internal.h"
#include "io/augment.h"
#include "io/geometry.h"
#include "io/resample.h"

namespace uad::io::detail {

namespace {

/// Voxels of sphere(centre, r_mm) ∩ brain, as flat indices in raster order; marks them in c.m.
std::vector<int64_t> sphere_region(AnomalyCtx& c, const std::array<int64_t, 3>& C, double r_mm,
                                   std::array<int64_t, 3>& lo, std::array<int64_t, 3>& hi) {
  ball_bounds(c, C, r_mm, lo, hi);
  std::vector<int64_t> R;
  const double r2 = r_mm * r_mm;
  for (int64_t z = lo[0]; z <= hi[0]; ++z)
    for (int64_t y = lo[1]; y <= hi[1]; ++y)
      for (int64_t x = lo[2]; x <= hi[2]; ++x) {
        const double dz = (double)(z - C[0]) * c.sp[0], dy = (double)(y - C[1]) * c.sp[1],
                     dx = (double)(x - C[2]) * c.sp[2];
        const int64_t i = c.index(z, y, x);
        if (dz * dz + dy * dy + dx * dx <= r2 && c.b[i]) {
          R.push_back(i);
          c.m[i] = 1;
        }
      }
  return R;
}

inline float clamp01(float v) { return std::clamp(v, 0.f, 1.f); }

/// Sets out[i] = clamp(f(i)) for every i of R (in parallel).
template <class F> void rewrite(AnomalyCtx& c, const std::vector<int64_t>& R, F f) {
  const int64_t n = (int64_t)R.size();
#pragma omp parallel for schedule(static) if (n > 4096)
  for (int64_t k = 0; k < n; ++k) c.o[R[k]] = clamp01(f(k, R[k]));
}

void deformation(AnomalyCtx& c, const std::vector<int64_t>& R, const std::array<int64_t, 3>& C, double r, bool sink) {
  rewrite(c, R, [&](int64_t, int64_t i) {
    const auto I = c.coords(i);
    double d[3], dist2 = 0;
    for (int a = 0; a < 3; ++a) {
      d[a] = (double)(I[a] - C[a]);
      dist2 += d[a] * d[a] * c.sp[a] * c.sp[a];
    }
    const double s = dist2 / (r * r);
    double src[3];
    for (int a = 0; a < 3; ++a) src[a] = sink ? (double)I[a] + (1.0 - s) * d[a] : (double)C[a] + s * d[a];
    return sample_trilinear(c.in, c.nz, c.ny, c.nx, src[0], src[1], src[2]);
  });
}

void uniform_shift(AnomalyCtx& c, const std::vector<int64_t>& R, Generator& g, nlohmann::json& P) {
  const int64_t n[3] = {c.nz, c.ny, c.nx};
  std::array<int64_t, 3> k{};
  for (int a = 0; a < 3; ++a) {
    const int64_t lo = std::max<int64_t>(1, std::llround(0.02 * (double)n[a]));
    const int64_t hi = std::max<int64_t>(lo, std::llround(0.05 * (double)n[a]));
    const int64_t mag = uniform_int(g, lo, hi);
    k[a] = uniforms(g, 1)[0] < 0.5 ? -mag : mag;
  }
  P["shift_voxels_zyx"] = k;
  rewrite(c, R, [&](int64_t, int64_t i) {
    const auto I = c.coords(i);
    int64_t s[3];
    for (int a = 0; a < 3; ++a) s[a] = ((I[a] - k[a]) % n[a] + n[a]) % n[a];  // np.roll: out[p] = in[p − k]
    return c.in[c.index(s[0], s[1], s[2])];
  });
}

void local_blur(AnomalyCtx& c, const std::vector<int64_t>& R, const std::array<int64_t, 3>& lo,
                const std::array<int64_t, 3>& hi, nlohmann::json& P) {
  const double finest = std::min({c.sp[0], c.sp[1], c.sp[2]});
  std::array<double, 3> sigma{};
  Box box;
  const int64_t n[3] = {c.nz, c.ny, c.nx};
  for (int a = 0; a < 3; ++a) {
    sigma[a] = 2.0 * finest / c.sp[a];
    const int64_t rk = (int64_t)(4.0 * sigma[a] + 0.5);  // gaussian_smooth's kernel radius (truncate 4)
    box.lo[a] = std::max<int64_t>(0, lo[a] - rk);         // a crop wide enough that the blur of R
    box.hi[a] = std::min<int64_t>(n[a], hi[a] + rk + 1);  // equals the blur of the whole volume
  }
  P["sigma_voxels_zyx"] = sigma;
  const Tensor blurred = gaussian_smooth(crop_or_pad(c.img, box), sigma);
  const float* bl = blurred.data<float>();
  const int64_t by = box.hi[1] - box.lo[1], bx = box.hi[2] - box.lo[2];
  rewrite(c, R, [&](int64_t, int64_t i) {
    const auto I = c.coords(i);
    return bl[((I[0] - box.lo[0]) * by + (I[1] - box.lo[1])) * bx + (I[2] - box.lo[2])];
  });
}

void slice_shuffle(AnomalyCtx& c, const std::vector<int64_t>& R, Generator& g, nlohmann::json& P) {
  const int axis = (int)uniform_int(g, 0, 2);
  int64_t lo = INT64_MAX, hi = -1;
  for (int64_t i : R) {
    const int64_t v = c.coords(i)[axis];
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const int64_t L = hi - lo + 1;
  std::vector<int64_t> perm(L);
  std::iota(perm.begin(), perm.end(), 0);
  if (L > 1) {  // Sattolo's algorithm: a uniformly random cyclic permutation (no fixed point)
    const std::vector<double> u = uniforms(g, L - 1);
    for (int64_t i = L - 1; i >= 1; --i) {
      const int64_t j = std::min<int64_t>(i - 1, (int64_t)std::floor(u[L - 1 - i] * (double)i));
      std::swap(perm[i], perm[j]);
    }
  }
  P["axis"] = axis;
  P["slab"] = {lo, hi};
  P["permutation"] = perm;  // slice lo + p takes the input slice lo + perm[p]
  rewrite(c, R, [&](int64_t, int64_t i) {
    auto I = c.coords(i);
    I[axis] = lo + perm[I[axis] - lo];
    return c.in[c.index(I[0], I[1], I[2])];
  });
}

}  // namespace

void apply_mood(AnomalyCtx& c, AnomalyType t, Generator& g, nlohmann::json& P) {
  const bool small = t == AnomalyType::uniform_addition || t == AnomalyType::noise_addition ||
                     t == AnomalyType::slice_shuffle;
  const std::array<int64_t, 3> C = pick_central_brain_voxel(c, g);
  const double f = small ? uniform(g, 0.05, 0.10) : uniform(g, 0.08, 0.13);
  const double r = f * side_mm(c);
  std::array<int64_t, 3> lo{}, hi{};
  const std::vector<int64_t> R = sphere_region(c, C, r, lo, hi);
  P["center_zyx"] = C;
  P["radius_fraction"] = f;
  P["radius_mm"] = r;
  P["region_voxels"] = R.size();
  switch (t) {
    case AnomalyType::uniform_addition: {
      const double range = intensity_range(c);
      const double sign = uniforms(g, 1)[0] < 0.5 ? -1.0 : 1.0;
      const float a = (float)(sign * uniform(g, 0.2, 0.3) * range);
      P["intensity_range"] = range;
      P["addition"] = a;
      rewrite(c, R, [&](int64_t, int64_t i) { return c.in[i] + a; });
      break;
    }
    case AnomalyType::noise_addition: {
      const double range = intensity_range(c);
      const double sign = uniforms(g, 1)[0] < 0.5 ? -1.0 : 1.0;
      const std::vector<double> u = uniforms(g, (int64_t)R.size());
      P["intensity_range"] = range;
      P["sign"] = sign;
      P["noise_magnitude_range"] = {0.05 * range, 0.3 * range};
      rewrite(c, R, [&](int64_t k, int64_t i) { return c.in[i] + (float)(sign * (0.05 + 0.25 * u[k]) * range); });
      break;
    }
    case AnomalyType::sink_deformation: deformation(c, R, C, r, true); break;
    case AnomalyType::source_deformation: deformation(c, R, C, r, false); break;
    case AnomalyType::uniform_shift: uniform_shift(c, R, g, P); break;
    case AnomalyType::reflection:
      P["axis"] = 2;
      rewrite(c, R, [&](int64_t, int64_t i) {
        const auto I = c.coords(i);
        return c.in[c.index(I[0], I[1], c.nx - 1 - I[2])];
      });
      break;
    case AnomalyType::local_blur: local_blur(c, R, lo, hi, P); break;
    case AnomalyType::slice_shuffle: slice_shuffle(c, R, g, P); break;
    default: fail("make_anomaly: ", anomaly_name(t), " is not a MOOD type");
  }
}

}  // namespace uad::io::detail
