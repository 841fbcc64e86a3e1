// Per-subject preprocessing and the model-ready views of a brain volume (issue 4, item 3):
// axial slices at 128×128 / 256×256 that contain brain, and whole volumes at 64×64×64, each with
// its brain mask and anomaly mask. Volumes are [Z,Y,X] (io/nifti.h's axis convention); after
// reorientation to RAS, Z runs inferior→superior, so data[z] is an axial slice [Y (P→A), X (L→R)].
//
// The chain (every step is an io/ function with its units documented there):
//   1. read_nifti                      — float32 [Z,Y,X], intensities in scanner units
//   2. reorient_to_ras                 — voxel axes permuted/flipped to i→R, j→A, k→S (no interpolation)
//   3. brain mask                      — from a mask file (> 0, same grid as the image), else image > 0
//                                        (skull-stripped input); u8 0/1
//   4. crop to the brain bounding box  — grown by `margin_mm` (10 mm by default, so augmentation's
//                                        rotations/translations keep the brain in the field of view);
//                                        the header's origin follows, world coordinates are unchanged
//   5. (optional) coarsen the grid     — to at least `working_spacing_mm` per axis (trilinear, Gaussian
//                                        anti-aliasing; masks by linear interpolation ≥ 0.5); off by default,
//                                        `--quick` uses 2 mm
//   6. intensity normalisation         — divide by the 98th percentile of the brain voxels and clip to
//                                        [0,1] (paper 003); voxels outside the brain set to 0. Each
//                                        modality is normalised by its own percentile.
// That gives a Subject on its "working grid" (native spacing, cropped). Augmentation and synthetic
// anomalies act on that grid (sizes in mm); then make_view() resamples to each view:
//   7. crop to the brain bounding box of the (possibly augmented) sample, no margin
//   8. resample keeping the physical aspect ratio: one pixel size p (mm) for every resized axis,
//      p = max over those axes of (extent mm / target voxels), so the longest extent fills the frame;
//      slices: only Y and X are resized (the axial slices stay the native ones); volumes: all three.
//      Trilinear with Gaussian anti-aliasing σ = (f − 1)/2 input voxels when an axis shrinks by f.
//      Masks: the same resampling of the 0/1 mask as float, then ≥ 0.5 (≈ at least half the output
//      voxel covered), so small lesions that cover less than half a coarse voxel vanish — the
//      manifest records the surviving voxel counts.
//   9. pad with 0 (centred) to the square/cubic frame: 128², 256² or 64³.
//  10. slices: keep the axial slices whose brain mask covers at least `min_brain_fraction` of the
//      frame (default 0.10 = 10 % of the H×W pixels); the stack written is the contiguous z range
//      from the first to the last kept slice, and `slices` lists the kept ones within it.
#pragma once
#include <array>
#include <map>
#include <string>
#include <vector>

#include "io/nifti.h"

namespace uad::io {

/// Where a subject's files are. Paths are as given by the user (absolute or relative).
struct SubjectSource {
  std::string id;           ///< short unique name, e.g. "colin27"
  std::string image;        ///< primary image (the modality models train on, e.g. T1)
  std::string modality = "T1";  ///< name of the primary modality
  std::string brain_mask;   ///< optional brain mask file (same grid as image); "" → image > 0
  std::string lesion_mask;  ///< optional lesion (anomaly) mask file (same grid); "" → none
  /// Extra co-registered modalities on the image's grid: name → path (e.g. {"FLAIR", ".../FLAIR.nii.gz"}).
  std::map<std::string, std::string> extra_modalities;
};

struct PreprocessOptions {
  double margin_mm = 10.0;          ///< crop margin around the brain's bounding box (mm)
  double working_spacing_mm = 0.0;  ///< when > 0, coarsen axes finer than this (mm) before normalising
  double percentile = 98.0;         ///< intensity normalisation percentile (of brain voxels)
};

/// A preprocessed subject on its working grid (steps 1–6 above).
struct Subject {
  SubjectSource source;
  NiftiVolume image;    ///< f32 [Z,Y,X] in [0,1], 0 outside the brain; header = RAS, cropped grid
  Tensor brain;         ///< u8 [Z,Y,X] brain mask
  Tensor lesion;        ///< u8 [Z,Y,X] lesion mask, or undefined when the subject has none
  std::map<std::string, Tensor> extra;  ///< extra modalities, f32 [Z,Y,X] in [0,1], same grid
  std::array<int64_t, 3> raw_shape_zyx{};      ///< the input file's tensor shape (before reorientation)
  std::array<double, 3> raw_spacing_zyx{};     ///< the input file's voxel size (mm) along tensor axes
  std::string raw_orientation;                 ///< the input file's orientation code, e.g. "LAS"
  double raw_percentile = 0;  ///< the primary image's percentile value used for scaling (scanner units)

