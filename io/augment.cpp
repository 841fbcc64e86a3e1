// Healthy augmentation: one composed affine + elastic warp, gamma, bias field, noise (io/augment.h).
#include "io/augment.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/anomaly_internal.h"
#include "io/resample.h"

namespace uad::io {

using detail::check_spacing;

Tensor smooth_random_field(const Shape& shape, const std::array<double, 3>& sp, double sigma_mm, Generator& g) {
  check(shape.size() == 3 && shape[0] >= 1 && shape[1] >= 1 && shape[2] >= 1,
        "smooth_random_field: shape must be 3-D and positive, got ", shape);
  check_spacing(sp, "smooth_random_field");
  check(std::isfinite(sigma_mm) && sigma_mm > 0, "smooth_random_field: sigma_mm must be > 0, got ", sigma_mm);
  Shape coarse(3);
  std::array<double, 3> h{}, sigma_nodes{};
  std::array<AxisMap, 3> up{};
  for (int a = 0; a < 3; ++a) {
    h[a] = std::max(1.0, 0.5 * sigma_mm / sp[a]);  // control spacing in voxels
    coarse[a] = (int64_t)std::ceil((double)(shape[a] - 1) / h[a] - 1e-9) + 1;
    sigma_nodes[a] = sigma_mm / (h[a] * sp[a]);
    up[a] = AxisMap{1.0 / h[a], 0.0};  // voxel p reads control coordinate p / h
  }
  Tensor f = gaussian_smooth(randn(coarse, g), sigma_nodes);
  float* p = f.data<float>();
  const int64_t n = f.numel();
  float m = 0.f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(p[i]));
  if (m > 0.f)
    for (int64_t i = 0; i < n; ++i) p[i] /= m;
  return resample_grid(f, shape, up, Interp::linear);
}

namespace {

using Mat3 = std::array<std::array<double, 3>, 3>;

Mat3 matmul(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

// Rotation by `rad` about tensor axis `axis` in (z,y,x) coordinates (right-handed in that order).
Mat3 axis_rotation(int axis, double rad) {
  Mat3 r{};
  const int i = (axis + 1) % 3, j = (axis + 2) % 3;
  r[axis][axis] = 1;
  r[i][i] = r[j][j] = std::cos(rad);
  r[i][j] = -std::sin(rad);
  r[j][i] = std::sin(rad);
  return r;
}

struct Geometry {
  Mat3 A{};                      // voxel-space linear part of the backward map
  std::array<double, 3> b{};     // its offset (voxels)
  std::array<double, 3> d{};     // elastic amplitude per axis (voxels), multiplies the unit fields
};

// The backward map of the file comment, with every geometric quantity multiplied by `f`.
Geometry make_geometry(const Shape& n, const std::array<double, 3>& sp, const std::array<double, 3>& rot_deg, double log_s,
                       const std::array<double, 3>& t_mm, double alpha_mm, double f) {
  const double deg = M_PI / 180.0;
  const Mat3 R = matmul(matmul(axis_rotation(0, f * rot_deg[0] * deg), axis_rotation(1, f * rot_deg[1] * deg)),
                        axis_rotation(2, f * rot_deg[2] * deg));
  const double s = std::exp(f * log_s);
  Geometry G;
  std::array<double, 3> c{};
  for (int a = 0; a < 3; ++a) c[a] = 0.5 * (double)(n[a] - 1);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) G.A[i][j] = R[j][i] * sp[j] / sp[i] / s;  // S⁻¹ Rᵀ S / s
  for (int i = 0; i < 3; ++i) {
    double Ac = 0, Rt = 0;
    for (int j = 0; j < 3; ++j) {
      Ac += G.A[i][j] * c[j];
      Rt += R[j][i] * f * t_mm[j];
    }
    G.b[i] = (c[i] - Ac) - Rt / s / sp[i];
    G.d[i] = f * alpha_mm / sp[i];
  }
  return G;
}

// Source points outside [lo − 1, hi + 1] (per axis; lo/hi the bounding box of the nonzero image and
// mask voxels) have eight zero neighbours: trilinear and nearest both give exactly 0 there.
struct Support {
  double lo[3], hi[3];
};

Support nonzero_support(const float* img, const uint8_t* msk, const Shape& n) {
  const int64_t nz = n[0], ny = n[1], nx = n[2];
  int64_t lo[3] = {nz, ny, nx}, hi[3] = {-1, -1, -1};
#pragma omp parallel for schedule(static) reduction(min : lo[:3]) reduction(max : hi[:3])
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      const int64_t row = (z * ny + y) * nx;
      int64_t first = -1, last = -1;
      for (int64_t x = 0; x < nx; ++x)
        if (img[row + x] != 0.f || msk[row + x]) {
          if (first < 0) first = x;
          last = x;
        }
      if (first < 0) continue;
      lo[0] = std::min(lo[0], z), hi[0] = std::max(hi[0], z);
      lo[1] = std::min(lo[1], y), hi[1] = std::max(hi[1], y);
      lo[2] = std::min(lo[2], first), hi[2] = std::max(hi[2], last);
    }
  Support s;
  for (int a = 0; a < 3; ++a) {
    s.lo[a] = (double)lo[a] - 1.0;
    s.hi[a] = (double)hi[a] + 1.0;
  }
  return s;
}

