// Reorientation to RAS and crop/pad: voxel moves with header bookkeeping (see io/geometry.h).
#include "io/geometry.h"

#include <nifti2_io.h>

#include <cstring>

namespace uad::io {

namespace {

Tensor contiguous_3d(const Tensor& t, const char* op) {
  check(t.defined() && t.dim() == 3, op, ": expected a [Z,Y,X] tensor, got ", t.defined() ? t.shape() : Shape{});
  return t.detach().contiguous();
}

// Copies elements of `esize` bytes: dst[o] = src[base + k·s2 + j·s1 + i·s0] over the new grid.
template <class E>
void gather3(const E* src, E* dst, std::array<int64_t, 3> n_ijk, int64_t base, std::array<int64_t, 3> step) {
  const int64_t ni = n_ijk[0], nj = n_ijk[1], nk = n_ijk[2];
#pragma omp parallel for schedule(static) if (ni * nj * nk > 65536)
  for (int64_t k = 0; k < nk; ++k) {
    E* o = dst + k * nj * ni;
    for (int64_t j = 0; j < nj; ++j) {
      const E* s = src + base + k * step[2] + j * step[1];
      if (step[0] == 1) {
        std::memcpy(o, s, sizeof(E) * ni);
      } else {
        for (int64_t i = 0; i < ni; ++i) o[i] = s[i * step[0]];
      }
      o += ni;
    }
  }
}

}  // namespace

Reorientation ras_reorientation(const NiftiHeader& h) {
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = h.affine[r][c];
  int code[3];
  nifti_dmat44_to_orientation(m, &code[0], &code[1], &code[2]);
  Reorientation r;
  std::array<bool, 3> used{false, false, false};
  for (int p = 0; p < 3; ++p) {
    check(code[p] >= NIFTI_L2R && code[p] <= NIFTI_S2I, "ras_reorientation: degenerate affine (orientation '",
          h.orientation, "')");
    const int w = (code[p] - 1) / 2;  // 0 = x (L/R), 1 = y (P/A), 2 = z (I/S)
    check(!used[w], "ras_reorientation: two voxel axes point along the same world axis (orientation '", h.orientation, "')");
    used[w] = true;
    r.src_axis[w] = p;
    r.flip[w] = code[p] == NIFTI_R2L || code[p] == NIFTI_A2P || code[p] == NIFTI_S2I;
  }
  return r;
}

Tensor apply_reorientation(const Tensor& t_in, const Reorientation& r) {
  Tensor t = contiguous_3d(t_in, "apply_reorientation");
  const std::array<int64_t, 3> old_n{t.size(2), t.size(1), t.size(0)};  // i, j, k
  const std::array<int64_t, 3> old_stride{1, old_n[0], old_n[0] * old_n[1]};
  std::array<int64_t, 3> new_n, step;
  int64_t base = 0;
  for (int a = 0; a < 3; ++a) {
    const int p = r.src_axis[a];
    new_n[a] = old_n[p];
    step[a] = r.flip[a] ? -old_stride[p] : old_stride[p];
    if (r.flip[a]) base += (old_n[p] - 1) * old_stride[p];
  }
  Tensor out = empty({new_n[2], new_n[1], new_n[0]}, t.dtype());
  switch (dtype_size(t.dtype())) {
    case 1: gather3(static_cast<const uint8_t*>(t.raw()), static_cast<uint8_t*>(out.raw()), new_n, base, step); break;
    case 4: gather3(static_cast<const uint32_t*>(t.raw()), static_cast<uint32_t*>(out.raw()), new_n, base, step); break;
    case 8: gather3(static_cast<const uint64_t*>(t.raw()), static_cast<uint64_t*>(out.raw()), new_n, base, step); break;
    default: fail("apply_reorientation: unsupported dtype ", dtype_name(t.dtype()));
  }
  return out;
}

NiftiHeader apply_reorientation(const NiftiHeader& h, const Reorientation& r) {
  Mat4 t{};
  t[3][3] = 1;
  std::array<int64_t, 3> new_dim;
  for (int a = 0; a < 3; ++a) {
    const int p = r.src_axis[a];
    new_dim[a] = h.dim[p];
    t[p][a] = r.flip[a] ? -1.0 : 1.0;
    t[p][3] = r.flip[a] ? double(h.dim[p] - 1) : 0.0;
  }
  return regrid_header(h, t, new_dim);
}

NiftiVolume reorient_to_ras(const NiftiVolume& v) {
  check(v.data.defined() && v.data.shape() == v.header.shape_zyx(), "reorient_to_ras: data shape ",
        v.data.defined() ? v.data.shape() : Shape{}, " does not match the header ", v.header.shape_zyx());
  const Reorientation r = ras_reorientation(v.header);
  return {apply_reorientation(v.data, r), apply_reorientation(v.header, r)};
}

Box bounding_box(const Tensor& mask_in) {
  Tensor m = contiguous_3d(mask_in, "bounding_box").to(DType::f32).contiguous();
  const int64_t nz = m.size(0), ny = m.size(1), nx = m.size(2);
  const float* p = m.data<float>();
  Box b;
  int64_t zlo = nz, zhi = 0, ylo = ny, yhi = 0, xlo = nx, xhi = 0;
#pragma omp parallel for schedule(static) reduction(min : zlo, ylo, xlo) reduction(max : zhi, yhi, xhi)
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      const float* row = p + (z * ny + y) * nx;
      int64_t x0 = 0;
      while (x0 < nx && row[x0] == 0.f) ++x0;
      if (x0 == nx) continue;
      int64_t x1 = nx - 1;
      while (row[x1] == 0.f) --x1;
      zlo = std::min(zlo, z); zhi = std::max(zhi, z + 1);
      ylo = std::min(ylo, y); yhi = std::max(yhi, y + 1);
      xlo = std::min(xlo, x0); xhi = std::max(xhi, x1 + 1);
    }
  check(zhi > zlo, "bounding_box: the mask ", m.shape(), " has no nonzero voxel");
  b.lo = {zlo, ylo, xlo};
  b.hi = {zhi, yhi, xhi};
  return b;
}

