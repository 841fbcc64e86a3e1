// PNG pictures of 2-D slices with coloured mask overlays, for reports (libpng).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace uad::io {

struct Rgb {
  uint8_t r = 255, g = 0, b = 0;
};

/// A binary mask drawn over the picture: filled with `colour` at opacity `alpha` (alpha blend:
/// out = (1−α)·grey + α·colour), or, when `outline`, only its border pixels (mask pixels with a
/// 4-neighbour outside the mask or outside the image) drawn opaque.
struct PngOverlay {
  Tensor mask;  ///< [H,W], any dtype, nonzero = inside
  Rgb colour;
  float alpha = 0.4f;
  bool outline = false;
};

/// Writes a 2-D slice [H,W] (any dtype) as an 8-bit PNG; row 0 is the top row of the picture
/// (no flipping). Grey level = round(255 · clamp((v − lo)/(hi − lo), 0, 1)); NaN is drawn black.
/// Without overlays the PNG is greyscale, with overlays RGB (overlays drawn in order). The file
/// is written to a temporary file in the same directory and renamed, so `path` is never
/// half-written. Throws uad::Error when the slice is not 2-D, hi ≤ lo, an overlay's shape
/// differs, alpha is outside [0,1], or writing fails.
void write_png(const std::string& path, const Tensor& slice, double lo, double hi,
               const std::vector<PngOverlay>& overlays = {});

/// Writes an RGB picture u8 [H,W,3] (row 0 at the top) as an 8-bit PNG, atomically as write_png.
/// Throws uad::Error when the tensor is not u8 [H,W,3] or writing fails.
void write_png_rgb(const std::string& path, const Tensor& rgb);

/// Reads a PNG as u8 [H,W,C] with C = 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA); palettes
/// are expanded to RGB and 16-bit samples reduced to 8. Throws uad::Error naming the file when
/// it is missing or not a valid PNG.
Tensor read_png(const std::string& path);

}  // namespace uad::io
