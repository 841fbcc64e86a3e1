// A tiny prepared dataset for the trainer tests (test_trainer, test_gan_trainer,
// test_vaegan_trainer): NIfTI stacks of smooth Gaussian blobs and a manifest, written in a second.
#pragma once
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "io/manifest.h"
#include "io/nifti.h"
#include "tensor/generator.h"
#include "tensor/ops.h"

namespace uad::test {

/// One sample of Z slices S×S: 1–2 Gaussian blobs per slice, centres from g.
inline std::vector<float> blobs(int64_t Z, int64_t S, Generator& g) {
  const Tensor u = rand({Z, 6}, g, DType::f64);
  const double* up = u.data<double>();
  std::vector<float> img(Z * S * S);
  const double r = S / 16.0;
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        double v = 0;
        for (int k = 0; k < 2; ++k) {
          const double cy = r * (3 + 10 * up[z * 6 + 3 * k]), cx = r * (3 + 10 * up[z * 6 + 3 * k + 1]);
          const double a = k == 0 ? 0.9 : 0.6 * up[z * 6 + 3 * k + 2];
          v += a * std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (12.0 * r * r));
        }
        img[(z * S + y) * S + x] = (float)std::min(1.0, v);
      }
  return img;
}

/// view "slices16": train = 3 samples × 8 slices (24 items, 3 batches of 8), val = 1 × 8; or
/// view "vol64": train = 2 volumes 64³, val = 1.
inline void write_tiny_dataset(const std::string& dir, bool volumes) {
  namespace fs = std::filesystem;
  using namespace uad::io;
  fs::remove_all(dir);
  fs::create_directories(fs::path(dir) / "s");
  Manifest m;
  const std::string view = volumes ? "vol64" : "slices16";
  const int64_t Z = volumes ? 64 : 8, S = volumes ? 64 : 16, n_train = volumes ? 2 : 3;
  m.views[view] = {!volumes, S, 0.1};
  m.splits["train"] = {"tiny train", {"a"}, false, n_train};
  m.splits["val"] = {"tiny val", {"a"}, false, 1};
  const NiftiHeader h = make_nifti_header({Z, S, S});
  Generator g(42);
  for (int s = 0; s <= n_train; ++s) {
    const std::string split = s < n_train ? "train" : "val";
    const std::string id = split + std::to_string(s), base = "s/" + id;
    std::vector<double> ones(Z * S * S, 1.0), zero(Z * S * S, 0.0);
    write_nifti(dir + "/" + base + "_image.nii.gz", from_vector_f32(blobs(Z, S, g), {Z, S, S}), h);
    write_nifti(dir + "/" + base + "_brain.nii.gz", from_vector(ones, {Z, S, S}, DType::u8), h, NiftiWriteType::u8);
    write_nifti(dir + "/" + base + "_anomaly.nii.gz", from_vector(zero, {Z, S, S}, DType::u8), h, NiftiWriteType::u8);
    SampleEntry e;
    e.id = id;
    e.split = split;
    e.subject = "a";
    ViewEntry v;
    v.image = base + "_image.nii.gz";
    v.brain = base + "_brain.nii.gz";
    v.anomaly = base + "_anomaly.nii.gz";
    v.modalities = {{"T1", v.image}};
    v.shape = {Z, S, S};
    v.spacing_zyx = {1, 1, 1};
    if (!volumes) {
      for (int64_t z = 0; z < Z; ++z) v.slices.push_back(z);
      v.brain_fraction.assign(Z, 1.0);
      v.anomaly_pixels.assign(Z, 0);
    }
    e.views[view] = v;
    m.samples.push_back(e);
  }
  write_manifest(dir, m);
}

}  // namespace uad::test
