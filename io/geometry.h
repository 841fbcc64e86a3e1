// Geometric preprocessing that moves voxels without interpolating them: reorientation to RAS and
// crop/pad (to the brain's bounding box). Tensors are [Z,Y,X] (io/nifti.h's axis convention) of
// any dtype; each step also returns the header with its affines updated so that every voxel keeps
// its world coordinates (mm). No autograd: these are data-preparation steps on detached data.
#pragma once
#include <array>

#include "io/nifti.h"

namespace uad::io {

/// How to reorder a volume's voxel axes: new NIfTI axis a (0 = i, 1 = j, 2 = k) takes old axis
/// src_axis[a], reversed when flip[a].
struct Reorientation {
  std::array<int, 3> src_axis{0, 1, 2};
  std::array<bool, 3> flip{false, false, false};
  bool is_identity() const {
    return src_axis == std::array<int, 3>{0, 1, 2} && !flip[0] && !flip[1] && !flip[2];
  }
};

/// The axis permutation/flips that bring `h` to RAS (i → Right, j → Anterior, k → Superior), from
/// the closest orthogonal axes of h.affine (nifticlib's nifti_dmat44_to_orientation, the rule
/// behind h.orientation). Throws when the affine is degenerate (two axes map to one direction).
Reorientation ras_reorientation(const NiftiHeader& h);

/// Applies `r` to a [Z,Y,X] tensor of any dtype (a contiguous copy; OpenMP over slices).
/// Throws when t is not 3-D.
Tensor apply_reorientation(const Tensor& t, const Reorientation& r);
/// Applies `r` to a header: dims and pixdim permuted; qform, sform and affine composed with the
/// index map, so that world(new voxel) == world(old voxel it came from).
NiftiHeader apply_reorientation(const NiftiHeader& h, const Reorientation& r);

/// Reorients a volume to RAS (data and header); a no-op copy when it already is.
NiftiVolume reorient_to_ras(const NiftiVolume& v);

/// A half-open box of voxels in tensor order: z ∈ [lo[0],hi[0]), y ∈ [lo[1],hi[1]),
/// x ∈ [lo[2],hi[2]). Bounds may lie outside the volume (padding).
struct Box {
  std::array<int64_t, 3> lo{0, 0, 0}, hi{0, 0, 0};
  Shape shape() const { return {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]}; }
};

/// The tightest box around the nonzero voxels of a [Z,Y,X] mask (any dtype).
/// Throws when the mask has no nonzero voxel.
Box bounding_box(const Tensor& mask);
/// `b` grown by `margin` voxels on every side (not clamped to the volume).
Box grow(const Box& b, int64_t margin);

/// The part of a [Z,Y,X] tensor (any dtype) inside `box`; voxels of the box outside the tensor
/// get `pad_value`. Throws when the box is empty or not 3-D-compatible.
Tensor crop_or_pad(const Tensor& t, const Box& box, double pad_value = 0.0);
/// Crop/pad of a volume; the header's origin moves so world coordinates are unchanged.
NiftiVolume crop_or_pad(const NiftiVolume& v, const Box& box, double pad_value = 0.0);

/// A box of `shape_zyx` centred on the volume's centre (crop where larger, pad where smaller;
/// odd differences put the extra voxel at the high end).
Box centered_box(const Shape& volume_zyx, const Shape& shape_zyx);

/// Crops the volume and its brain mask ([Z,Y,X], same shape) to the mask's bounding box grown by
/// `margin` voxels (padded with 0 where the margin leaves the volume). Returns {volume, mask}.
/// Throws when shapes differ or the mask is empty.
std::pair<NiftiVolume, Tensor> crop_to_brain(const NiftiVolume& v, const Tensor& mask, int64_t margin = 0);

}  // namespace uad::io
