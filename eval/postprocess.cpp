// Post-processing of anomaly maps (see postprocess.h): Tensor checks and conversions around the
// raw kernels of kernels/cpu/postprocess.h and the morphology of io/morphology.h.
#include "eval/postprocess.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "io/morphology.h"
#include "kernels/cpu/postprocess.h"

namespace uad::eval {

namespace {

void check_volume(const Tensor& t, const char* op, const char* what) {
  check(t.defined(), op, ": ", what, " is undefined");
  check(t.dim() == 3, op, ": ", what, " must be a [Z,Y,X] volume, got ", t.shape());
}

void check_same(const Tensor& a, const Tensor& b, const char* op, const char* an, const char* bn) {
  check(a.shape() == b.shape(), op, ": ", an, " ", a.shape(), " and ", bn, " ", b.shape(), " differ in shape");
}

/// Contiguous f32 copy (or the tensor itself when it already is one), without autograd history.
Tensor f32c(const Tensor& t, const char* op) {
  check(is_floating(t.dtype()), op, ": expected a float tensor, got ", dtype_name(t.dtype()), " ", t.shape());
  return t.detach().to(DType::f32).contiguous();
}

template <class T> void nonzero_into(const Tensor& c, uint8_t* o) {
  const T* p = c.data<T>();
  const int64_t n = c.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) o[i] = p[i] != T(0);
}

/// u8 0/1 contiguous: t != 0 (any dtype; NaN counts as nonzero, as numpy's `!= 0`).
Tensor mask_u8(const Tensor& t) {
  Tensor c = t.detach().contiguous();
  Tensor o = empty(c.shape(), DType::u8);
  uint8_t* d = o.data<uint8_t>();
  switch (c.dtype()) {
    case DType::f32: nonzero_into<float>(c, d); break;
    case DType::f64: nonzero_into<double>(c, d); break;
    case DType::i32: nonzero_into<int32_t>(c, d); break;
    case DType::u8: nonzero_into<uint8_t>(c, d); break;
  }
  return o;
}

/// The mask's bytes as the kernels read them (nonzero = true): the tensor itself when it is a
/// contiguous u8 one, else mask_u8.
Tensor mask_bytes(const Tensor& t) {
  if (t.dtype() == DType::u8 && t.is_contiguous()) return t.detach();
  return mask_u8(t);
}

/// The residual max(x − r, 0) (−0 → +0, NaN kept) or |x − r|.
inline float residual_of(float x, float r, bool positive_only) {
  const float d = x - r;
  if (!positive_only) return std::fabs(d);
  return d > 0.f ? d : (d != d ? d : 0.f);
}

}  // namespace

Tensor residual(const Tensor& x, const Tensor& recon, bool positive_only) {
  check(x.defined() && recon.defined(), "residual: undefined input");
  check_same(x, recon, "residual", "x", "recon");
  Tensor xf = f32c(x, "residual"), rf = f32c(recon, "residual");
  Tensor out = empty(xf.shape(), DType::f32);
  const float* a = xf.data<float>();
  const float* b = rf.data<float>();
  float* o = out.data<float>();
  const int64_t n = xf.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) o[i] = residual_of(a[i], b[i], positive_only);
  return out;
}

Tensor eroded_brain_mask(const Tensor& brain, int iterations) {
  check_volume(brain, "eroded_brain_mask", "brain");
  check(iterations >= 0, "eroded_brain_mask: iterations must be >= 0, got ", iterations);
  Tensor m = mask_u8(brain);
  if (iterations == 0 || m.numel() == 0) return m;
  // Eroding n times by the cross (border 0) = eroding once by its n-fold Minkowski sum, the L1
  // diamond of radius n: a pixel survives iff its city-block distance to the nearest background
  // pixel, pixels outside the slice included, exceeds n. That distance comes from the exact
  // two-pass 4-neighbour distance transform (Rosenfeld & Pfaltz 1966), outside = 0: O(1) per
  // pixel whatever n, instead of n erosion passes (io::binary_erosion with the [1,3,3] cross
  // gives the same result, tests/test_postprocess.cpp checks both against scipy).
  const int64_t nz = m.size(0), ny = m.size(1), nx = m.size(2);
  uint8_t* p = m.data<uint8_t>();
#pragma omp parallel
  {
    std::vector<int32_t> d((size_t)(ny * nx));
#pragma omp for schedule(static)
    for (int64_t z = 0; z < nz; ++z) {
      uint8_t* s = p + z * ny * nx;
      for (int64_t y = 0; y < ny; ++y) {
        int32_t* row = d.data() + y * nx;
        const int32_t* up = y > 0 ? row - nx : nullptr;
        const uint8_t* f = s + y * nx;
        int32_t left = 0;
        for (int64_t x = 0; x < nx; ++x) left = row[x] = f[x] ? std::min(up ? up[x] : 0, left) + 1 : 0;
      }
      for (int64_t y = ny; y-- > 0;) {
        int32_t* row = d.data() + y * nx;
        const int32_t* down = y + 1 < ny ? row + nx : nullptr;
        uint8_t* o = s + y * nx;
        int32_t right = 0;
        for (int64_t x = nx; x-- > 0;) {
          right = row[x] = std::min({row[x], (down ? down[x] : 0) + 1, right + 1});
          o[x] = right > iterations;
        }
      }
    }
  }
  return m;
}

