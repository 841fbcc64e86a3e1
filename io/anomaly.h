// Synthetic anomalies with exact voxel masks, inserted into healthy brain volumes ([Z,Y,X],
// io/nifti.h's axis convention; after reorient_to_ras tensor axis 2 (x) runs left→right).
//
// The eight MOOD types (domain_spec.md §7; reconstruction of FeliMe/autoseg
// uas_mood/utils/test_anomalies.py, third party) share one region: a sphere (physical, in mm) whose
// centre is a random brain voxel of the central half of the volume (index range
// [n/4, n/4 + n/2) per axis, n/2 and n/4 rounded down; any brain voxel when that box holds none),
// intersected with the brain mask. Its radius is f·side, side = mean of the three physical extents
// n_a·spacing_a (mm), f ~ U(0.05, 0.10) for uniform_addition, noise_addition and slice_shuffle and
// U(0.08, 0.13) for the others. "range" below is max − min of the image. Region R = sphere ∩ brain;
// each type rewrites the voxels of R only and its mask is R:
//   uniform_addition   v ← clamp(v + a, 0, 1), a = ±U(0.2, 0.3)·range (sign 50/50).
//   noise_addition     v ← clamp(v + a_v, 0, 1), a_v = σ·U(0.05, 0.3)·range per voxel, one sign σ = ±1.
//   sink_deformation   v(I) ← v_in(I + (1 − s)(I − C)), s = (‖I − C‖/r)² (distances in mm): content
//                      pulled towards the centre C; trilinear (the reference rounds to a voxel).
//   source_deformation v(I) ← v_in(C + s(I − C)): content pushed away from C (magnified).
//   uniform_shift      v(I) ← v_in(I − k) with wrap-around (np.roll), k_a = ±K_a voxels per axis,
//                      K_a uniform integer in [max(1, round(0.02 n_a)), max(that, round(0.05 n_a))].
//   reflection         v(z,y,x) ← v_in(z, y, n_x − 1 − x): the mirror image across the mid-plane of
//                      the x axis (left–right for RAS volumes).
//   local_blur         v ← (G_σ * v_in), Gaussian with σ = 2 voxels along the finest axis
//                      (σ_a = 2·min(spacing)/spacing_a voxels; 2 voxels on isotropic data as the reference).
//   slice_shuffle      along a random axis, the slices crossing R are permuted by a random cyclic
//                      permutation (Sattolo's algorithm: no slice keeps its place) and R takes the
//                      permuted volume's values.
// A voxel of R can keep its value by coincidence (clamped at 1, equal mirrored value, homogeneous
// tissue); the mask still marks it, as the MOOD ground truth marks the whole region.
//
// Lesion-like types:
//   ms_lesions   3–10 ellipsoids, semi-axes U(2, 8) mm each, uniformly random orientation (Shoemake
//                quaternion), centred on random deep white-matter voxels (the WM eroded twice
//                with the 6-neighbourhood; any WM voxel when that is empty). Ellipsoidal radius
//                ρ = ‖diag(1/a)·Qᵀ(x − c)‖ (mm); weight w(ρ) = 1 for ρ ≤ 0.6, ½(1 + cos(π(ρ − 0.6)/0.4))
//                up to ρ = 1, 0 beyond (soft edge). Each lesion, in order: v ← v + w·(t − v) on
//                white-matter voxels, t = min(1, mean_WM + U(0.15, 0.3)·range) (FLAIR-like
//                hyperintensity). Mask = ∪ {ρ < 1} ∩ white matter: every changed voxel.
//   tumour_mass  one mass at a random brain voxel of the central half, nominal radius
//                R ~ U(15, 30) mm (reduced to 0.25 × the smallest brain extent (mm) for small brains),
//                irregular outline ρ = ‖x − c‖ / (R·(1 + clamp(0.15·f₁(x)/rms(f₁), ±0.3))), f₁ a smooth
//                random field (σ = R/2.5). Texture by ρ' = ρ·(1 + clamp(0.15·f₃/rms(f₃), ±0.3)) (f₃ smooth, σ = R/5: irregular inner
//                boundaries): necrotic core (ρ' < ρ_n, ρ_n ~ U(0.25, 0.45), intensity ~U(0.05, 0.2)),
//                enhancing rim (width U(0.12, 0.25), ~U(0.85, 1)), solid /
//                oedematous tumour out to ρ = 1 (~U(0.45, 0.65)); zones blended over 0.05 in ρ and
//                modulated by 1 + h·clamp(f₂/rms(f₂), ±2.5) (f₂ smooth, σ = 2 mm; h ~ U(0.1, 0.15)).
//                Mass effect: every brain voxel at
//                distance r < 4R from c samples the input at distance
//                r_src = r − (r − ∛max(r³ − kR³, 0))·τ(r), k ~ U(0.3, 0.6) (the volume fraction of
//                the mass that displaced tissue), τ = 1 for r ≤ 2R falling as a half cosine to 0 at
//                4R; r_src is increasing in r, so the warp has no folds. The mass is blended over the
//                displaced tissue with w = 1 for ρ ≤ 0.9, half cosine to 0 at ρ = 1.
//                Mask = {ρ < 1} ∩ brain: the mass itself, NOT the displaced tissue.
// Locality: every type except tumour_mass is local — voxels outside its mask are bit-identical to
// the input. tumour_mass also changes brain voxels within 4R of its centre (mass effect; trilinear
// resampling), and nothing outside the brain. All types clamp the changed voxels to [0,1].
#pragma once
#include <array>
#include <string>

