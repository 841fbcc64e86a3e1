// The plan of `uad data prepare`: which subjects exist, their roles, and the list of samples to
// build (before any voxel is read). The split scheme is documented in io/dataset.h.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "io/dataset.h"

namespace uad::io {

enum class SubjectRole { train, val, test, patient };
const char* role_name(SubjectRole r);  ///< "train", "val", "test", "patient"

struct PlannedSubject {
  SubjectSource src;
  SubjectRole role = SubjectRole::train;
  std::string origin;  ///< "healthy", "shared:ixi", "shared:mslub" or "patient"
};

/// One sample to build: subject `subject` (index into DatasetPlan::subjects), optionally
/// augmented, with an optional synthetic anomaly or the subject's real lesion mask.
struct PlannedSample {
  std::string id, split;
  size_t subject = 0;
  bool augment = false;
  int anomaly = -1;  ///< AnomalyType index, or −1
  bool real_lesion = false;
};

struct DatasetPlan {
  std::vector<PlannedSubject> subjects;
  std::vector<PlannedSample> samples;  ///< grouped by subject, in subject order
  std::vector<std::string> notes;      ///< honest remarks copied into the manifest
};

/// `opt` with --quick applied (copies ≤ 1, working grid ≥ 2 mm). Throws uad::Error when out_dir
/// is empty, a count is negative or no view is requested.
PrepareOptions effective_options(const PrepareOptions& opt);

/// Subjects (healthy inputs, ../shared/data, patients), their roles and the samples, from
/// effective options. Every input file is checked to exist and to have a readable NIfTI header.
/// Throws uad::Error with one clear message naming the subject and file otherwise, on a
/// malformed --healthy/--patient argument, an empty healthy folder, a missing shared folder, or
/// when there is no training subject.
DatasetPlan plan_dataset(const PrepareOptions& opt);

}  // namespace uad::io