Tensor median_filter3d(const Tensor& v, int size) {
  check_volume(v, "median_filter3d", "input");
  check(size >= 1 && size % 2 == 1, "median_filter3d: size must be odd and >= 1, got ", size, " for ", v.shape());
  Tensor f = f32c(v, "median_filter3d");
  Tensor out = empty(f.shape(), DType::f32);
  const int64_t nan = cpu::median_filter3d(f.data<float>(), out.data<float>(), f.size(0), f.size(1), f.size(2), size);
  check(nan == 0, "median_filter3d: ", nan, " NaN voxels in ", f.shape());
  return out;
}

Tensor anomaly_map(const Tensor& x, const Tensor& recon, const Tensor& brain, const PostprocessOptions& o) {
  check_volume(x, "anomaly_map", "x");
  check_volume(recon, "anomaly_map", "recon");
  check_same(x, recon, "anomaly_map", "x", "recon");
  check(o.median_size >= 1 && o.median_size % 2 == 1, "anomaly_map: median_size must be odd and >= 1, got ",
        o.median_size);
  Tensor mask;
  if (o.use_brain_mask) {
    check_volume(brain, "anomaly_map", "brain");
    check_same(x, brain, "anomaly_map", "x", "brain");
    mask = eroded_brain_mask(brain, o.erode_iterations);
  }
  Tensor xf = f32c(x, "anomaly_map"), rf = f32c(recon, "anomaly_map");
  Tensor r = empty(xf.shape(), DType::f32);
  const float* a = xf.data<float>();
  const float* b = rf.data<float>();
  const uint8_t* m = mask.defined() ? mask.data<uint8_t>() : nullptr;
  float* d = r.data<float>();
  const int64_t n = xf.numel();
  int64_t nan = 0;
#pragma omp parallel for schedule(static) reduction(+ : nan) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float v = residual_of(a[i], b[i], o.positive_only);
    nan += v != v;
    d[i] = m && !m[i] ? 0.f : v;
  }
  check(nan == 0, "anomaly_map: ", nan, " NaN voxels in x − recon ", xf.shape());
  if (o.median_size == 1) return r;
  Tensor out = empty(r.shape(), DType::f32);
  cpu::median_filter3d(d, out.data<float>(), r.size(0), r.size(1), r.size(2), o.median_size);
  return out;
}

Components label_components(const Tensor& mask, int connectivity) {
  check_volume(mask, "label_components", "mask");
  Tensor m = mask_bytes(mask);
  cpu::RunLabels rl = cpu::label_runs(m.data<uint8_t>(), m.size(0), m.size(1), m.size(2), connectivity);
  Components c;
  c.labels = empty(m.shape(), DType::i32);
  cpu::write_labels(rl, c.labels.data<int32_t>());
  c.count = rl.count;
  c.sizes = std::move(rl.sizes);
  return c;
}

Tensor remove_small_components(const Tensor& mask, int64_t min_voxels, int connectivity) {
  check_volume(mask, "remove_small_components", "mask");
  Tensor m = mask_bytes(mask);
  cpu::RunLabels rl = cpu::label_runs(m.data<uint8_t>(), m.size(0), m.size(1), m.size(2), connectivity);
  Tensor out = empty(m.shape(), DType::u8);
  cpu::write_kept(rl, min_voxels, out.data<uint8_t>());
  return out;
}

