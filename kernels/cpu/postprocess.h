// Raw-pointer CPU kernels of the anomaly-map post-processing (domain_spec §1.4, issue 6 item 2):
// the exact 3-D median filter (median3d.cpp) and 3-D connected-component labelling (label3d.cpp),
// both bit-for-bit equal to scipy.ndimage. The Tensor API on top is eval/postprocess.h.
//
// Conventions: volumes are [Z,Y,X] contiguous row-major (x fastest); sizes are in voxels;
// callers (eval/postprocess.cpp) check shapes and arguments, these functions trust them.
#pragma once
#include <cstdint>
#include <vector>

namespace uad::cpu {

/// 3-D median filter with a size³ cube and scipy.ndimage 'reflect' borders (d c b a | a b c d |
/// d c b a, repeated with period 2n, so any size works on dims as thin as 1):
///   out[p] = the element of rank size³/2 (0-based) of the window centred on p,
/// i.e. scipy.ndimage.median_filter(in, size, mode='reflect') exactly (rank_filter returns one of
/// the window's values, as this does). −0 is read as +0 (they compare equal; scipy leaves which of
/// the two it returns unspecified). `size` odd ≥ 1; size 1 copies. in, out: [nz,ny,nx] f32, out
/// must not alias in. Returns the number of NaN voxels of `in`: when it is > 0 nothing is written
/// (NaN has no rank; the caller reports it).
/// Method (median3d.cpp): the window is the union of `size` yz-slabs; per x position the sorted
/// size² slab lists and the merged lists of 2, 4, … adjacent slabs are computed once and shared by
/// the windows that contain them (Batcher odd-even merges, pruned to the ranks that can reach the
/// median), the last part is combined by the two-list selection formula
/// kth(A ∪ B) = min_i max(A[i−1], B[k−i]); all of it 8 x positions per AVX vector, OpenMP over z.
/// Windows with no nonzero value are written as 0 without a network.
int64_t median_filter3d(const float* in, float* out, int64_t nz, int64_t ny, int64_t nx, int size);

/// Number of NaN elements of in[0..n).
int64_t count_nan(const float* in, int64_t n);

/// Connected components of a [nz,ny,nx] mask (nonzero bytes = foreground).
/// connectivity 6, 18 or 26 = scipy.ndimage.generate_binary_structure(3, 1 | 2 | 3).
/// Components are numbered 1..count in the raster order of their first voxel, exactly as
/// scipy.ndimage.label. Method (label3d.cpp): runs of foreground along x, union-find over runs
/// (every root is its component's first run), OpenMP over z slabs with a serial seam pass.
struct RunLabels {
  int64_t nz = 0, ny = 0, nx = 0;
  std::vector<int64_t> row_start;  ///< runs of row (z·ny + y) are [row_start[row], row_start[row+1])
  std::vector<int32_t> x0, x1;     ///< run k covers x ∈ [x0[k], x1[k])
  std::vector<int32_t> label;      ///< label (1..count) of run k
  std::vector<int64_t> sizes;      ///< voxels of label l at sizes[l − 1]
  int64_t count = 0;
};

/// Labels the runs of `mask` (see RunLabels). Throws uad::Error for an unknown connectivity or
/// more than 2^31 − 1 runs.
RunLabels label_runs(const uint8_t* mask, int64_t nz, int64_t ny, int64_t nx, int connectivity);

/// Writes the i32 label volume [nz,ny,nx] of `rl` (0 = background).
void write_labels(const RunLabels& rl, int32_t* labels);

/// Writes the u8 0/1 volume of the components with at least `min_voxels` voxels.
void write_kept(const RunLabels& rl, int64_t min_voxels, uint8_t* out);

}  // namespace uad::cpu
