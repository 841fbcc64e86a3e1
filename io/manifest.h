// The JSON manifest (`manifest.json`) of a prepared dataset folder: every file with its split,
// subject, provenance and geometry. Written by prepare_dataset (io/dataset.h), read by the
// loaders (io/loader.h). JSON objects that only carry provenance (augmentation and anomaly
// parameters, source paths) are kept as JSON text here so nlohmann::json stays out of headers.
//
// Layout (all paths relative to the dataset folder):
// {
//   "format": "uad-dataset", "version": 1, "seed": S, "created_by": "...", "options": {...},
//   "preprocessing": ["1. read_nifti ...", ...],
//   "views": {"slices128": {"kind": "slices", "size": 128, "min_brain_fraction": 0.1}, ...},
//   "subjects": [{"id": "colin27", "role": "train", "image": "/usr/share/...", ...}, ...],
//   "splits": {"train": {"description": "...", "subjects": ["colin27"], "samples": 9, "labelled": false}, ...},
//   "samples": [{
//      "id": "train-colin27-aug001", "split": "train", "subject": "colin27", "seed": 123,
//      "source": {...}, "augmentation": {...} | null,
//      "anomaly": {"type": "ms_lesions", "family": "lesion", "params": {...}} | null,
//      "views": {"vol64": {"image": "vol64/train/<id>_image.nii.gz", "brain": "..._brain.nii.gz",
//                          "anomaly": "..._anomaly.nii.gz", "modalities": {"T1": "..."},
//                          "shape": [64,64,64], "spacing_zyx": [..], "pixel_mm": 2.6,
//                          "brain_voxels": n, "anomaly_voxels": n,
//                          "slices": [..], "brain_fraction": [..], "anomaly_pixels": [..]}}}, ...]
// }
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace uad::io {

/// One sample's files in one view. For slice views the image is a stack [S_z,S,S] of axial
/// slices and `slices` lists the stack indices that contain enough brain (the ones to use).
struct ViewEntry {
  std::string image, brain, anomaly;              ///< relative paths (NIfTI)
  std::map<std::string, std::string> modalities;  ///< modality name → relative path (includes the primary)
  Shape shape;                                    ///< tensor shape [Z,Y,X] of the files
  std::array<double, 3> spacing_zyx{};            ///< voxel size (mm) along z, y, x
  double pixel_mm = 0;                            ///< common voxel size of the resized axes (mm)
  int64_t brain_voxels = 0, anomaly_voxels = 0;
  std::vector<int64_t> slices;            ///< slice views: usable stack indices
  std::vector<double> brain_fraction;     ///< slice views: brain fraction of each usable slice
  std::vector<int64_t> anomaly_pixels;    ///< slice views: anomaly pixels of each usable slice
};

/// One sample (a healthy volume, an augmented copy, or a volume with an anomaly).
struct SampleEntry {
  std::string id, split, subject;
  uint64_t seed = 0;                    ///< seed of the sample's own Philox generator
  std::string source_json = "{}";       ///< provenance of the inputs (paths, raw shape, spacing, …)
  std::string augmentation_json = "null";  ///< augment_healthy's params, or null
  std::string anomaly_type;             ///< "" (healthy), an AnomalyType name, or "real_lesion"
  std::string anomaly_family;           ///< "" , "intensity", "spatial", "lesion" or "real"
  std::string anomaly_json = "null";    ///< the anomaly's params, or null
  std::map<std::string, ViewEntry> views;
};

struct SplitInfo {
  std::string description;
  std::vector<std::string> subjects;
  bool labelled = false;  ///< anomaly masks are ground truth (non-empty for anomalous samples)
  int64_t samples = 0;
};

struct ViewInfo {
  bool slices = true;
  int64_t size = 0;
  double min_brain_fraction = 0;
};

struct Manifest {
  int version = 1;
  uint64_t seed = 0;
  std::string created_by;
  std::string options_json = "{}";     ///< the prepare options as given
  std::string subjects_json = "[]";    ///< per-subject provenance and role
  std::vector<std::string> preprocessing;  ///< the preprocessing chain, one documented step per line
  std::vector<std::string> notes;          ///< honest remarks (e.g. validation shares the train subject)
  std::map<std::string, ViewInfo> views;
  std::map<std::string, SplitInfo> splits;
  std::vector<SampleEntry> samples;

  /// Samples of `split` in manifest order.
  std::vector<const SampleEntry*> split_samples(const std::string& split) const;
};

/// Serialises to pretty-printed JSON text.
std::string manifest_to_json(const Manifest& m);
/// Parses manifest JSON text. Throws uad::Error (with `where` in the message) on invalid JSON or a
/// missing/ill-typed required field.
Manifest manifest_from_json(const std::string& text, const std::string& where = "manifest");

/// Writes `<dir>/manifest.json` atomically (temporary file + rename). Throws on a write error.
void write_manifest(const std::string& dir, const Manifest& m);
/// Reads `<dir>/manifest.json`. Throws uad::Error naming the file when it is missing or invalid.
Manifest read_manifest(const std::string& dir);

}  // namespace uad::io