// Warps image (trilinear) and mask (nearest) through G (+ elastic fields when given); the same
// arithmetic as sample_trilinear / sample_nearest, with a bounds-check-free path inside the volume.
// Returns the number of warped-mask voxels on the volume border.
int64_t warp(const float* img, const uint8_t* msk, float* out, uint8_t* mout, const Shape& n, const Geometry& G,
             const Support& sup, const float* fz, const float* fy, const float* fx) {
  const int64_t nz = n[0], ny = n[1], nx = n[2], plane = ny * nx;
  int64_t border = 0;
#pragma omp parallel for collapse(2) schedule(dynamic, 16) reduction(+ : border)
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      const double rz = G.A[0][0] * z + G.A[0][1] * y + G.b[0];
      const double ry = G.A[1][0] * z + G.A[1][1] * y + G.b[1];
      const double rx = G.A[2][0] * z + G.A[2][1] * y + G.b[2];
      const int64_t row = (z * ny + y) * nx;
      const bool edge_row = z == 0 || y == 0 || z == nz - 1 || y == ny - 1;
      for (int64_t x = 0; x < nx; ++x) {
        double pz = rz + G.A[0][2] * x, py = ry + G.A[1][2] * x, px = rx + G.A[2][2] * x;
        if (fz) {
          pz += G.d[0] * fz[row + x];
          py += G.d[1] * fy[row + x];
          px += G.d[2] * fx[row + x];
        }
        if (pz < sup.lo[0] || py < sup.lo[1] || px < sup.lo[2] || pz > sup.hi[0] || py > sup.hi[1] || px > sup.hi[2]) {
          out[row + x] = 0.f;
          mout[row + x] = 0;
          continue;
        }
        const double fz0 = std::floor(pz), fy0 = std::floor(py), fx0 = std::floor(px);
        const int64_t z0 = (int64_t)fz0, y0 = (int64_t)fy0, x0 = (int64_t)fx0;
        float v;
        if (z0 >= 0 && y0 >= 0 && x0 >= 0 && z0 + 1 < nz && y0 + 1 < ny && x0 + 1 < nx) {
          const float wz = (float)(pz - fz0), wy = (float)(py - fy0), wx = (float)(px - fx0);
          const float* p = img + z0 * plane + y0 * nx + x0;
          const float r00 = p[0] + wx * (p[1] - p[0]), r01 = p[nx] + wx * (p[nx + 1] - p[nx]);
          const float r10 = p[plane] + wx * (p[plane + 1] - p[plane]);
          const float r11 = p[plane + nx] + wx * (p[plane + nx + 1] - p[plane + nx]);
          const float p0 = r00 + wy * (r01 - r00), p1 = r10 + wy * (r11 - r10);
          v = p0 + wz * (p1 - p0);
        } else {
          v = sample_trilinear(img, nz, ny, nx, pz, py, px);
        }
        out[row + x] = v;
        const uint8_t m = sample_nearest(msk, nz, ny, nx, pz, py, px);
        mout[row + x] = m;
        if (m && (edge_row || x == 0 || x == nx - 1)) ++border;
      }
    }
  return border;
}

