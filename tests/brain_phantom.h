// A synthetic brain-like volume for the augmentation and anomaly tests (tests/test_augment.cpp,
// tests/test_anomaly.cpp), and Colin27 loading when mricron-data is installed.
#pragma once
#include <cmath>
#include <filesystem>
#include <optional>

#include "io/intensity.h"
#include "io/nifti.h"
#include "tensor/tensor.h"

namespace uad::testing {

struct Phantom {
  Tensor image;  // f32 [Z,Y,X] in [0,1]
  Tensor brain;  // u8
  Tensor wm;     // u8: the inner "white matter" ellipsoid
  std::array<double, 3> spacing{1, 1, 1};
};

/// [60,72,64] at 1 mm: a "brain" ellipsoid (semi-axes 20,25,22 voxels, grey 0.5) holding a brighter
/// "white matter" ellipsoid (11,15,12; 0.85) and a dark off-centre "ventricle" (0.15), with a
/// smooth, left–right asymmetric texture (±0.06) so that reflections and shifts change values.
inline Phantom make_phantom() {
  const int64_t nz = 60, ny = 72, nx = 64;
  Phantom p;
  p.image = zeros({nz, ny, nx});
  p.brain = zeros({nz, ny, nx}, DType::u8);
  p.wm = zeros({nz, ny, nx}, DType::u8);
  float* v = p.image.data<float>();
  uint8_t* b = p.brain.data<uint8_t>();
  uint8_t* w = p.wm.data<uint8_t>();
  const double cz = (nz - 1) / 2.0, cy = (ny - 1) / 2.0, cx = (nx - 1) / 2.0;
  auto inside = [](double dz, double dy, double dx, double az, double ay, double ax) {
    return (dz * dz) / (az * az) + (dy * dy) / (ay * ay) + (dx * dx) / (ax * ax) <= 1.0;
  };
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const double dz = z - cz, dy = y - cy, dx = x - cx;
        const int64_t i = (z * ny + y) * nx + x;
        if (!inside(dz, dy, dx, 20, 25, 22)) continue;
        b[i] = 1;
        double val = 0.5;
        if (inside(dz, dy, dx, 11, 15, 12)) {
          w[i] = 1;
          val = 0.85;
        }
        if (inside(dz - 2, dy + 4, dx - 5, 3, 5, 3)) val = 0.15, w[i] = 0;
        val += 0.04 * std::sin(0.45 * x + 0.3 * y) * std::cos(0.35 * z) + 0.02 * (double)x / nx;
        v[i] = (float)val;
      }
  return p;
}

inline const char* kColinPath = "/usr/share/mricron/templates/ch2bet.nii.gz";

/// Colin27 (ch2bet, 181×217×181 at 1 mm) normalised by its 98th brain percentile to [0,1], with
/// its brain mask (> 0); nullopt when the file is absent.
inline std::optional<Phantom> load_colin() {
  if (!std::filesystem::exists(kColinPath)) return std::nullopt;
  io::NiftiVolume v = io::read_nifti(kColinPath);
  Phantom p;
  p.brain = io::mask_from_image(v.data);
  p.image = io::normalize_percentile(v.data, p.brain, 98.0);
  p.spacing = {v.header.pixdim[2], v.header.pixdim[1], v.header.pixdim[0]};
  return p;
}

}  // namespace uad::testing
