// The plan of `uad data prepare` (see io/dataset_plan.h and io/dataset.h for the split scheme).
#include "io/dataset_plan.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "io/anomaly.h"
#include "io/nifti.h"

namespace uad::io {

namespace fs = std::filesystem;

namespace {

const char* kColin = "/usr/share/mricron/templates/ch2bet.nii.gz";
const char* kItkT1 = "/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1RawSkullStrip.nii.gz";

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool is_nifti_name(const std::string& n) { return ends_with(n, ".nii") || ends_with(n, ".nii.gz"); }

/// File name without folder and .nii/.nii.gz, reduced to [A-Za-z0-9_] (others → '_').
std::string subject_id_from(const std::string& path) {
  std::string n = fs::path(path).filename().string();
  for (const char* ext : {".nii.gz", ".nii"})
    if (ends_with(n, ext)) n.resize(n.size() - std::string(ext).size());
  for (char& c : n)
    if (!std::isalnum((unsigned char)c) && c != '_') c = '_';
  return n.empty() ? "subject" : n;
}

/// Splits "A:B[:C]" when the whole string is not an existing file.
std::vector<std::string> split_colon(const std::string& s) {
  if (fs::exists(s)) return {s};
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(':', start);
    parts.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return parts;
}

std::vector<SubjectSource> parse_healthy(const std::vector<std::string>& args) {
  std::vector<SubjectSource> out;
  for (const auto& a : args) {
    check(!a.empty(), "data prepare: an empty --healthy path");
    if (fs::is_directory(a)) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(a))
        if (e.is_regular_file() && is_nifti_name(e.path().filename().string())) files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      check(!files.empty(), "data prepare: the healthy folder ", a, " holds no .nii or .nii.gz file");
      for (const auto& f : files) {
        SubjectSource s;
        s.id = subject_id_from(f);
        s.image = f;
        s.modality = "image";  // unknown for user files
        out.push_back(s);
      }
      continue;
    }
    const auto parts = split_colon(a);
    check(parts.size() <= 2, "data prepare: --healthy expects IMAGE or IMAGE:BRAINMASK, got '", a, "'");
    SubjectSource s;
    s.image = parts[0];
    if (parts.size() == 2) s.brain_mask = parts[1];
    const bool known = s.image == kColin || s.image == kItkT1;  // the Debian T1s
    s.id = s.image == kColin ? "colin27" : s.image == kItkT1 ? "itk_t1" : subject_id_from(s.image);
    if (!known) s.modality = "image";
    out.push_back(s);
  }
  return out;
}

SubjectSource parse_patient(const std::string& a) {
  const auto parts = split_colon(a);
  check(parts.size() == 2 || parts.size() == 3, "data prepare: --patient expects IMAGE:LESIONMASK or IMAGE:LESIONMASK:BRAINMASK, got '",
        a, "'");
  SubjectSource s;
  s.image = parts[0];
  s.lesion_mask = parts[1];
  if (parts.size() == 3) s.brain_mask = parts[2];
  s.id = "patient_" + subject_id_from(s.image);
  s.modality = "image";
  return s;
}

/// ../shared/data subjects: ixi/<SUBJ>/ (T1 + its brain mask) and mslub/<patient>/ (4 modalities + lesion mask).
void add_shared_subjects(const std::string& dir, std::vector<PlannedSubject>& plan) {
  check(fs::is_directory(dir), "data prepare: the shared data folder ", dir, " does not exist");
  auto sorted_dirs = [](const fs::path& p) {
    std::vector<fs::path> v;
    if (fs::is_directory(p))
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_directory()) v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
  };
  auto files_of = [](const fs::path& p) {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_regular_file() && is_nifti_name(e.path().filename().string())) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const auto& d : sorted_dirs(fs::path(dir) / "ixi")) {
    SubjectSource s;
    for (const auto& f : files_of(d)) {
      const bool t1 = f.find("-T1.nii") != std::string::npos;
      if (t1 && f.find("mask") != std::string::npos) s.brain_mask = (d / f).string();
      else if (t1) s.image = (d / f).string();
    }
    if (s.image.empty()) continue;
    std::string id = d.filename().string();
    std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    s.id = subject_id_from(id);
    plan.push_back({s, SubjectRole::test, "shared:ixi"});
  }
  for (const auto& d : sorted_dirs(fs::path(dir) / "mslub")) {
    SubjectSource s;
    for (const auto& f : files_of(d)) {
      const std::string p = (d / f).string();
      if (f.rfind("T1_", 0) == 0) s.image = p;
      else if (f.rfind("T1POST_", 0) == 0) s.extra_modalities["T1POST"] = p;
      else if (f.rfind("T2_", 0) == 0) s.extra_modalities["T2"] = p;
      else if (f.rfind("FLAIR_", 0) == 0) s.extra_modalities["FLAIR"] = p;
      else if (f.rfind("GOLD_STANDARD", 0) == 0) s.lesion_mask = p;
    }
    if (s.image.empty() || s.lesion_mask.empty()) continue;
    s.id = "mslub_" + subject_id_from(d.filename().string());
    plan.push_back({s, SubjectRole::patient, "shared:mslub"});
  }
}

