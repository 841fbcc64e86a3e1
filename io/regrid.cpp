#include "io/regrid.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace uad::io {

Mat4 mat4_inverse(const Mat4& m) {
  double a[4][8];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 8; ++c) a[r][c] = c < 4 ? m[r][c] : (c - 4 == r ? 1.0 : 0.0);
  for (int col = 0; col < 4; ++col) {
    int piv = col;
    for (int r = col + 1; r < 4; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
    check(std::fabs(a[piv][col]) >= 1e-12, "mat4_inverse: singular affine");
    if (piv != col)
      for (int c = 0; c < 8; ++c) std::swap(a[piv][c], a[col][c]);
    const double d = a[col][col];
    for (int c = 0; c < 8; ++c) a[col][c] /= d;
    for (int r = 0; r < 4; ++r) {
      if (r == col) continue;
      const double f = a[r][col];
      if (f != 0.0)
        for (int c = 0; c < 8; ++c) a[r][c] -= f * a[col][c];
    }
  }
  Mat4 out{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) out[r][c] = a[r][c + 4];
  return out;
}

Tensor regrid(const Tensor& src_in, const NiftiHeader& src_header, const NiftiHeader& dst_header, Interp interp,
              float outside) {
  check(src_in.defined() && src_in.shape() == src_header.shape_zyx(), "regrid: source ",
        src_in.defined() ? src_in.shape() : Shape{}, " does not match its header's grid ", src_header.shape_zyx());
  const Tensor src = src_in.to(DType::f32).contiguous();
  const float* s = src.data<float>();
  const int64_t sz = src.size(0), sy = src.size(1), sx = src.size(2);
  // dst voxel (i,j,k) → src index: M = src⁻¹ · dst.
  const Mat4 M = mat4_mul(mat4_inverse(src_header.affine), dst_header.affine);
  const Shape dshape = dst_header.shape_zyx();
  Tensor out = empty(dshape);
  float* o = out.data<float>();
  const int64_t dz = dshape[0], dy = dshape[1], dx = dshape[2];
  auto at = [&](int64_t k, int64_t j, int64_t i) { return s[(k * sy + j) * sx + i]; };
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < dz; ++k)
    for (int64_t j = 0; j < dy; ++j)
      for (int64_t i = 0; i < dx; ++i) {
        const double fi = M[0][0] * i + M[0][1] * j + M[0][2] * k + M[0][3];
        const double fj = M[1][0] * i + M[1][1] * j + M[1][2] * k + M[1][3];
        const double fk = M[2][0] * i + M[2][1] * j + M[2][2] * k + M[2][3];
        float v = outside;
        if (fi > -0.5 && fj > -0.5 && fk > -0.5 && fi < sx - 0.5 && fj < sy - 0.5 && fk < sz - 0.5) {
          if (interp == Interp::nearest) {
            v = at((int64_t)std::lround(fk), (int64_t)std::lround(fj), (int64_t)std::lround(fi));
          } else {
            const double ci = std::clamp(fi, 0.0, (double)(sx - 1)), cj = std::clamp(fj, 0.0, (double)(sy - 1)),
                         ck = std::clamp(fk, 0.0, (double)(sz - 1));
            const int64_t i0 = std::min((int64_t)ci, sx - 1), j0 = std::min((int64_t)cj, sy - 1),
                          k0 = std::min((int64_t)ck, sz - 1);
            const int64_t i1 = std::min(i0 + 1, sx - 1), j1 = std::min(j0 + 1, sy - 1), k1 = std::min(k0 + 1, sz - 1);
            const double wi = ci - i0, wj = cj - j0, wk = ck - k0;
            const double c00 = at(k0, j0, i0) * (1 - wi) + at(k0, j0, i1) * wi;
            const double c01 = at(k0, j1, i0) * (1 - wi) + at(k0, j1, i1) * wi;
            const double c10 = at(k1, j0, i0) * (1 - wi) + at(k1, j0, i1) * wi;
            const double c11 = at(k1, j1, i0) * (1 - wi) + at(k1, j1, i1) * wi;
            v = (float)((c00 * (1 - wj) + c01 * wj) * (1 - wk) + (c10 * (1 - wj) + c11 * wj) * wk);
          }
        }
        o[(k * dy + j) * dx + i] = v;
      }
  return out;
}

}  // namespace uad::io
