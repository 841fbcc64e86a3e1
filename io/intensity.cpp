// Intensity normalisation and brain masks (see io/intensity.h).
#include "io/intensity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace uad::io {

namespace {

Tensor as_f32(const Tensor& t, const char* op) {
  check(t.defined(), op, ": undefined tensor");
  return t.detach().to(DType::f32).contiguous();
}

// out[v] = f(in[v]) over a float32 copy of `vol`.
template <class F> Tensor map_values(const Tensor& vol, const char* op, F f) {
  Tensor x = as_f32(vol, op);
  Tensor out = empty(x.shape(), DType::f32);
  const float* s = x.data<float>();
  float* d = out.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t v = 0; v < n; ++v) d[v] = f(s[v]);
  return out;
}

}  // namespace

double percentile(const Tensor& vol, const Tensor& mask, double q) {
  check(std::isfinite(q) && q >= 0 && q <= 100, "percentile: q must be in [0,100], got ", q);
  Tensor x = as_f32(vol, "percentile");
  std::vector<float> vals;
  if (mask.defined()) {
    check(mask.shape() == x.shape(), "percentile: mask shape ", mask.shape(), " differs from the volume's ", x.shape());
    Tensor m = mask.detach().to(DType::f32).contiguous();
    const float* mp = m.data<float>();
    const float* xp = x.data<float>();
    vals.reserve((size_t)x.numel() / 2);
    for (int64_t v = 0; v < x.numel(); ++v)
      if (mp[v] != 0.f) vals.push_back(xp[v]);
  } else {
    vals.assign(x.data<float>(), x.data<float>() + x.numel());
  }
  check(!vals.empty(), "percentile: the mask selects no voxel (volume ", x.shape(), ")");
  const double h = (double)(vals.size() - 1) * q / 100.0;
  const size_t lo = (size_t)std::floor(h);
  std::nth_element(vals.begin(), vals.begin() + (ptrdiff_t)lo, vals.end());
  const double vlo = vals[lo];
  if (lo + 1 >= vals.size() || h == (double)lo) return vlo;
  const double vhi = *std::min_element(vals.begin() + (ptrdiff_t)lo + 1, vals.end());
  return vlo + (h - (double)lo) * (vhi - vlo);
}

Tensor normalize_percentile(const Tensor& vol, const Tensor& mask, double q) {
  const double p = percentile(vol, mask, q);
  check(p > 0, "normalize_percentile: the ", q, "th percentile of the brain voxels is ", p, " (must be > 0)");
  const float inv = (float)(1.0 / p);
  return map_values(vol, "normalize_percentile", [inv](float v) { return std::clamp(v * inv, 0.f, 1.f); });
}

Tensor normalize_minmax(const Tensor& vol, double lo, double hi) {
  Tensor x = as_f32(vol, "normalize_minmax");
  check(x.numel() > 0, "normalize_minmax: empty volume");
  const float* p = x.data<float>();
  float mn = p[0], mx = p[0];
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) reduction(min : mn) reduction(max : mx) if (n > 65536)
  for (int64_t v = 0; v < n; ++v) {
    mn = std::min(mn, p[v]);
    mx = std::max(mx, p[v]);
  }
  check(mx > mn, "normalize_minmax: constant volume ", x.shape(), " (min = max = ", mn, ")");
  const double range = (double)mx - (double)mn, span = hi - lo;
  return map_values(x, "normalize_minmax", [=](float v) { return (float)(lo + ((double)v - mn) * span / range); });
}

Tensor ct_window(const Tensor& vol, double wmin, double wmax, double lo, double hi) {
  check(wmax > wmin, "ct_window: empty window [", wmin, ", ", wmax, "]");
  const double range = wmax - wmin, span = hi - lo;
  return map_values(vol, "ct_window",
                    [=](float v) { return (float)(lo + (std::clamp((double)v, wmin, wmax) - wmin) * span / range); });
}

Tensor mask_from_image(const Tensor& vol, double threshold) {
  Tensor x = as_f32(vol, "mask_from_image");
  Tensor out = empty(x.shape(), DType::u8);
  const float* s = x.data<float>();
  uint8_t* d = out.data<uint8_t>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t v = 0; v < n; ++v) d[v] = (double)s[v] > threshold ? 1 : 0;
  return out;
}

Tensor read_mask(const std::string& path, const NiftiHeader& ref) {
  NiftiVolume m = read_nifti(path);
  check(m.header.dim == ref.dim, "read_mask: ", path, ": mask grid ", m.header.shape_zyx(), " differs from the image's ",
        ref.shape_zyx());
  double worst = 0;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) worst = std::max(worst, std::fabs(m.header.affine[r][c] - ref.affine[r][c]));
  check(worst <= 1e-3, "read_mask: ", path, ": mask affine differs from the image's by ", worst,
        " mm (not on the same grid; orientation ", m.header.orientation, " vs ", ref.orientation, ")");
  return mask_from_image(m.data, 0.0);
}

}  // namespace uad::io
