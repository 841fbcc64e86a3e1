// 3-D binary morphology on [Z,Y,X] masks with scipy.ndimage semantics (binary_erosion /
// binary_dilation with border_value=0, origin at the structuring element's centre).
#pragma once
#include "tensor/tensor.h"

namespace uad::io {

/// A 3-D structuring element: a u8 [a,b,c] tensor with odd sizes, centred at (a/2, b/2, c/2);
/// nonzero entries are the neighbourhood.
struct StructuringElement {
  Tensor mask;

  /// n = 6, 18 or 26: the face, face+edge or full neighbourhood plus the centre, 3×3×3 — scipy's
  /// generate_binary_structure(3, 1), (3, 2), (3, 3) respectively. Throws for any other n.
  static StructuringElement connectivity(int n);
  /// All voxels with dz² + dy² + dx² ≤ r² (voxel units), (2r+1)³. Throws when r < 0.
  static StructuringElement ball(int radius);
  /// Any odd-sized 3-D mask (any dtype, nonzero = in). Throws on even sizes or an empty mask.
  static StructuringElement from_mask(const Tensor& m);
};

/// Binary erosion of a [Z,Y,X] mask (any dtype, nonzero = true): out(p) = 1 iff in(p + s) for
/// every offset s of the element; voxels outside the volume count as 0 (scipy border_value=0),
/// repeated `iterations` times; iterations ≤ 0 repeats until nothing changes (scipy semantics).
/// Returns u8 0/1. Separable along x (runs of each element row), vectorised, OpenMP over slices.
/// Throws on a non-3-D input.
Tensor binary_erosion(const Tensor& mask, const StructuringElement& se, int iterations = 1);

/// Binary dilation: out(p) = 1 iff in(p − s) for some offset s (the element reflected, as scipy),
/// outside voxels count as 0; iterations as binary_erosion. Returns u8 0/1.
Tensor binary_dilation(const Tensor& mask, const StructuringElement& se, int iterations = 1);

}  // namespace uad::io