#include "tensor/generator.h"
#include "tensor/tensor.h"

namespace uad::io {

enum class AnomalyType { uniform_addition, noise_addition, sink_deformation, source_deformation, uniform_shift,
                         reflection, local_blur, slice_shuffle, ms_lesions, tumour_mass };
constexpr int kAnomalyTypeCount = 10;

const char* anomaly_name(AnomalyType t);                 // "uniform_addition", "ms_lesions", ...
AnomalyType anomaly_from_name(const std::string& name);  // throws uad::Error listing valid names

/// True for the types that change voxels inside their mask only (all except tumour_mass).
bool anomaly_is_local(AnomalyType t);

struct SyntheticAnomaly { Tensor image; Tensor mask; AnomalyType type; std::string params_json; };

/// Inserts one anomaly of `type` into a healthy image [Z,Y,X] f32 in [0,1] inside brain_mask (u8).
/// white_matter: optional u8 [Z,Y,X] mask for ms_lesions (else white matter is estimated from intensity).
/// spacing_zyx in mm (sizes of lesions are specified in mm). The mask is exact: voxels the anomaly changed.
///
/// Per-type definitions (region, parameters, mask) in the file comment above. Returns the new
/// image (f32), the u8 0/1 mask (never empty, always inside the brain), the type and params_json
/// (an object: "type", generator seed/offset at entry and every drawn parameter). Masks of any
/// dtype are accepted (nonzero = inside); white_matter is intersected with the brain.
/// Throws uad::Error (naming make_anomaly) when image is not 3-D, a mask's shape differs, a spacing
/// is not > 0, the brain mask is empty, or (ms_lesions) the white matter is empty.
SyntheticAnomaly make_anomaly(const Tensor& image, const Tensor& brain_mask, AnomalyType type,
                              const std::array<double, 3>& spacing_zyx, Generator& g,
                              const Tensor& white_matter = Tensor());

/// White matter of a T1-weighted brain estimated from intensity: 3-class k-means (CSF, grey and
/// white matter; 256-bin histogram of the brain voxels, centres started at the 10th/50th/90th
/// percentiles, Lloyd iterations to convergence) and WM = brain voxels above the midpoint of the two
/// brightest centres, eroded once with the 6-neighbourhood to drop partial-volume edges (unless
/// that empties it). Assumes WM is the brightest tissue (T1); pass an atlas mask otherwise.
/// image [Z,Y,X] (any dtype), brain_mask same shape; returns u8 [Z,Y,X].
/// Throws when shapes differ or the brain mask is empty.
Tensor estimate_white_matter(const Tensor& image, const Tensor& brain_mask);

}  // namespace uad::io
