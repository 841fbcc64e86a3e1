// Binary erosion/dilation by row decomposition: each (dz,dy) row of the structuring element is a
// set of runs [a, a+L) along x. For each distinct run length L one pass computes
//   R_L[z,y,x] = AND (erosion) / OR (dilation) of in[z,y,x .. x+L−1]   (outside = 0),
// then out[z,y,x] = AND/OR over the element's runs of R_L[z+dz, y+dy, x+a] — byte-wise and
// vectorisable. A 26-neighbourhood costs 9 row operations per voxel instead of 27 lookups.
#include "io/morphology.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

namespace uad::io {

namespace {

struct Run {
  int dz, dy, a, len;
};

StructuringElement make_se(const Shape& shape, auto&& in) {
  Tensor m = zeros(shape, DType::u8);
  uint8_t* p = m.data<uint8_t>();
  const int64_t cz = shape[0] / 2, cy = shape[1] / 2, cx = shape[2] / 2;
  for (int64_t z = 0; z < shape[0]; ++z)
    for (int64_t y = 0; y < shape[1]; ++y)
      for (int64_t x = 0; x < shape[2]; ++x) p[(z * shape[1] + y) * shape[2] + x] = in(z - cz, y - cy, x - cx) ? 1 : 0;
  return {m};
}

// The element's runs; `reflect` mirrors every offset (dilation).
std::vector<Run> runs_of(const StructuringElement& se, bool reflect) {
  const Tensor& m = se.mask;
  const int64_t sz = m.size(0), sy = m.size(1), sx = m.size(2);
  const uint8_t* p = m.data<uint8_t>();
  std::vector<Run> runs;
  for (int64_t z = 0; z < sz; ++z)
    for (int64_t y = 0; y < sy; ++y) {
      const uint8_t* row = p + (z * sy + y) * sx;
      for (int64_t x = 0; x < sx;) {
        if (!row[x]) { ++x; continue; }
        int64_t e = x;
        while (e < sx && row[e]) ++e;
        int dz = int(z - sz / 2), dy = int(y - sy / 2), a = int(x - sx / 2), len = int(e - x);
        if (reflect) { dz = -dz; dy = -dy; a = -(a + len - 1); }
        runs.push_back({dz, dy, a, len});
        x = e;
      }
    }
  return runs;
}

// One erosion (erode = true) or dilation step of `in` into `out` (both u8 0/1, [nz,ny,nx]).
void morph_step(const uint8_t* in, uint8_t* out, int64_t nz, int64_t ny, int64_t nx, const std::vector<Run>& runs,
                bool erode) {
  int P = 0;  // x padding so every lookup x + a stays inside the padded rows
  std::map<int, size_t> slot;
  for (const Run& r : runs) {
    P = std::max({P, std::abs(r.a), std::abs(r.a + r.len - 1)});
    slot.emplace(r.len, 0);
  }
  const int64_t px = nx + 2 * P, plane = ny * px;
  std::vector<std::vector<uint8_t>> R;
  for (auto& [len, s] : slot) {
    s = R.size();
    R.emplace_back((size_t)(nz * plane));
    uint8_t* dst = R.back().data();
    const int L = len;
#pragma omp parallel
    {
      // The row with P zeros (the border value) before it and P + L after it, so that
      // d[xp] = AND/OR of buf[xp .. xp+L) is a branch-free, vectorisable loop per offset l.
      std::vector<uint8_t> buf((size_t)(px + L), 0);
#pragma omp for collapse(2) schedule(static)
      for (int64_t z = 0; z < nz; ++z)
        for (int64_t y = 0; y < ny; ++y) {
          std::memcpy(buf.data() + P, in + (z * ny + y) * nx, (size_t)nx);
          uint8_t* d = dst + z * plane + y * px;
          std::memcpy(d, buf.data(), (size_t)px);
          for (int l = 1; l < L; ++l) {
            const uint8_t* b = buf.data() + l;
            if (erode)
              for (int64_t xp = 0; xp < px; ++xp) d[xp] &= b[xp];
            else
              for (int64_t xp = 0; xp < px; ++xp) d[xp] |= b[xp];
          }
        }
    }
  }
  std::vector<const uint8_t*> run_base(runs.size());
  for (size_t k = 0; k < runs.size(); ++k) run_base[k] = R[slot.at(runs[k].len)].data() + P + runs[k].a;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      uint8_t* o = out + (z * ny + y) * nx;
      std::memset(o, erode ? 1 : 0, (size_t)nx);
      for (size_t k = 0; k < runs.size(); ++k) {
        const Run& r = runs[k];
        const int64_t zz = z + r.dz, yy = y + r.dy;
        if (zz < 0 || zz >= nz || yy < 0 || yy >= ny) {
          if (erode) { std::memset(o, 0, (size_t)nx); break; }
          continue;
        }
        const uint8_t* s = run_base[k] + zz * plane + yy * px;
        if (erode)
          for (int64_t x = 0; x < nx; ++x) o[x] &= s[x];
        else
          for (int64_t x = 0; x < nx; ++x) o[x] |= s[x];
      }
    }
}

Tensor morph(const Tensor& mask, const StructuringElement& se, int iterations, bool erode, const char* op) {
  check(mask.defined() && mask.dim() == 3, op, ": expected a [Z,Y,X] mask, got ", mask.defined() ? mask.shape() : Shape{});
  check(se.mask.defined() && se.mask.dim() == 3 && se.mask.dtype() == DType::u8, op, ": invalid structuring element");
  Tensor f = mask.detach().to(DType::f32).contiguous();
  const int64_t nz = f.size(0), ny = f.size(1), nx = f.size(2), n = f.numel();
  Tensor cur = empty(f.shape(), DType::u8), next = empty(f.shape(), DType::u8);
  const float* src = f.data<float>();
  uint8_t* c = cur.data<uint8_t>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t v = 0; v < n; ++v) c[v] = src[v] != 0.f;
  const std::vector<Run> runs = runs_of(se, !erode);
  if (runs.empty()) return erode ? ones(f.shape(), DType::u8) : zeros(f.shape(), DType::u8);
  for (int it = 0; iterations <= 0 || it < iterations; ++it) {
    morph_step(cur.data<uint8_t>(), next.data<uint8_t>(), nz, ny, nx, runs, erode);
    std::swap(cur, next);
    if (iterations <= 0 && std::memcmp(cur.raw(), next.raw(), (size_t)n) == 0) break;
  }
  return cur;
}

}  // namespace