Tensor binary_closing3d(const Tensor& mask, int iterations) {
  check_volume(mask, "binary_closing3d", "mask");
  check(iterations >= 0, "binary_closing3d: iterations must be >= 0, got ", iterations);
  Tensor m = mask_u8(mask);
  if (iterations == 0 || m.numel() == 0) return m;
  const io::StructuringElement se = io::StructuringElement::connectivity(26);
  return io::binary_erosion(io::binary_dilation(m, se, iterations), se, iterations);
}

Tensor segment(const Tensor& map, double threshold, const PostprocessOptions& o) {
  check_volume(map, "segment", "map");
  check(o.closing_iterations >= 0, "segment: closing_iterations must be >= 0, got ", o.closing_iterations);
  Tensor f = f32c(map, "segment");
  Tensor s = empty(f.shape(), DType::u8);
  const float* p = f.data<float>();
  uint8_t* d = s.data<uint8_t>();
  const int64_t n = f.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = (double)p[i] > threshold;
  if (o.closing_iterations > 0) s = binary_closing3d(s, o.closing_iterations);
  if (o.min_component_voxels > 1) s = remove_small_components(s, o.min_component_voxels, 26);
  return s;
}

std::vector<Lesion> lesions(const Tensor& segmentation, const Tensor& map, const std::array<double, 3>& spacing_zyx) {
  check_volume(segmentation, "lesions", "segmentation");
  check_volume(map, "lesions", "map");
  check_same(segmentation, map, "lesions", "segmentation", "map");
  Tensor m = mask_bytes(segmentation);
  Tensor f = f32c(map, "lesions");
  const cpu::RunLabels rl = cpu::label_runs(m.data<uint8_t>(), m.size(0), m.size(1), m.size(2), 26);
  std::vector<Lesion> out((size_t)rl.count);
  std::vector<std::array<double, 3>> sum((size_t)rl.count, {0, 0, 0});
  std::vector<char> seen((size_t)rl.count, 0);
  const float* mp = f.data<float>();
  const int64_t ny = rl.ny, nx = rl.nx;
  for (int64_t row = 0; row < rl.nz * ny; ++row) {
    const int64_t z = row / ny, y = row % ny;
    for (int64_t k = rl.row_start[(size_t)row]; k < rl.row_start[(size_t)row + 1]; ++k) {
      const int64_t a = rl.x0[(size_t)k], b = rl.x1[(size_t)k], len = b - a;
      const size_t l = (size_t)rl.label[(size_t)k] - 1;
      Lesion& les = out[l];
      sum[l][0] += (double)(z * len);
      sum[l][1] += (double)(y * len);
      sum[l][2] += (double)(a + b - 1) * (double)len / 2;
      for (int64_t x = a; x < b; ++x) {
        const float v = mp[row * nx + x];
        if (!seen[l] || v > les.peak) les.peak = v, les.peak_zyx = {z, y, x}, seen[l] = !std::isnan(v);
      }
    }
  }
  const double voxel_mm3 = spacing_zyx[0] * spacing_zyx[1] * spacing_zyx[2];
  for (size_t l = 0; l < out.size(); ++l) {
    Lesion& les = out[l];
    les.label = (int64_t)l + 1;
    les.voxels = rl.sizes[l];
    les.volume_mm3 = (double)les.voxels * voxel_mm3;
    for (int d = 0; d < 3; ++d) les.centroid_zyx[(size_t)d] = sum[l][(size_t)d] / (double)les.voxels;
  }
  std::stable_sort(out.begin(), out.end(), [](const Lesion& p, const Lesion& q) { return p.voxels > q.voxels; });
  return out;
}

std::array<int64_t, 3> strongest_anomaly(const Tensor& map) {
  check_volume(map, "strongest_anomaly", "map");
  check(map.numel() > 0, "strongest_anomaly: empty map ", map.shape());
  Tensor f = f32c(map, "strongest_anomaly");
  const float* p = f.data<float>();
  const int64_t n = f.numel();
  // The maximum (NaN compares false, so it never wins), then its first voxel.
  float top = -INFINITY;
#pragma omp parallel for reduction(max : top) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) top = p[i] > top ? p[i] : top;
  int64_t best = 0;
  while (best < n && !(p[best] == top)) ++best;
  if (best == n) best = 0;  // every voxel NaN
  const int64_t ny = f.size(1), nx = f.size(2);
  return {best / (ny * nx), best / nx % ny, best % nx};
}

}  // namespace uad::eval