  /// Voxel size (mm) along tensor axes z, y, x of the working grid.
  std::array<double, 3> spacing_zyx() const;
};

/// Runs steps 1–6 on one subject. Throws uad::Error naming the file when a file is missing or
/// unreadable (read_nifti's errors), when a mask or modality is not on the image's grid, when the
/// brain mask is empty, or when the percentile of the brain voxels is ≤ 0.
Subject load_subject(const SubjectSource& src, const PreprocessOptions& opt = {});

/// One view kind. `name` is "slices<S>" (axial slices S×S) or "vol<S>" (volume S×S×S).
struct ViewSpec {
  std::string name;
  bool slices = true;                ///< axial slices (true) or whole volume (false)
  int64_t size = 128;                ///< frame edge S in voxels
  double min_brain_fraction = 0.10;  ///< slices only: fraction of the S×S frame that must be brain
};

/// Parses "slices128", "slices256", "vol64" (any S in [8, 1024]). Throws uad::Error listing the
/// accepted forms otherwise.
ViewSpec parse_view(const std::string& name, double min_brain_fraction = 0.10);

/// One sample rendered into a view (steps 7–10). For slices every tensor is a stack
/// [S_z, S, S] (S_z = last − first kept slice + 1); for volumes [S, S, S].
struct View {
  NiftiVolume image;                     ///< f32 in [0,1]; header gives the view's grid in world mm
  Tensor brain;                          ///< u8 0/1
  Tensor anomaly;                        ///< u8 0/1 (all zero for healthy samples)
  std::map<std::string, Tensor> extra;   ///< extra modalities, f32, same grid
  std::vector<int64_t> slices;           ///< slices: indices into the stack that passed the brain fraction
  std::vector<double> brain_fraction;    ///< slices: brain fraction of each kept slice
  std::vector<int64_t> anomaly_pixels;   ///< slices: anomaly pixels of each kept slice
  int64_t brain_voxels = 0, anomaly_voxels = 0;  ///< over the whole view (all stack slices)
  double pixel_mm = 0;                   ///< the common voxel size p of the resized axes (mm)
};

/// Renders a sample on a working grid — image f32 [Z,Y,X] with header `grid`, brain u8, anomaly
/// u8 (or undefined = none), extra modalities f32 — into `spec` (steps 7–10). Throws uad::Error
/// when shapes differ or the brain mask is empty. A slice view in which no slice reaches the
/// brain fraction has an empty `slices` list (stack of the single fullest slice).
View make_view(const Tensor& image, const NiftiHeader& grid, const Tensor& brain, const Tensor& anomaly,
               const std::map<std::string, Tensor>& extra, const ViewSpec& spec);

/// image · (brain ≠ 0) clipped to [0,1] (a new contiguous f32 tensor; brain undefined = no
/// masking): re-establishes step 6's "background 0, range [0,1]" after augmentation.
Tensor apply_brain_mask(const Tensor& image, const Tensor& brain);

/// Resamples a 0/1 mask (any dtype) with `resize(·, shape, linear, antialias)` as float and
/// thresholds at 0.5 → u8 (step 8's rule for masks).
Tensor resize_mask(const Tensor& mask, const Shape& shape_zyx, bool antialias = true);

}  // namespace uad::io
