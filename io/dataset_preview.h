// PNG previews of a prepared dataset (`uad data prepare` writes them into <out>/previews/), so a
// reader can look at what was built without a NIfTI viewer. Everything is read back through
// manifest.json (io/manifest.h), i.e. the previews show the files as written.
//
// Display convention — RADIOLOGICAL: axial slices seen from the patient's feet, anterior at the
// top of the picture and the patient's LEFT on the picture's RIGHT. The flips are derived from
// each view file's orientation code (views are RAS after io/views.h step 2: tensor axis 2 = x
// runs L→R, axis 1 = y runs P→A, so both in-plane axes are flipped for display). Grey window
// [0, 1] (the views' intensity range, io/views.h step 6). Panels smaller than
// `PreviewOptions::min_panel` pixels are enlarged by an integer factor (nearest neighbour), and
// panels are separated by a 4-pixel mid-grey bar.
//
// Files written (the set depends on the splits present):
//   anomaly_<type>.png   one per synthetic anomaly type: [healthy source | anomalous] at the axial
//                        slice with the largest anomaly area, the anomaly mask as a red (255,0,0)
//                        one-pixel outline on the anomalous panel. The healthy panel needs the
//                        exact anomaly-free source on the same grid, which the dataset stores only
//                        for the clean test subjects (test_healthy vs test_intensity/_spatial/
//                        _lesion); val_labelled samples are anomalies on augmented copies whose
//                        healthy version is not stored. Choice of the sample, in this order: a
//                        subject with anatomical contrast (not one of the subjects the manifest
//                        records with < 16 distinct brain intensities, such as the quantised ITK
//                        example T1), then one with a stored clean source (healthy panel shown),
//                        then manifest order (val_labelled first; anomalous panel only).
//   train.png            the clean training volume (first train sample without augmentation, else
//                        the first train sample) at `train_slices` depths evenly spread over the
//                        usable slices (inferior → superior, left → right), brain mask as a green
//                        (0,255,0) outline.
//   test_real_lesions.png  when that split exists (MSLUB, --patient): the first real-lesion sample at
//                        the slice with the most lesion pixels, one panel per stored modality
//                        (primary first, then the others by name), lesion mask as a red outline.
//   README.txt           what each picture shows (sample id, split, view, slice index) and the
//                        display convention.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace uad::io {

struct PreviewOptions {
  /// View to draw from; "" = slices256 if present, else slices128, else the largest slice view,
  /// else the largest volume view (its axial planes).
  std::string view;
  int train_slices = 4;     ///< panels in train.png (fewer when the volume has fewer usable slices)
  int64_t min_panel = 128;  ///< panels are enlarged (integer factor, nearest) to at least this many pixels
};

/// One written preview.
struct PreviewFile {
  std::string path;         ///< relative to the dataset folder, e.g. "previews/train.png"
  std::string description;  ///< one line: sample, split, view, slice, panels
  int64_t height = 0, width = 0;  ///< picture size in pixels
  std::string sample;             ///< id of the sample drawn
  std::string healthy_sample;     ///< anomaly previews: id of the clean source shown, or ""
  std::vector<int64_t> slices;    ///< stack indices drawn (one per panel for train.png)
};

/// Writes the previews listed above into `<dataset_dir>/previews/` (created if needed; each PNG
/// written atomically by io/png.h) and returns them in writing order (README.txt not included).
/// Reads `<dataset_dir>/manifest.json` and the NIfTI files it names.
/// Throws uad::Error when the manifest or a file it names is missing or unreadable, the requested
/// view does not exist, a view file's in-plane axes are not x = L/R and y = A/P (not axial), a mask
/// does not match its image's shape, an anomaly type name has characters other than letters, digits
/// and '_', train_slices < 1 or min_panel < 1, or a write fails.
std::vector<PreviewFile> write_dataset_previews(const std::string& dataset_dir, const PreviewOptions& opt = {});

}  // namespace uad::io
