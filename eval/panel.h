// Pictures of a result for people: one axial slice shown as four panels side by side —
// input | reconstruction | anomaly map (heat colours) | segmentation against the ground truth
// (prediction filled red, ground truth outlined green; overlap looks orange under the outline).
#pragma once
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace uad::eval {

struct PanelOptions {
  int scale = 2;          ///< each pixel drawn scale×scale (nearest), ≥ 1
  double image_max = 1;   ///< grey range of input and reconstruction is [0, image_max]
  double map_max = 0;     ///< heat range of the map is [0, map_max]; ≤ 0 = 2 × threshold (or the slice max)
  double threshold = 0;   ///< the operating point (for map_max's default)
  int gap = 4;            ///< black pixels between panels (before scaling)
  /// Radiological convention, as the dataset previews (io/dataset_preview.h): row H−1 at the top
  /// and column W−1 on the left. Slices of RAS volumes have rows running posterior → anterior and
  /// columns left → right (io/nifti.h), so this shows anterior up and the patient's left on the
  /// picture's right. false: row 0 at the top, column 0 on the left (the array as stored).
  bool radiological = true;
};

/// The axial slice to show: the one with the most ground-truth voxels, else (no truth, or an
/// empty one) the one holding the map's maximum. image/map/truth: [Z,H,W] (truth may be undefined).
int64_t panel_slice(const Tensor& map, const Tensor& truth);

/// Renders slice z of the [Z,H,W] stacks as u8 [scale·H, scale·(4W + 3·gap), 3]. truth may be
/// undefined (no outline). Throws uad::Error when shapes differ, z is out of range or options are
/// invalid.
Tensor render_panel(const Tensor& image, const Tensor& recon, const Tensor& map, const Tensor& segmentation,
                    const Tensor& truth, int64_t z, const PanelOptions& o = {});

/// The heat colour of t ∈ [0,1] (clamped): black → red → yellow → white.
void heat_colour(double t, uint8_t rgb[3]);

}  // namespace uad::eval
