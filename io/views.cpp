// Per-subject preprocessing and slice/volume views (see io/views.h for the chain and its units).
#include "io/views.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/geometry.h"
#include "io/intensity.h"
#include "io/resample.h"

namespace uad::io {

namespace {

std::array<double, 3> zyx_spacing(const NiftiHeader& h) { return {h.pixdim[2], h.pixdim[1], h.pixdim[0]}; }

/// u8 0/1 copy of (x ≥ 0.5) for a float tensor.
Tensor threshold_half(const Tensor& x_in) {
  Tensor x = x_in.detach().to(DType::f32).contiguous();
  Tensor out = empty(x.shape(), DType::u8);
  const float* s = x.data<float>();
  uint8_t* d = out.data<uint8_t>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = s[i] >= 0.5f ? 1 : 0;
  return out;
}

template <class T> int64_t count_nonzero_of(const T* p, int64_t n) {
  int64_t c = 0;
#pragma omp parallel for schedule(static) reduction(+ : c) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) c += p[i] != 0;
  return c;
}

/// Nonzero voxels of a tensor (any dtype).
int64_t count_nonzero(const Tensor& t) {
  if (t.dtype() == DType::u8) {
    Tensor u = t.detach().contiguous();
    return count_nonzero_of(u.data<uint8_t>(), u.numel());
  }
  Tensor f = t.detach().to(DType::f32).contiguous();
  return count_nonzero_of(f.data<float>(), f.numel());
}

/// A u8 0/1 copy of (t ≠ 0) for any dtype (u8 input: returned as is, contiguous).
Tensor as_mask_u8(const Tensor& t) {
  if (t.dtype() == DType::u8) return t.detach().contiguous();
  Tensor f = t.detach().to(DType::f32).contiguous();
  Tensor out = empty(f.shape(), DType::u8);
  const float* s = f.data<float>();
  uint8_t* d = out.data<uint8_t>();
  const int64_t n = f.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = s[i] != 0.f;
  return out;
}

/// image · (mask ≠ 0), clamped to [0,1], as a new contiguous f32 tensor.
Tensor mask_and_clamp(const Tensor& img, const Tensor& mask) {
  Tensor x = img.detach().to(DType::f32).contiguous();
  Tensor m = mask.defined() ? as_mask_u8(mask) : Tensor();
  Tensor out = empty(x.shape(), DType::f32);
  const float* s = x.data<float>();
  const uint8_t* mp = m.defined() ? m.data<uint8_t>() : nullptr;
  float* d = out.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = (mp && !mp[i]) ? 0.f : std::clamp(s[i], 0.f, 1.f);
  return out;
}

/// A modality or mask file must share the image's grid (dims and affine within 1e-3 mm).
void check_same_grid(const NiftiHeader& h, const NiftiHeader& ref, const std::string& path, const std::string& ref_path) {
  bool same = h.dim == ref.dim;
  for (int r = 0; r < 3 && same; ++r)
    for (int c = 0; c < 4; ++c) same = same && std::abs(h.affine[r][c] - ref.affine[r][c]) <= 1e-3;
  check(same, "load_subject: ", path, " is not on the grid of ", ref_path, " (dims ", h.dim[0], "x", h.dim[1], "x",
        h.dim[2], " vs ", ref.dim[0], "x", ref.dim[1], "x", ref.dim[2], ", or a different affine)");
}

/// Coarsens a mask with the same grid rule as resample_to_spacing on the image, threshold 0.5.
Tensor coarsen_mask(const Tensor& mask, const NiftiHeader& h, std::array<double, 3> spacing_ijk) {
  NiftiVolume mv{mask.detach().to(DType::f32).contiguous(), h};
  return threshold_half(resample_to_spacing(mv, spacing_ijk, Interp::linear, true).data);
}

}  // namespace

std::array<double, 3> Subject::spacing_zyx() const { return zyx_spacing(image.header); }

Subject load_subject(const SubjectSource& src, const PreprocessOptions& opt) {
  check(!src.image.empty(), "load_subject: subject '", src.id, "' has no image path");
  check(opt.margin_mm >= 0 && std::isfinite(opt.margin_mm), "load_subject: margin_mm must be >= 0, got ", opt.margin_mm);
  Subject s;
  s.source = src;
  // 1–2. read, reorient to RAS.
  NiftiVolume raw = read_nifti(src.image);
  s.raw_shape_zyx = {raw.header.dim[2], raw.header.dim[1], raw.header.dim[0]};
  s.raw_spacing_zyx = zyx_spacing(raw.header);
  s.raw_orientation = raw.header.orientation;
  const Reorientation r = ras_reorientation(raw.header);
  NiftiVolume v{apply_reorientation(raw.data, r), apply_reorientation(raw.header, r)};
  // 3. masks and extra modalities, on the raw grid then reoriented the same way.
  Tensor brain = src.brain_mask.empty() ? mask_from_image(v.data)
                                        : apply_reorientation(read_mask(src.brain_mask, raw.header), r);
  const int64_t nbrain = count_nonzero(brain);
  check(nbrain > 0, "load_subject: the brain mask of '", src.id, "' is empty (",
        src.brain_mask.empty() ? src.image + " has no voxel > 0" : src.brain_mask, ")");
  Tensor lesion = src.lesion_mask.empty() ? Tensor() : apply_reorientation(read_mask(src.lesion_mask, raw.header), r);
  std::map<std::string, Tensor> extra;
  for (const auto& [name, path] : src.extra_modalities) {
    NiftiVolume m = read_nifti(path);
    check_same_grid(m.header, raw.header, path, src.image);
    extra[name] = apply_reorientation(m.data, r);
  }
  raw = NiftiVolume{};
  // 4. crop to the brain's bounding box grown by margin_mm (per-axis voxel margins).
  Box b = bounding_box(brain);
  const auto sp = zyx_spacing(v.header);
  for (int a = 0; a < 3; ++a) {
    const int64_t m = (int64_t)std::ceil(opt.margin_mm / sp[a] - 1e-9);
    b.lo[a] -= m;
    b.hi[a] += m;
  }
  NiftiVolume c = crop_or_pad(v, b, 0.0);
  brain = crop_or_pad(brain, b, 0.0);
  if (lesion.defined()) lesion = crop_or_pad(lesion, b, 0.0);
  for (auto& [name, t] : extra) t = crop_or_pad(t, b, 0.0);
  // 5. optional coarsening to the working spacing.
  if (opt.working_spacing_mm > 0) {
    std::array<double, 3> target = c.header.pixdim;
    bool coarsen = false;
    for (double& t : target)
      if (t < opt.working_spacing_mm) t = opt.working_spacing_mm, coarsen = true;
    if (coarsen) {
      const NiftiHeader h = c.header;
      c = resample_to_spacing(c, target, Interp::linear, true);
      brain = coarsen_mask(brain, h, target);
      if (lesion.defined()) lesion = coarsen_mask(lesion, h, target);
      for (auto& [name, t] : extra) t = resample_to_spacing(NiftiVolume{t, h}, target, Interp::linear, true).data;
      check(count_nonzero(brain) > 0, "load_subject: the brain mask of '", src.id, "' vanished at ",
            opt.working_spacing_mm, " mm");
    }
  }
  // 6. intensity normalisation (each modality by its own percentile), background 0.
  s.raw_percentile = percentile(c.data, brain, opt.percentile);
  s.image = NiftiVolume{mask_and_clamp(normalize_percentile(c.data, brain, opt.percentile), brain), c.header};
  for (auto& [name, t] : extra) s.extra[name] = mask_and_clamp(normalize_percentile(t, brain, opt.percentile), brain);
  s.brain = as_mask_u8(brain);
  if (lesion.defined()) s.lesion = as_mask_u8(lesion);
  return s;
}

ViewSpec parse_view(const std::string& name, double min_brain_fraction) {
  ViewSpec v;
  v.name = name;
  v.min_brain_fraction = min_brain_fraction;
  std::string digits;
  if (name.rfind("slices", 0) == 0) {
    v.slices = true;
    digits = name.substr(6);
  } else if (name.rfind("vol", 0) == 0) {
    v.slices = false;
    digits = name.substr(3);
  }
  const bool ok = !digits.empty() && digits.size() <= 4 &&
                  std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  check(ok, "parse_view: unknown view '", name, "' (expected slicesS or volS with S in [8,1024], e.g. slices128, slices256, vol64)");
  v.size = std::stoll(digits);
  check(v.size >= 8 && v.size <= 1024, "parse_view: view '", name, "': size must be in [8,1024]");
  check(min_brain_fraction >= 0 && min_brain_fraction <= 1, "parse_view: min_brain_fraction must be in [0,1], got ",
        min_brain_fraction);
  return v;
}

Tensor apply_brain_mask(const Tensor& image, const Tensor& brain) {
  check(image.defined() && (!brain.defined() || brain.shape() == image.shape()), "apply_brain_mask: shapes ",
        image.defined() ? image.shape() : Shape{}, " and ", brain.defined() ? brain.shape() : Shape{}, " differ");
  return mask_and_clamp(image, brain);
}

Tensor resize_mask(const Tensor& mask, const Shape& shape_zyx, bool antialias) {
  return threshold_half(resize(mask.detach().to(DType::f32).contiguous(), shape_zyx, Interp::linear, antialias));
}

View make_view(const Tensor& image, const NiftiHeader& grid, const Tensor& brain, const Tensor& anomaly,
               const std::map<std::string, Tensor>& extra, const ViewSpec& spec) {
  const Shape shp = grid.shape_zyx();
  check(image.defined() && image.shape() == shp, "make_view: image shape ", image.defined() ? image.shape() : Shape{},
        " does not match the grid ", shp);
  check(brain.defined() && brain.shape() == shp, "make_view: brain mask shape differs from the image's ", shp);
  check(!anomaly.defined() || anomaly.shape() == shp, "make_view: anomaly mask shape ", anomaly.shape(),
        " differs from the image's ", shp);
  for (const auto& [name, t] : extra)
    check(t.shape() == shp, "make_view: modality ", name, " shape ", t.shape(), " differs from the image's ", shp);
  // 7. crop to the sample's brain bounding box.
  const Box b = bounding_box(brain);
  NiftiVolume c = crop_or_pad(NiftiVolume{image.detach().to(DType::f32).contiguous(), grid}, b, 0.0);
  Tensor cb = crop_or_pad(brain, b, 0.0);
  Tensor ca = anomaly.defined() ? crop_or_pad(anomaly, b, 0.0) : zeros(cb.shape(), DType::u8);
  // 8. aspect-preserving resample: one pixel size p for the resized axes.
  const Shape n = c.data.shape();
  const auto sp = zyx_spacing(c.header);
  const int first_axis = spec.slices ? 1 : 0;
  double p = 0;
  for (int a = first_axis; a < 3; ++a) p = std::max(p, (double)n[a] * sp[a] / (double)spec.size);
  Shape m = n, frame = n;
  for (int a = first_axis; a < 3; ++a) {
    m[a] = std::clamp<int64_t>(std::llround((double)n[a] * sp[a] / p), 1, spec.size);
    frame[a] = spec.size;
  }
  NiftiVolume r = resample_to_shape(c, m, Interp::linear, true);
  // 9. centred zero padding to the frame.
  const Box fb = centered_box(m, frame);
  View v;
  v.pixel_mm = p;
  v.image = crop_or_pad(r, fb, 0.0);
  v.image.data = mask_and_clamp(v.image.data, Tensor());
  v.brain = crop_or_pad(resize_mask(cb, m), fb, 0.0);
  v.anomaly = crop_or_pad(resize_mask(ca, m), fb, 0.0);
  for (const auto& [name, t] : extra)
    v.extra[name] = mask_and_clamp(crop_or_pad(resize(crop_or_pad(t, b, 0.0), m, Interp::linear, true), fb, 0.0), Tensor());
  // 10. slices: keep those with enough brain; the stack spans the first to the last kept slice.
  if (spec.slices) {
    const int64_t nz = frame[0], area = spec.size * spec.size;
    std::vector<double> frac(nz);
    std::vector<int64_t> anom(nz);
    const uint8_t* bp = v.brain.data<uint8_t>();
    const uint8_t* ap = v.anomaly.data<uint8_t>();
    for (int64_t z = 0; z < nz; ++z) {
      int64_t nb = 0, na = 0;
      for (int64_t i = 0; i < area; ++i) nb += bp[z * area + i], na += ap[z * area + i];
      frac[z] = (double)nb / (double)area;
      anom[z] = na;
    }
    std::vector<int64_t> kept;
    for (int64_t z = 0; z < nz; ++z)
      if (frac[z] >= spec.min_brain_fraction && frac[z] > 0) kept.push_back(z);
    int64_t z0, z1;
    if (kept.empty()) {
      z0 = (int64_t)(std::max_element(frac.begin(), frac.end()) - frac.begin());
      z1 = z0 + 1;
    } else {
      z0 = kept.front();
      z1 = kept.back() + 1;
    }
    Box zb;
    zb.lo = {z0, 0, 0};
    zb.hi = {z1, spec.size, spec.size};
    v.image = crop_or_pad(v.image, zb, 0.0);
    v.brain = crop_or_pad(v.brain, zb, 0.0);
    v.anomaly = crop_or_pad(v.anomaly, zb, 0.0);
    for (auto& [name, t] : v.extra) t = crop_or_pad(t, zb, 0.0);
    for (int64_t z : kept) {
      v.slices.push_back(z - z0);
      v.brain_fraction.push_back(frac[z]);
      v.anomaly_pixels.push_back(anom[z]);
    }
  }
  v.brain_voxels = count_nonzero(v.brain);
  v.anomaly_voxels = count_nonzero(v.anomaly);
  return v;
}

}  // namespace uad::io