StructuringElement StructuringElement::connectivity(int n) {
  check(n == 6 || n == 18 || n == 26, "StructuringElement::connectivity: n must be 6, 18 or 26, got ", n);
  const int rank = n == 6 ? 1 : n == 18 ? 2 : 3;  // generate_binary_structure(3, rank): |dz|+|dy|+|dx| ≤ rank
  return make_se({3, 3, 3}, [rank](int64_t z, int64_t y, int64_t x) { return std::abs(z) + std::abs(y) + std::abs(x) <= rank; });
}

StructuringElement StructuringElement::ball(int r) {
  check(r >= 0, "StructuringElement::ball: radius must be >= 0, got ", r);
  const int64_t s = 2 * r + 1;
  return make_se({s, s, s}, [r](int64_t z, int64_t y, int64_t x) { return z * z + y * y + x * x <= (int64_t)r * r; });
}

StructuringElement StructuringElement::from_mask(const Tensor& m) {
  check(m.defined() && m.dim() == 3, "StructuringElement::from_mask: expected a 3-D mask");
  for (auto s : m.shape()) check(s % 2 == 1, "StructuringElement::from_mask: sizes must be odd, got ", m.shape());
  Tensor f = m.detach().to(DType::f32).contiguous();
  const float* p = f.data<float>();
  const Shape sh = f.shape();
  bool any = false;
  for (int64_t v = 0; v < f.numel(); ++v) any |= p[v] != 0.f;
  check(any, "StructuringElement::from_mask: empty structuring element");
  return make_se(sh, [&](int64_t z, int64_t y, int64_t x) {
    return p[((z + sh[0] / 2) * sh[1] + (y + sh[1] / 2)) * sh[2] + (x + sh[2] / 2)] != 0.f;
  });
}

Tensor binary_erosion(const Tensor& mask, const StructuringElement& se, int iterations) {
  return morph(mask, se, iterations, true, "binary_erosion");
}

Tensor binary_dilation(const Tensor& mask, const StructuringElement& se, int iterations) {
  return morph(mask, se, iterations, false, "binary_dilation");
}

}  // namespace uad::io