// Mask voxels on the six faces of the volume.
int64_t border_count(const uint8_t* m, const Shape& n) {
  const int64_t nz = n[0], ny = n[1], nx = n[2];
  int64_t c = 0;
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      const uint8_t* r = m + (z * ny + y) * nx;
      if (z == 0 || y == 0 || z == nz - 1 || y == ny - 1) {
        for (int64_t x = 0; x < nx; ++x) c += r[x] != 0;
      } else {
        c += (r[0] != 0) + (nx > 1 && r[nx - 1] != 0);
      }
    }
  return c;
}

void check_options(const AugmentOptions& o) {
  const double v[] = {o.max_rotation_deg, o.max_scale, o.max_translation_mm, o.elastic_alpha_mm,
                      o.elastic_sigma_mm, o.gamma_log_range, o.bias_field_strength, o.noise_std};
  for (double x : v)
    check(std::isfinite(x) && x >= 0, "augment_healthy: every AugmentOptions field must be finite and >= 0");
  check(o.max_scale < 1.0, "augment_healthy: max_scale must be < 1, got ", o.max_scale);
  check(o.bias_field_strength < 1.0, "augment_healthy: bias_field_strength must be < 1, got ", o.bias_field_strength);
  check(o.elastic_alpha_mm == 0 || o.elastic_sigma_mm > 0,
        "augment_healthy: elastic_sigma_mm must be > 0 when elastic_alpha_mm > 0");
}

}  // namespace