void check_input(const std::string& path, const std::string& what, const std::string& id) {
  check(!path.empty(), "data prepare: subject '", id, "': empty ", what, " path");
  check(fs::exists(path), "data prepare: ", what, " of subject '", id, "' not found: ", path);
  try {
    (void)read_nifti_header(path);
  } catch (const std::exception& e) {
    fail("data prepare: ", what, " of subject '", id, "' is not a readable NIfTI file: ", e.what());
  }
}


}  // namespace

const char* role_name(SubjectRole r) {
  switch (r) {
    case SubjectRole::train: return "train";
    case SubjectRole::val: return "val";
    case SubjectRole::test: return "test";
    case SubjectRole::patient: return "patient";
  }
  return "?";
}

std::vector<std::string> default_healthy_paths() { return {kColin, kItkT1}; }

std::string anomaly_family(AnomalyType t) {
  switch (t) {
    case AnomalyType::uniform_addition:
    case AnomalyType::noise_addition:
    case AnomalyType::uniform_shift:
    case AnomalyType::local_blur: return "intensity";
    case AnomalyType::sink_deformation:
    case AnomalyType::source_deformation:
    case AnomalyType::reflection:
    case AnomalyType::slice_shuffle: return "spatial";
    case AnomalyType::ms_lesions:
    case AnomalyType::tumour_mass: return "lesion";
  }
  return "?";
}

PrepareOptions effective_options(const PrepareOptions& opt) {
  PrepareOptions o = opt;
  check(!o.out_dir.empty(), "data prepare: --out is required");
  check(o.augment_copies >= 0 && o.val_copies >= 0 && o.val_anomalies_per_type >= 0 && o.test_anomalies_per_type >= 0,
        "data prepare: copy counts must be >= 0");
  check(!o.views.empty(), "data prepare: no view requested");
  if (o.quick) {
    o.augment_copies = std::min(o.augment_copies, 1);
    o.val_copies = std::min(o.val_copies, 1);
    o.val_anomalies_per_type = std::min(o.val_anomalies_per_type, 1);
    o.test_anomalies_per_type = std::min(o.test_anomalies_per_type, 1);
    if (o.preprocess.working_spacing_mm <= 0) o.preprocess.working_spacing_mm = 2.0;
  }
  return o;
}