Box grow(const Box& b, int64_t margin) {
  Box g = b;
  for (int a = 0; a < 3; ++a) {
    g.lo[a] -= margin;
    g.hi[a] += margin;
  }
  return g;
}

Box centered_box(const Shape& vol, const Shape& shape) {
  check(vol.size() == 3 && shape.size() == 3, "centered_box: expected 3-D shapes, got ", vol, " and ", shape);
  Box b;
  for (int a = 0; a < 3; ++a) {
    check(shape[a] >= 1, "centered_box: invalid target shape ", shape);
    // Floor division so that negative differences (padding) also put the extra voxel high.
    const int64_t d = vol[a] - shape[a];
    b.lo[a] = d >= 0 ? d / 2 : -((-d + 1) / 2);
    b.hi[a] = b.lo[a] + shape[a];
  }
  return b;
}

Tensor crop_or_pad(const Tensor& t_in, const Box& box, double pad_value) {
  Tensor t = contiguous_3d(t_in, "crop_or_pad");
  const Shape out_shape = box.shape();
  for (auto s : out_shape) check(s >= 1, "crop_or_pad: empty box of shape ", out_shape);
  Tensor out = full(out_shape, pad_value, t.dtype());
  const int64_t esz = (int64_t)dtype_size(t.dtype());
  const int64_t nz = t.size(0), ny = t.size(1), nx = t.size(2);
  const int64_t ox = out_shape[2], oy = out_shape[1];
  const int64_t x0 = std::max<int64_t>(box.lo[2], 0), x1 = std::min(box.hi[2], nx);
  if (x1 <= x0) return out;
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  const int64_t zlo = std::max<int64_t>(box.lo[0], 0), zhi = std::min(box.hi[0], nz);
#pragma omp parallel for schedule(static) if (out.numel() > 65536)
  for (int64_t z = zlo; z < zhi; ++z)
    for (int64_t y = std::max<int64_t>(box.lo[1], 0); y < std::min(box.hi[1], ny); ++y)
      std::memcpy(dst + (((z - box.lo[0]) * oy + (y - box.lo[1])) * ox + (x0 - box.lo[2])) * esz,
                  src + ((z * ny + y) * nx + x0) * esz, (size_t)((x1 - x0) * esz));
  return out;
}

NiftiVolume crop_or_pad(const NiftiVolume& v, const Box& box, double pad_value) {
  check(v.data.defined() && v.data.shape() == v.header.shape_zyx(), "crop_or_pad: data shape does not match the header ",
        v.header.shape_zyx());
  Mat4 t = mat4_identity();
  t[0][3] = (double)box.lo[2];
  t[1][3] = (double)box.lo[1];
  t[2][3] = (double)box.lo[0];
  const Shape s = box.shape();
  return {crop_or_pad(v.data, box, pad_value), regrid_header(v.header, t, {s[2], s[1], s[0]})};
}

std::pair<NiftiVolume, Tensor> crop_to_brain(const NiftiVolume& v, const Tensor& mask, int64_t margin) {
  check(mask.defined() && mask.shape() == v.data.shape(), "crop_to_brain: mask shape ", mask.defined() ? mask.shape() : Shape{},
        " differs from the volume's ", v.data.shape());
  check(margin >= 0, "crop_to_brain: margin must be >= 0, got ", margin);
  const Box b = grow(bounding_box(mask), margin);
  return {crop_or_pad(v, b, 0.0), crop_or_pad(mask, b, 0.0)};
}

}  // namespace uad::io