Augmented augment_healthy(const Tensor& image, const Tensor& mask, const std::array<double, 3>& sp,
                          const AugmentOptions& opt, Generator& g) {
  const char* op = "augment_healthy";
  Tensor img = detail::volume_f32(image, op, "image");
  const Shape n = img.shape();
  Tensor msk = detail::mask_u8(mask, n, op, "mask");
  check_spacing(sp, op);
  check_options(opt);
  nlohmann::json P;
  P["generator_seed"] = g.seed();
  P["generator_offset"] = g.offset();

  // ---- draws: 8 scalars, then the fields (only those with nonzero amplitude) ----
  const std::vector<double> u = detail::uniforms(g, 8);
  auto sym = [](double uu, double r) { return (2.0 * uu - 1.0) * r; };
  const std::array<double, 3> rot{sym(u[0], opt.max_rotation_deg), sym(u[1], opt.max_rotation_deg),
                                  sym(u[2], opt.max_rotation_deg)};
  const double scale = 1.0 + sym(u[3], opt.max_scale);
  const std::array<double, 3> trans{sym(u[4], opt.max_translation_mm), sym(u[5], opt.max_translation_mm),
                                    sym(u[6], opt.max_translation_mm)};
  const double gamma = std::exp(sym(u[7], opt.gamma_log_range));
  Tensor ez, ey, ex, bias;
  if (opt.elastic_alpha_mm > 0) {
    ez = smooth_random_field(n, sp, opt.elastic_sigma_mm, g);
    ey = smooth_random_field(n, sp, opt.elastic_sigma_mm, g);
    ex = smooth_random_field(n, sp, opt.elastic_sigma_mm, g);
  }
  if (opt.bias_field_strength > 0) bias = smooth_random_field(n, sp, kBiasSigmaMm, g);

  // ---- geometry: one pass; shrink towards identity while the brain leaves the field of view ----
  Augmented out{empty(n, DType::f32), empty(n, DType::u8), {}};
  float* o = out.image.data<float>();
  uint8_t* mo = out.mask.data<uint8_t>();
  const uint8_t* mi = msk.data<uint8_t>();
  const bool keep_inside = border_count(mi, n) == 0;
  const Support sup = nonzero_support(img.data<float>(), mi, n);
  const double log_s = std::log(scale);
  double factor = 1.0;
  for (int attempt = 0;; ++attempt) {
    factor = attempt <= 4 ? std::ldexp(1.0, -attempt) : 0.0;
    const Geometry G = make_geometry(n, sp, rot, log_s, trans, opt.elastic_alpha_mm, factor);
    const bool elastic = ez.defined() && factor > 0;
    const int64_t border = warp(img.data<float>(), mi, o, mo, n, G, sup, elastic ? ez.data<float>() : nullptr,
                                elastic ? ey.data<float>() : nullptr, elastic ? ex.data<float>() : nullptr);
    if (!keep_inside || border == 0 || factor == 0.0) break;
  }

  // ---- intensity: gamma, bias, noise on the brain, clamp ----
  const int64_t nz = n[0], plane = n[1] * n[2];
  const float gm = (float)gamma, bs = (float)opt.bias_field_strength;
  const float* bf = bias.defined() ? bias.data<float>() : nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t z = 0; z < nz; ++z) {
    float* r = o + z * plane;
    if (gm != 1.f)
      for (int64_t i = 0; i < plane; ++i) {
        const float v = std::clamp(r[i], 0.f, 1.f);
        r[i] = v > 0.f ? std::pow(v, gm) : 0.f;
      }
    if (bf) {
      const float* b = bf + z * plane;
      for (int64_t i = 0; i < plane; ++i) r[i] *= 1.f + bs * b[i];
    }
  }
  if (opt.noise_std > 0) {
    // Noise values are consumed in raster order of the warped mask: slice z starts at start[z].
    std::vector<int64_t> start(nz + 1, 0);
#pragma omp parallel for schedule(static)
    for (int64_t z = 0; z < nz; ++z) {
      int64_t c = 0;
      for (int64_t i = 0; i < plane; ++i) c += mo[z * plane + i];
      start[z + 1] = c;
    }
    for (int64_t z = 0; z < nz; ++z) start[z + 1] += start[z];
    if (start[nz] > 0) {
      Tensor noise = randn({start[nz]}, g);
      const float* w = noise.data<float>();
      const float sd = (float)opt.noise_std;
#pragma omp parallel for schedule(static)
      for (int64_t z = 0; z < nz; ++z) {
        int64_t k = start[z];
        for (int64_t i = z * plane; i < (z + 1) * plane; ++i)
          if (mo[i]) o[i] += sd * w[k++];
      }
    }
  }
  const int64_t total = out.image.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) o[i] = std::clamp(o[i], 0.f, 1.f);

  P["rotation_deg_zyx"] = {factor * rot[0], factor * rot[1], factor * rot[2]};
  P["scale"] = std::exp(factor * log_s);
  P["translation_mm_zyx"] = {factor * trans[0], factor * trans[1], factor * trans[2]};
  P["elastic_alpha_mm"] = factor * opt.elastic_alpha_mm;
  P["elastic_sigma_mm"] = opt.elastic_sigma_mm;
  P["geometry_factor"] = factor;
  P["drawn_rotation_deg_zyx"] = rot;
  P["drawn_scale"] = scale;
  P["drawn_translation_mm_zyx"] = trans;
  P["gamma"] = gamma;
  P["bias_field_strength"] = opt.bias_field_strength;
  P["bias_sigma_mm"] = kBiasSigmaMm;
  P["noise_std"] = opt.noise_std;
  out.params_json = P.dump();
  return out;
}

}  // namespace uad::io
