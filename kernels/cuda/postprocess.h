// Host API of the CUDA post-processing kernels (DESIGN.md §6, issue 6 item 2): the fused residual +
// mask + 3-D median (kernels/cuda/postprocess_median.cu), threshold, 3-D connected-component
// labelling and the small-component filter (kernels/cuda/postprocess_label.cu). Plain C++17 with
// no CUDA types, like kernels/cuda/kernels.h, so g++-compiled code calls it in the real CUDA build
// (uad_cuda) and in the simulator build (uad_sim).
//
// Conventions: pointers are device pointers (cudaMalloc memory; host memory in the simulator);
// volumes are [D,H,W] = [Z,Y,X], contiguous row-major (x fastest); `stream` is a cudaStream_t
// (nullptr = the default stream). Every function throws uad::Error naming the op and the shape on
// bad arguments or a failed launch. The results equal the CPU reference (eval/postprocess.h,
// scipy.ndimage semantics) exactly: the median returns one of the window's values, the labels are
// canonical.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cuda/kernels.h"

namespace uad::cuda {

/// Fused residual + mask + 3-D median filter in one shared-memory-tiled kernel:
///   r = positive_only ? max(x − recon, 0) : |x − recon|,  r = 0 where mask == 0,
///   out = median of r over the size³ window centred on each voxel,
/// with scipy.ndimage 'reflect' borders (d c b a | a b c d | d c b a, period 2·n, so any size
/// works on dims as thin as 1). Equals scipy.ndimage.median_filter(r, size, mode='reflect')
/// (the element of rank size³/2 of the window). x, recon, out: f32 [D,H,W]; mask: u8 [D,H,W] or
/// nullptr (= all ones). −0 and +0 count as equal; NaNs sort above +inf (scipy leaves NaN
/// ordering unspecified). `size` odd, 1..7. Throws uad::Error for a bad size or negative dims.
void fused_residual_median(const float* x, const float* recon, const uint8_t* mask, float* out, int64_t D, int64_t H,
                           int64_t W, bool positive_only, int size, void* stream = nullptr);

/// The same median filter on an arbitrary f32 volume `in` [D,H,W] → `out` [D,H,W] (out must not
/// alias in). Equals scipy.ndimage.median_filter(in, size, mode='reflect'). `size` odd, 1..7.
void median_filter3d(const float* in, float* out, int64_t D, int64_t H, int64_t W, int size, void* stream = nullptr);

/// out[i] = in[i] > threshold ? 1 : 0 (u8), i < n (NaN → 0).
void threshold(const float* in, uint8_t* out, int64_t n, float threshold, void* stream = nullptr);

/// Connected components of mask != 0 (u8 [D,H,W]) with 6, 18 or 26 connectivity
/// (scipy.ndimage.generate_binary_structure(3, 1|2|3)), by union-find over the label array:
/// init, merge (atomicMin union of each voxel with its backward neighbours, Playne & Hawick 2018),
/// path compression, then a raster-order relabelling to 1..count. Every root is its component's
/// smallest linear index, so the numbering is the raster order of each component's first voxel —
/// exactly scipy.ndimage.label's — and the result is the CPU's bit for bit, whatever the order
/// the GPU's threads ran in. labels: i32 [D,H,W] (0 = background). Returns the count.
/// `sizes` (host, optional) receives the voxel count of labels 1..count (sizes[l-1]);
/// `device_sizes` (optional) receives the same counts on the device, e.g. for
/// remove_small_components. Synchronises with `stream` (the count comes back to the host).
/// Throws uad::Error for another connectivity, negative dims or ≥ 2^31 voxels.
int64_t label_components(const uint8_t* mask, int32_t* labels, int64_t D, int64_t H, int64_t W, int connectivity = 26,
                         std::vector<int64_t>* sizes = nullptr, void* stream = nullptr,
                         DeviceArray<int64_t>* device_sizes = nullptr);

/// mask_out[i] = 1 where labels[i] ≥ 1 and sizes_device[labels[i] − 1] ≥ min_voxels, else 0
/// (u8, i < n): drops the components of fewer than min_voxels voxels (the paper's filter is
/// min_voxels = 8, i.e. "filled_area ≤ 7 removed", domain_spec §1.4). labels: i32 from
/// label_components; sizes_device: `count` int64 device counts (its device_sizes). Labels outside
/// 0..count are a caller error (not checked on the device).
void remove_small_components(const int32_t* labels, const int64_t* sizes_device, int64_t count, uint8_t* mask_out,
                             int64_t n, int64_t min_voxels, void* stream = nullptr);

}  // namespace uad::cuda
