// Gaussian smoothing and resampling of [Z,Y,X] volumes (io/nifti.h's axis convention).
//
// Grid convention: voxel centres sit at integer coordinates 0..n−1. Every resampling is
// "output voxel o reads input coordinate c = scale·o + shift" per axis, with c clamped to
// [0, n−1] (scipy.ndimage mode='nearest'), i.e. exactly
//   scipy.ndimage.map_coordinates(x, coords, order=1, mode='nearest')      (Interp::linear)
// evaluated on that grid. Trilinear interpolation is computed as three separable 1-D passes
// (mathematically identical). Two grids are provided:
//   * to a shape: scale = n_in/n_out, shift = scale/2 − 1/2 — the field of view's outer edges
//     stay where they were (PyTorch interpolate(align_corners=False), skimage resize,
//     scipy zoom(grid_mode=True, mode='nearest'));
//   * to a spacing: scale = s_new/s_old, n_out = round(n_in·s_old/s_new), shift chosen so the
//     centre of the field of view stays put: (n_in−1)/2 = scale·(n_out−1)/2 + shift.
// Anti-aliasing: before downsampling an axis by a factor f = scale > 1, the volume is smoothed
// with a Gaussian of σ = (f − 1)/2 input voxels (skimage.transform.resize's default
// anti_aliasing_sigma). Paper 001 (step 5: "After a Gaussian smoothing, images are resized to
// 64×64×64 using linear interpolation") gives no σ, so this standard choice is used.
// No autograd: data preparation on detached float32 data (other dtypes are converted).
#pragma once
#include <array>

#include "io/nifti.h"

namespace uad::io {

enum class Interp { linear, nearest };

/// One axis of a resampling grid: input coordinate = scale · output index + shift (voxels).
struct AxisMap {
  double scale = 1.0, shift = 0.0;
};

/// Gaussian smoothing of a [Z,Y,X] volume with standard deviations `sigma_zyx` in voxels per
/// tensor axis (0 skips an axis), as scipy.ndimage.gaussian_filter(x, sigma, mode='reflect',
/// truncate): kernel exp(−x²/2σ²) normalised to sum 1 on [−r, r], r = int(truncate·σ + 0.5);
/// borders mirrored half-sample ("d c b a | a b c d | d c b a"). Separable, OpenMP.
/// Returns a new float32 tensor. Throws on a non-3-D input or a negative/non-finite σ.
Tensor gaussian_smooth(const Tensor& vol, std::array<double, 3> sigma_zyx, double truncate = 4.0);

/// Resamples a [Z,Y,X] volume onto `out_shape` with the per-axis maps `map_zyx` (see the grid
/// convention above); nearest picks the voxel floor(c + 0.5). No smoothing. float32 result.
Tensor resample_grid(const Tensor& vol, const Shape& out_shape, const std::array<AxisMap, 3>& map_zyx,
                     Interp interp = Interp::linear);

/// σ (input voxels) of the anti-aliasing Gaussian for each axis: max(0, (scale − 1)/2).
std::array<double, 3> antialias_sigma(const std::array<AxisMap, 3>& map_zyx);

/// Resizes a [Z,Y,X] tensor to `shape_zyx` (field-of-view-preserving grid), smoothing first
/// when `antialias` and an axis shrinks. For masks use Interp::nearest, antialias = false.
Tensor resize(const Tensor& vol, const Shape& shape_zyx, Interp interp = Interp::linear, bool antialias = true);

/// resize() of a volume; the header's affine/qform/sform, dims and pixdim follow the new grid.
NiftiVolume resample_to_shape(const NiftiVolume& v, const Shape& shape_zyx, Interp interp = Interp::linear,
                              bool antialias = true);

/// Resamples a volume to voxel size `spacing_ijk` (mm, NIfTI i,j,k order; the current voxel
/// size is header.pixdim) on the centre-preserving grid; header updated. Throws when a spacing is
/// not > 0.
NiftiVolume resample_to_spacing(const NiftiVolume& v, std::array<double, 3> spacing_ijk,
                                Interp interp = Interp::linear, bool antialias = true);

}  // namespace uad::io