DatasetPlan plan_dataset(const PrepareOptions& o) {
  // ---- subjects and roles ---------------------------------------------------------------
  std::vector<SubjectSource> healthy = parse_healthy(o.healthy.empty() ? default_healthy_paths() : o.healthy);
  std::vector<PlannedSubject> plan;
  const size_t nh = healthy.size();
  const size_t n_test = nh >= 2 ? std::max<size_t>(1, nh / 4) : 0;
  const size_t nr = nh - n_test;
  const size_t n_val = nr >= 3 ? std::max<size_t>(1, nr / 4) : 0;
  for (size_t i = 0; i < nh; ++i) {
    const SubjectRole r = i >= nr ? SubjectRole::test : i >= nr - n_val ? SubjectRole::val : SubjectRole::train;
    plan.push_back({healthy[i], r, "healthy"});
  }
  if (!o.shared_data.empty()) add_shared_subjects(o.shared_data, plan);
  for (const auto& p : o.patients) plan.push_back({parse_patient(p), SubjectRole::patient, "patient"});
  {
    std::set<std::string> ids;
    for (auto& p : plan) {
      std::string id = p.src.id;
      for (int k = 2; !ids.insert(id).second; ++k) id = p.src.id + "_" + std::to_string(k);
      p.src.id = id;
    }
  }
  for (const auto& p : plan) {
    check_input(p.src.image, "image", p.src.id);
    if (!p.src.brain_mask.empty()) check_input(p.src.brain_mask, "brain mask", p.src.id);
    if (!p.src.lesion_mask.empty()) check_input(p.src.lesion_mask, "lesion mask", p.src.id);
    for (const auto& [m, path] : p.src.extra_modalities) check_input(path, m + " image", p.src.id);
  }
  std::vector<std::string> notes;
  std::vector<size_t> val_subjects;
  bool has_train = false, has_test = false;
  for (size_t i = 0; i < plan.size(); ++i) {
    has_train |= plan[i].role == SubjectRole::train;
    has_test |= plan[i].role == SubjectRole::test;
    if (plan[i].role == SubjectRole::val) val_subjects.push_back(i);
  }
  check(has_train, "data prepare: no healthy training subject");
  if (val_subjects.empty()) {
    for (size_t i = 0; i < plan.size(); ++i)
      if (plan[i].role == SubjectRole::train) val_subjects.push_back(i);
    notes.push_back("val and val_labelled use fresh augmentation draws of the training subject(s) (same anatomy as "
                    "train; fewer than 3 training subjects): they measure fit and set operating points, not "
                    "generalisation to new subjects. Test subjects are disjoint from train/val.");
  }
  if (!has_test) notes.push_back("no healthy test subject (one healthy input, no shared data): test_healthy and the synthetic test splits are omitted");

  // ---- jobs ------------------------------------------------------------------------------
  std::vector<AnomalyType> types;
  for (int t = 0; t < kAnomalyTypeCount; ++t) {
    const auto at = (AnomalyType)t;
    if (o.quick && at != AnomalyType::uniform_addition && at != AnomalyType::sink_deformation &&
        at != AnomalyType::ms_lesions)
      continue;
    types.push_back(at);
  }
  auto num = [](int k) {
    char b[16];
    std::snprintf(b, sizeof b, "%02d", k);
    return std::string(b);
  };
  std::vector<PlannedSample> jobs;
  for (size_t i = 0; i < plan.size(); ++i) {
    const std::string& sid = plan[i].src.id;
    const bool is_val = std::find(val_subjects.begin(), val_subjects.end(), i) != val_subjects.end();
    if (plan[i].role == SubjectRole::train) {
      jobs.push_back({"train-" + sid + "-clean", "train", i});
      for (int c = 1; c <= o.augment_copies; ++c) jobs.push_back({"train-" + sid + "-aug" + num(c), "train", i, true});
    }
    if (plan[i].role == SubjectRole::val) jobs.push_back({"val-" + sid + "-clean", "val", i});
    if (is_val) {
      for (int c = 1; c <= o.val_copies; ++c) jobs.push_back({"val-" + sid + "-aug" + num(c), "val", i, true});
      for (auto t : types)
        for (int c = 0; c < o.val_anomalies_per_type; ++c)
          jobs.push_back({"val_labelled-" + sid + "-" + anomaly_name(t) + num(c), "val_labelled", i, true, (int)t});
    }
    if (plan[i].role == SubjectRole::test) {
      jobs.push_back({"test_healthy-" + sid + "-clean", "test_healthy", i});
      for (auto t : types)
        for (int c = 0; c < o.test_anomalies_per_type; ++c) {
          const std::string split = "test_" + anomaly_family(t);
          jobs.push_back({split + "-" + sid + "-" + anomaly_name(t) + num(c), split, i, false, (int)t});
        }
    }
    if (plan[i].role == SubjectRole::patient) jobs.push_back({"test_real_lesions-" + sid, "test_real_lesions", i, false, -1, true});
  }

  DatasetPlan dp;
  dp.subjects = std::move(plan);
  dp.samples = std::move(jobs);
  dp.notes = std::move(notes);
  return dp;
}

}  // namespace uad::io
