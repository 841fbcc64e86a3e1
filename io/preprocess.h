// Preprocessing of brain volumes — one include for the whole toolbox. Every step is a documented
// function with explicit units, operating on float32 [Z,Y,X] tensors and NIfTI headers (axis
// convention in io/nifti.h):
//
//   io/geometry.h    reorient_to_ras, bounding_box, crop_or_pad, crop_to_brain, centered_box
//                    (voxel moves; header affines follow so world coordinates are unchanged)
//   io/resample.h    gaussian_smooth (σ in voxels), resize / resample_to_shape /
//                    resample_to_spacing (mm): trilinear or nearest, with Gaussian
//                    anti-aliasing σ = (f − 1)/2 before downsampling by f (paper 001 step 5)
//   io/intensity.h   percentile, normalize_percentile (÷ 98th percentile, clip [0,1]: paper 003),
//                    normalize_minmax ([-1,1]: paper 001), ct_window ([-20,100] HU → [-1,1]:
//                    paper 001), mask_from_image (> 0), read_mask (mask file on the same grid)
//   io/morphology.h  binary_erosion / binary_dilation with 6/18/26-connectivity or a ball,
//                    scipy.ndimage semantics
//
// A typical chain for a skull-stripped T1 (paper 001's 64³ volumes):
//   NiftiVolume v = reorient_to_ras(read_nifti(path));
//   Tensor brain = mask_from_image(v.data);
//   auto [c, m] = crop_to_brain(v, brain, /*margin=*/2);
//   NiftiVolume r = resample_to_shape(c, {64, 64, 64});          // smoothed, then trilinear
//   Tensor x = normalize_minmax(r.data);                          // [-1, 1]
#pragma once
#include "io/geometry.h"
#include "io/intensity.h"
#include "io/morphology.h"
#include "io/nifti.h"
#include "io/resample.h"
