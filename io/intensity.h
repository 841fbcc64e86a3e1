// Intensity normalisation and brain masks. Volumes are tensors of any shape (usually [Z,Y,X]);
// results are new float32 tensors (masks u8 0/1). No autograd: data preparation.
#pragma once
#include <string>

#include "io/nifti.h"

namespace uad::io {

/// The q-th percentile (q in [0,100]) of the voxels where `mask` != 0 (every voxel when `mask`
/// is undefined), with NumPy's default 'linear' rule: sorted values v_0..v_{n−1},
/// h = (n−1)·q/100, result v_⌊h⌋ + (h − ⌊h⌋)(v_⌊h⌋+1 − v_⌊h⌋). O(n) (nth_element).
/// Throws when q is outside [0,100], shapes differ, or the mask selects no voxel.
double percentile(const Tensor& vol, const Tensor& mask, double q);

/// Paper 003 (Baur et al., "Autoencoders for unsupervised anomaly segmentation in brain MR
/// images: a comparative study"): x / p_q(brain voxels), clipped to [0,1], default q = 98.
/// Throws (naming the percentile) when p_q ≤ 0, and as percentile().
Tensor normalize_percentile(const Tensor& vol, const Tensor& mask, double q = 98.0);

/// Paper 001 step 7: global min–max normalisation to [lo,hi]: lo + (x − min)(hi − lo)/(max − min).
/// Throws when the volume is constant (max = min) or empty.
Tensor normalize_minmax(const Tensor& vol, double lo = -1.0, double hi = 1.0);

/// Paper 001 step 6 (CT soft-tissue window): clip to [wmin, wmax] (HU, default [−20, 100]) and map
/// that window linearly to [lo, hi] (default [−1, 1]). Throws when wmax ≤ wmin.
Tensor ct_window(const Tensor& vol, double wmin = -20.0, double wmax = 100.0, double lo = -1.0, double hi = 1.0);

/// Brain mask of a skull-stripped image: 1 where vol > threshold (default 0), else 0 (u8).
Tensor mask_from_image(const Tensor& vol, double threshold = 0.0);

/// Brain (or lesion) mask from a NIfTI mask file: 1 where the value is > 0, as u8 [Z,Y,X].
/// Throws (naming both) when the file cannot be read (see read_nifti) or is not on `ref`'s grid:
/// different dims, or an affine entry differing by more than 1e-3 mm.
Tensor read_mask(const std::string& path, const NiftiHeader& ref);

}  // namespace uad::io
