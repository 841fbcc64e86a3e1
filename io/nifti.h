// NIfTI-1/-2 volumes (.nii, .nii.gz) read and written with nifticlib.
//
// Axis convention (used by every function under io/):
//   NIfTI stores voxel (i,j,k) at file offset i + nx*(j + ny*k): i is fastest. uad keeps that
//   memory order and therefore exposes a volume as a row-major float32 tensor of shape
//   [Z,Y,X] = [nk, nj, ni] = [D,H,W]:  data[k][j][i] is voxel (i,j,k).
//   So tensor axis 0 is NIfTI k, axis 1 is j, axis 2 is i. After reorient_to_ras (io/geometry.h)
//   i runs Left→Right, j Posterior→Anterior, k Inferior→Superior, so data[k] is an axial slice
//   [H=j (P→A), W=i (L→R)] and the tensor is directly the [D,H,W] of an NCDHW batch.
//   nibabel's get_fdata() returns the same voxels as an [X,Y,Z] array (its transpose).
// Header quantities (dims, pixdim, affines) keep NIfTI's (i,j,k) order; functions that take
// per-axis parameters say in their name or doc which order they use (`_ijk` or `_zyx`).
//
// World coordinates: an affine maps (i,j,k,1) to (x,y,z,1) in millimetres, RAS+ (x to the
// subject's Right, y Anterior, z Superior), as in the NIfTI standard.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace uad::io {

/// A 4×4 affine, row-major: m[r][c].
using Mat4 = std::array<std::array<double, 4>, 4>;

Mat4 mat4_identity();
Mat4 mat4_mul(const Mat4& a, const Mat4& b);
/// World coordinates (mm) of voxel (i,j,k) under `affine` (fractional indices allowed).
std::array<double, 3> voxel_to_world(const Mat4& affine, double i, double j, double k);

/// The header of a 3-D NIfTI volume, in NIfTI (i,j,k) axis order.
struct NiftiHeader {
  std::array<int64_t, 3> dim{1, 1, 1};    ///< voxels along i, j, k; tensor shape is {dim[2], dim[1], dim[0]}
  std::array<double, 3> pixdim{1, 1, 1};  ///< voxel size along i, j, k in mm
  int qform_code = 0;                     ///< NIFTI_XFORM_* code of the qform (0 = unset)
  int sform_code = 0;                     ///< NIFTI_XFORM_* code of the sform (0 = unset)
  Mat4 qform{};  ///< quaternion affine (voxel → mm); when qform_code == 0 it is diag(pixdim) ("method 1")
  Mat4 sform{};  ///< sform affine (voxel → mm); when sform_code == 0 it is a copy of `affine`
  /// The voxel → world affine uad uses (nibabel's rule): sform if sform_code > 0, else qform if
  /// qform_code > 0, else diag(pixdim) with zero origin (NIfTI "method 1"; nibabel instead
  /// centres and x-flips such Analyze-style files).
  Mat4 affine{};
  std::string orientation = "RAS";  ///< world direction each voxel axis i,j,k points to, e.g. "LAS"
  int datatype = 16;                ///< on-disk NIFTI_TYPE_* code of the source (16 = float32)
  double scl_slope = 0, scl_inter = 0;  ///< as stored in the source file (already applied to the data)
  int nifti_version = 1;            ///< 1 or 2 (source file)
  std::string descrip;              ///< the 80-char description field

  /// Tensor shape {nz, ny, nx} of this header's volume.
  Shape shape_zyx() const { return {dim[2], dim[1], dim[0]}; }
};

/// A volume and its header: data is float32 [Z,Y,X] (see the axis convention above).
struct NiftiVolume {
  Tensor data;
  NiftiHeader header;
};

/// Reads a 3-D NIfTI volume (.nii or .nii.gz, NIfTI-1 or NIfTI-2, either byte order) of datatype
/// uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32 or float64 into float32
/// [Z,Y,X]. scl_slope/scl_inter are applied (in double, as nibabel: when the slope is 0 or not
/// finite the data are unscaled) before the cast to float32. A 4-D file with t = 1 (and any
/// trailing dims of 1) is accepted. Spatial units in metres or microns are converted to mm.
/// Throws uad::Error naming the file when it is missing, not a NIfTI file, truncated or corrupt,
/// 4-D with t > 1 (or 5-D+), of an unsupported datatype (complex, RGB), larger than 2^31 voxels,
/// or when any voxel is NaN or ±Inf after scaling. Never crashes on bad input.
NiftiVolume read_nifti(const std::string& path);

/// Reads only the header (no voxel data); same checks on the header as read_nifti.
NiftiHeader read_nifti_header(const std::string& path);

/// On-disk datatype for write_nifti.
enum class NiftiWriteType { f32, u8 };

/// Writes `data` (any dtype, [Z,Y,X] matching header.dim) as a single-file NIfTI-1 (.nii, or
/// gzip-compressed when the path ends in .nii.gz) with the header's dims, pixdim (mm), qform (as
/// quaternion, with its code), sform (with its code) and description; scl_slope = 1,
/// scl_inter = 0. u8 rounds to nearest. The file is written to a temporary file in the same
/// directory and renamed over `path`, so no half-written file ever appears under `path`.
/// Throws uad::Error (and leaves `path` untouched) when the shape does not match the header, the
/// extension is not .nii/.nii.gz, a value is NaN/Inf, a u8 value is outside [0,255], or any
/// write fails (missing directory, full disk).
void write_nifti(const std::string& path, const Tensor& data, const NiftiHeader& header,
                 NiftiWriteType type = NiftiWriteType::f32);
inline void write_nifti(const std::string& path, const NiftiVolume& v, NiftiWriteType type = NiftiWriteType::f32) {
  write_nifti(path, v.data, v.header, type);
}

/// A header for a new volume of tensor shape {nz,ny,nx} with voxel size `spacing_ijk` (mm) and
/// the given voxel → world affine (default: diag(spacing), origin 0, i.e. RAS); qform and sform
/// are both set to it with code 2 (NIFTI_XFORM_ALIGNED_ANAT). Throws when the shape is not 3-D.
NiftiHeader make_nifti_header(const Shape& shape_zyx, std::array<double, 3> spacing_ijk = {1, 1, 1},
                              const Mat4* affine = nullptr);

/// Re-grids a header: `new_to_old` maps a new voxel index (i',j',k',1) to the old (fractional)
/// index (i,j,k,1). qform, sform and affine become old·new_to_old, dim becomes `new_dim_ijk`,
/// pixdim the column norms of the new affine, orientation is recomputed. Used by every
/// geometric preprocessing step (reorientation, crop/pad, resampling).
NiftiHeader regrid_header(const NiftiHeader& h, const Mat4& new_to_old, std::array<int64_t, 3> new_dim_ijk);

/// Orientation string of an affine, one letter per voxel axis i,j,k naming the world direction
/// it increases towards (nibabel's aff2axcodes; computed with nifticlib's
/// nifti_dmat44_to_orientation), e.g. "RAS", "LAS", "LSA".
std::string orientation_string(const Mat4& affine);

}  // namespace uad::io
