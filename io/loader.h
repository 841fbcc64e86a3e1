// Mini-batch loaders over a prepared dataset split (io/dataset.h, manifest.json): slices
// [N,1,H,W] or volumes [N,1,D,H,W] with their brain and anomaly masks, shuffled per epoch,
// assembled ahead of time by one background prefetch thread into a bounded queue.
//
// Determinism: the order of epoch e is a Fisher–Yates shuffle driven by a Philox generator with
// state (seed, offset = e·2^32) — it depends only on (seed, e, the split's items), never on thread
// timing; batch b of epoch e always holds the same items. Without shuffle the order is the
// manifest's (samples in order, slices in increasing z).
//
// Usage:
//   io::SliceLoader train(dir, "train", "slices128", {.batch_size = 32, .seed = 1});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     while (auto b = train.next()) step(b->image);   // next() returns nullopt at the epoch's end
//
// Memory: the whole split (images and masks of the chosen view) is read into memory when the
// loader is constructed: 6 bytes per voxel (f32 image + two u8 masks).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/manifest.h"
#include "tensor/tensor.h"

namespace uad::io {

struct LoaderOptions {
  int64_t batch_size = 16;
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = false;    ///< drop the last, smaller batch of each epoch
  int prefetch = 4;          ///< batches assembled ahead (queue capacity, ≥ 1)
  std::string modality = ""; ///< "" = the primary image; else a modality of the view (e.g. "FLAIR")
  int64_t max_epochs = 0;    ///< 0 = unlimited; afterwards next() keeps returning nullopt
};

/// One mini-batch. Shapes: slices [N,1,H,W], volumes [N,1,D,H,W]; N = batch_size except possibly
/// for the last batch of an epoch.
struct Batch {
  Tensor image;    ///< f32 in [0,1]
  Tensor brain;    ///< u8 0/1 brain mask
  Tensor anomaly;  ///< u8 0/1 anomaly mask (all zero for healthy samples)
  std::vector<int64_t> items;  ///< indices into Loader::items(), one per batch entry
  int64_t epoch = 0;           ///< 0-based epoch
  int64_t index = 0;           ///< 0-based batch number within the epoch
};

/// One loadable unit: a usable slice of a sample's stack, or a whole volume (slice = −1).
struct LoaderItem {
  int64_t sample = 0;  ///< index into Loader::samples()
  int64_t slice = -1;  ///< stack index (slice views), −1 for volume views
};

/// The common loader (use SliceLoader / VolumeLoader).
class Loader {
 public:
  /// Reads `<dataset_dir>/manifest.json`, selects the samples of `split` that have `view`, loads
  /// their files and starts the prefetch thread. Throws uad::Error when the manifest is missing or
  /// invalid, the split or view is unknown (the message lists the available ones), the view kind
  /// is not the expected one (`slices`), the split has no item, a file is missing or its shape
  /// differs from the manifest's, the modality is missing, or batch_size/prefetch < 1.
  Loader(const std::string& dataset_dir, const std::string& split, const std::string& view, const LoaderOptions& opt,
         bool slices);
  ~Loader();  ///< stops and joins the prefetch thread (also mid-epoch)
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// The next batch of the current epoch, or nullopt when the epoch is complete (the following
  /// call starts the next epoch) or after max_epochs. Rethrows an error of the prefetch thread.
  /// Throws after close().
  std::optional<Batch> next();
  /// Stops the prefetch thread now (idempotent; the destructor calls it).
  void close();

  int64_t size() const;               ///< items per epoch
  int64_t batches_per_epoch() const;  ///< ceil(size / batch) (floor with drop_last)
  Shape item_shape() const;           ///< [H,W] or [D,H,W]
  const std::vector<LoaderItem>& items() const;
  const std::vector<SampleEntry>& samples() const;  ///< the split's samples (manifest order)
  /// The item order of epoch `e` (what the prefetch thread uses; for tests and logging).
  std::vector<int64_t> epoch_order(int64_t e) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Axial slices of a slice view ("slices128", "slices256"): batches [N,1,H,W]; only the slices the
/// manifest lists as usable (enough brain).
class SliceLoader : public Loader {
 public:
  SliceLoader(const std::string& dataset_dir, const std::string& split, const std::string& view = "slices128",
              const LoaderOptions& opt = {})
      : Loader(dataset_dir, split, view, opt, true) {}
};

/// Whole volumes of a volume view ("vol64"): batches [N,1,D,H,W].
class VolumeLoader : public Loader {
 public:
  VolumeLoader(const std::string& dataset_dir, const std::string& split, const std::string& view = "vol64",
               const LoaderOptions& opt = {})
      : Loader(dataset_dir, split, view, opt, false) {}
};

}  // namespace uad::io
