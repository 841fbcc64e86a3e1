// `uad data prepare`: builds a dataset folder of NIfTI views plus manifest.json from healthy
// volumes (augmented) and patients with lesion masks (issue 4, item 6).
//
// Subjects and splits — subjects never cross between training/validation and test:
//   * Healthy subjects H, in the order given (default: Colin27 then the ITK example T1). With
//     |H| ≥ 2 the last max(1, |H|/4) subjects are TEST subjects; the rest R are training
//     subjects. With |R| ≥ 3 the last max(1, |R|/4) of R become VALIDATION subjects (disjoint from
//     train); with fewer, validation uses NEW augmentation draws of the training subjects — same
//     anatomy as train, never seen as such; the manifest says so in its "notes". With the defaults
//     this means: Colin27 → train, val, val_labelled; ITK T1 → test only.
//   * ../shared/data (when given): the IXI subject is an extra healthy TEST subject (never trained
//     on); the MSLUB patient07 (T1 primary + T1POST, T2, FLAIR, GOLD_STANDARD lesion mask) joins
//     the real-lesion test split, as do `--patient IMAGE:MASK` volumes.
//
//   train             training subjects: the clean volume + `augment_copies` augmented copies each
//   val               healthy: `val_copies` augmented copies per validation subject (fresh draws)
//   val_labelled      synthetic anomalies (every type, `val_anomalies_per_type` each) on fresh
//                     augmented copies of the validation subjects — for choosing operating points
//   test_healthy      each test subject, clean (no augmentation)
//   test_intensity    MOOD intensity anomalies on the clean test subjects: uniform_addition,
//                     noise_addition, uniform_shift, local_blur (`test_anomalies_per_type` each)
//   test_spatial      MOOD spatial anomalies: sink_deformation, source_deformation, reflection,
//                     slice_shuffle
//   test_lesion       lesion-like synthetic anomalies: ms_lesions, tumour_mass
//   test_real_lesions real lesions with expert masks (MSLUB, --patient)
// A split with no sample is omitted. Every sample has its own Philox generator seeded from
// (seed, sample id), so a sample's content does not depend on which other samples are built.
//
// Files: <out>/<view>/<split>/<sample id>_{image,brain,anomaly}.nii.gz (+ _<MODALITY>.nii.gz for
// extra modalities): image f32 in [0,1], masks u8 0/1 (anomaly all zero for healthy samples).
// The dataset is built in <out>.tmp and renamed to <out> at the end, so <out> never holds a
// half-written dataset; on any error <out>.tmp is removed.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/anomaly.h"
#include "io/augment.h"
#include "io/views.h"

namespace uad::io {

struct PrepareOptions {
  std::string out_dir;
  /// Healthy inputs: "IMAGE" or "IMAGE:BRAINMASK" files, or folders (every *.nii / *.nii.gz in
  /// it, sorted by name, brain = image > 0). Empty → default_healthy_paths(). The primary
  /// modality is named "T1" for the Debian and ../shared/data T1s and "image" for user files.
  std::vector<std::string> healthy;
  /// Patients: "IMAGE:LESIONMASK" or "IMAGE:LESIONMASK:BRAINMASK".
  std::vector<std::string> patients;
  std::string shared_data;     ///< ../shared/data folder, or "" for none
  uint64_t seed = 0;
  int augment_copies = 8;      ///< augmented training copies per training subject (plus the clean one)
  int val_copies = 2;          ///< healthy validation copies per validation subject
  int val_anomalies_per_type = 1;
  int test_anomalies_per_type = 2;
  std::vector<std::string> views{"slices128", "slices256", "vol64"};
  double min_brain_fraction = 0.10;  ///< slice views, see io/views.h step 10
  /// Tiny dataset for tests: working grid ≥ 2 mm, 1 augmented copy, 1 validation copy, and only
  /// the first anomaly type of each family (uniform_addition, sink_deformation, ms_lesions), once.
  bool quick = false;
  bool overwrite = false;      ///< replace an existing <out> (only after the new one is complete)
  bool progress = true;        ///< progress bar on stderr
  PreprocessOptions preprocess;
  AugmentOptions augment;
};

struct SplitCounts {
  int64_t samples = 0;
  std::map<std::string, int64_t> slices;  ///< usable slices per slice view
};

struct PrepareReport {
  std::string out_dir;
  double seconds = 0;
  std::map<std::string, SplitCounts> splits;
  std::vector<std::string> notes;
  int64_t bytes = 0;  ///< total size of the files written
};

/// The default healthy volumes from Debian packages: Colin27 (mricron-data) and the ITK example
/// T1 (insighttoolkit5-examples).
std::vector<std::string> default_healthy_paths();

/// The anomaly family of a type: "intensity", "spatial" or "lesion" (see the split list above).
std::string anomaly_family(AnomalyType t);

/// Builds the dataset. Inputs are checked first (every file exists and has a readable NIfTI
/// header), before anything is created. Throws uad::Error with one clear message when an input
/// is missing or unreadable, <out> exists without `overwrite`, <out>.tmp exists and is not a
/// leftover of an earlier prepare, the output folder cannot be created or written, or an option
/// is out of range; <out> is then unchanged and <out>.tmp removed.
PrepareReport prepare_dataset(const PrepareOptions& opt);

}  // namespace uad::io
