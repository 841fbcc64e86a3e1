// Moving a volume between two grids of the same world (mm) space through their affines — used to
// put results computed on a model's view grid back onto the grid of the scan the user gave, so
// outputs open in any viewer on top of the input with its header and affine.
#pragma once
#include "io/nifti.h"
#include "io/resample.h"

namespace uad::io {

/// Inverse of a 4×4 affine (Gauss–Jordan with partial pivoting). Throws uad::Error when the
/// matrix is singular (|pivot| < 1e-12).
Mat4 mat4_inverse(const Mat4& m);

/// Samples `src` (a [Z,Y,X] tensor on the grid of `src_header`) at every voxel centre of
/// `dst_header`'s grid: voxel (i,j,k) of dst → world = dst.affine·(i,j,k,1) → src index
/// src.affine⁻¹·world → trilinear (Interp::linear) or nearest-neighbour (Interp::nearest, for
/// masks and labels) sample. Points outside src (beyond half a voxel for nearest, outside
/// [0, n−1] on any axis for linear, where a voxel within half a voxel of the edge takes the edge
/// value) are `outside`. Returns f32 [dst Z,Y,X]. OpenMP over z. Throws uad::Error when src's
/// shape is not src_header's.
Tensor regrid(const Tensor& src, const NiftiHeader& src_header, const NiftiHeader& dst_header, Interp interp,
              float outside = 0.0f);

}  // namespace uad::io
