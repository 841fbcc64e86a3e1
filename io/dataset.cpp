// `uad data prepare`: subjects → splits → augmented / anomalous samples → views → NIfTI files and
// manifest.json (see io/dataset.h for the split scheme).
#include "io/dataset.h"

// GCC 12 reports false -Wmaybe-uninitialized warnings inside nlohmann::json's iterators.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unistd.h>

#include "io/anomaly.h"
#include "io/dataset_plan.h"
#include "io/dataset_preview.h"
#include "io/manifest.h"
#include "tensor/allocator.h"
#include "train/progress.h"

namespace uad::io {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

const char* kMarker = ".uad-prepare-in-progress";

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

/// Runs file writes on background threads (gzip compression, the dominant cost, overlaps the
/// next sample's computation). At most `max_pending` jobs wait; the first error is rethrown by
/// push() or finish(), and later jobs are skipped.
class AsyncWriter {
 public:
  AsyncWriter(int threads, size_t max_pending) : max_(max_pending) {
    for (int t = 0; t < threads; ++t) th_.emplace_back([this] { run(); });
  }
  ~AsyncWriter() { stop(true); }
  void push(std::function<void()> f) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return q_.size() < max_ || done_ || err_; });
    if (err_) std::rethrow_exception(err_);
    q_.push_back(std::move(f));
    cv_.notify_all();
  }
  void finish() {
    stop(false);
    if (err_) std::rethrow_exception(err_);
  }

 private:
  void stop(bool abort) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (abort) q_.clear();
      done_ = true;
      cv_.notify_all();
    }
    for (auto& t : th_)
      if (t.joinable()) t.join();
  }
  void run() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return !q_.empty() || done_; });
        if (q_.empty()) return;
        f = std::move(q_.front());
        q_.pop_front();
        cv_.notify_all();
        if (err_) continue;
      }
      try {
        f();
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!err_) err_ = std::current_exception();
        cv_.notify_all();
      }
    }
  }
  size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool done_ = false;
  std::exception_ptr err_;
  std::vector<std::thread> th_;
};

/// Distinct values among the brain voxels (counting stops at `cap`) and the share of the brain
/// voxels holding the most common one (0 when the count reached `cap`).
std::pair<int, double> brain_value_levels(const Tensor& image, const Tensor& brain, int cap) {
  const float* p = image.data<float>();
  const uint8_t* m = brain.data<uint8_t>();
  std::map<float, int64_t> counts;
  int64_t n = 0;
  for (int64_t i = 0; i < image.numel(); ++i) {
    if (!m[i]) continue;
    ++n;
    if (++counts[p[i]] == 1 && (int)counts.size() >= cap) return {cap, 0.0};
  }
  int64_t top = 0;
  for (const auto& [v, c] : counts) top = std::max(top, c);
  return {(int)counts.size(), n ? (double)top / (double)n : 0.0};
}

std::vector<std::string> preprocessing_doc(const PrepareOptions& o) {
  char buf[256];
  std::vector<std::string> d = {
      "1. read_nifti: float32 [Z,Y,X] (tensor axis 0 = NIfTI k), scl_slope/scl_inter applied",
      "2. reorient_to_ras: axes permuted/flipped so that x runs L->R, y P->A, z I->S (no interpolation)",
      "3. brain mask: from the mask file (> 0, same grid) or image > 0 for skull-stripped input",
  };
  std::snprintf(buf, sizeof buf, "4. crop to the brain bounding box grown by %.1f mm per side (header origin follows)",
                o.preprocess.margin_mm);
  d.push_back(buf);
  if (o.preprocess.working_spacing_mm > 0) {
    std::snprintf(buf, sizeof buf,
                  "5. working grid coarsened to >= %.2f mm per axis (trilinear, Gaussian anti-aliasing; masks linear >= 0.5)",
                  o.preprocess.working_spacing_mm);
    d.push_back(buf);
  } else {
    d.push_back("5. working grid = native voxel size (no resampling before augmentation)");
  }
  std::snprintf(buf, sizeof buf,
                "6. intensity: divide by the %.0fth percentile of brain voxels, clip to [0,1], background 0 (per modality)",
                o.preprocess.percentile);
  d.push_back(buf);
  d.push_back("augmentation (train/val/val_labelled): io/augment.h augment_healthy on the working grid; image then re-masked to the warped brain and clipped to [0,1]");
  d.push_back("anomalies: io/anomaly.h make_anomaly on the working grid (sizes in mm); anomaly mask = voxels changed");
  d.push_back("7. per view: crop to the sample's brain bounding box (no margin)");
  d.push_back("8. resample keeping the aspect ratio: one pixel size p = max(extent mm / frame voxels) over the resized axes "
              "(slices: y, x only; volumes: z, y, x); trilinear with Gaussian anti-aliasing sigma = (f-1)/2 input voxels; "
              "masks: the same resampling of the 0/1 mask, then >= 0.5");
  d.push_back("9. zero padding, centred, to the frame (S x S slices or S^3 volume)");
  std::snprintf(buf, sizeof buf,
                "10. slices: usable axial slices have brain on >= %.0f%% of the S x S frame; the stack spans the first to the last usable slice",
                100.0 * o.min_brain_fraction);
  d.push_back(buf);
  return d;
}

const std::map<std::string, std::string>& split_descriptions() {
  static const std::map<std::string, std::string> d = {
      {"train", "healthy training subjects: clean volume + augmented copies"},
      {"val", "healthy validation: fresh augmented copies of the validation subjects"},
      {"val_labelled", "synthetic anomalies (all types) on fresh augmented copies of the validation subjects; for operating points"},
      {"test_healthy", "healthy test subjects, clean (never trained or validated on)"},
      {"test_intensity", "MOOD intensity anomalies (uniform_addition, noise_addition, uniform_shift, local_blur) on the clean test subjects"},
      {"test_spatial", "MOOD spatial anomalies (sink/source deformation, reflection, slice_shuffle) on the clean test subjects"},
      {"test_lesion", "lesion-like synthetic anomalies (ms_lesions, tumour_mass) on the clean test subjects"},
      {"test_real_lesions", "patients with real lesions and expert lesion masks (MSLUB, --patient)"},
  };
  return d;
}

void prepare_output(const fs::path& out, const fs::path& tmp, bool overwrite) {
  check(!fs::exists(out) || overwrite, "data prepare: the output folder ", out.string(),
        " already exists (pass --overwrite to replace it)");
  check(!fs::exists(out) || fs::is_directory(out), "data prepare: ", out.string(), " exists and is not a folder");
  if (fs::exists(tmp)) {
    check(fs::exists(tmp / kMarker), "data prepare: ", tmp.string(),
          " exists and is not a leftover of an interrupted prepare; remove it first");
    std::error_code ec;
    fs::remove_all(tmp, ec);
    check(!ec, "data prepare: cannot remove the leftover ", tmp.string(), ": ", ec.message());
  }
  std::error_code ec;
  fs::create_directories(tmp, ec);
  check(!ec, "data prepare: cannot create the output folder ", tmp.string(), ": ", ec.message());
  std::ofstream m(tmp / kMarker);
  m << "uad data prepare pid " << ::getpid() << "\n";
  m.flush();
  if (!m) {
    fs::remove_all(tmp, ec);
    fail("data prepare: the output folder ", tmp.string(), " is not writable");
  }
}

int64_t folder_bytes(const fs::path& p) {
  int64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(p))
    if (e.is_regular_file()) n += (int64_t)e.file_size();
  return n;
}

}  // namespace

PrepareReport prepare_dataset(const PrepareOptions& opt) {
  const PrepareOptions o = effective_options(opt);
  std::vector<ViewSpec> views;
  std::set<std::string> seen_views;
  for (const auto& v : o.views) {
    views.push_back(parse_view(v, o.min_brain_fraction));
    check(seen_views.insert(v).second, "data prepare: view ", v, " requested twice");
  }

  const DatasetPlan dp = plan_dataset(o);
  const auto& plan = dp.subjects;
  const auto& jobs = dp.samples;
  std::vector<std::string> notes = dp.notes;

  // ---- build into <out>.tmp ----------------------------------------------------------------
  const fs::path out = fs::path(o.out_dir).lexically_normal();
  const fs::path outp = out.filename().empty() ? out.parent_path() : out;
  const fs::path tmp = outp.string() + ".tmp";
  prepare_output(outp, tmp, o.overwrite);
  PrepareReport rep;
  rep.out_dir = outp.string();
  std::optional<train::ProgressBar> bar;
  if (o.progress) bar.emplace((int64_t)(jobs.size() + plan.size()), "prepare");
  const auto t0 = std::chrono::steady_clock::now();
  auto tick = [&](int64_t done, const std::string& status) {
    if (bar) bar->update(done, status);
  };
  Manifest man;
  man.seed = o.seed;
  man.created_by = "uad data prepare";
  man.preprocessing = preprocessing_doc(o);
  for (const auto& v : views) man.views[v.name] = {v.slices, v.size, v.min_brain_fraction};
  try {
    {
      Json oj;
      oj["healthy"] = o.healthy.empty() ? default_healthy_paths() : o.healthy;
      oj["patients"] = o.patients;
      oj["shared_data"] = o.shared_data;
      oj["seed"] = o.seed;
      oj["augment_copies"] = o.augment_copies;
      oj["val_copies"] = o.val_copies;
      oj["val_anomalies_per_type"] = o.val_anomalies_per_type;
      oj["test_anomalies_per_type"] = o.test_anomalies_per_type;
      oj["views"] = o.views;
      oj["min_brain_fraction"] = o.min_brain_fraction;
      oj["quick"] = o.quick;
      oj["margin_mm"] = o.preprocess.margin_mm;
      oj["working_spacing_mm"] = o.preprocess.working_spacing_mm;
      oj["percentile"] = o.preprocess.percentile;
      const auto& a = o.augment;
      oj["augment"] = {{"max_rotation_deg", a.max_rotation_deg}, {"max_scale", a.max_scale},
                       {"max_translation_mm", a.max_translation_mm}, {"elastic_alpha_mm", a.elastic_alpha_mm},
                       {"elastic_sigma_mm", a.elastic_sigma_mm}, {"gamma_log_range", a.gamma_log_range},
                       {"bias_field_strength", a.bias_field_strength}, {"noise_std", a.noise_std}};
      man.options_json = oj.dump();
    }
    AsyncWriter writer(2, 4);  // 2 threads: gzip is ~60 % of the work (measured)
    std::set<std::string> made_dirs;
    Json subjects = Json::array();
    int64_t step = 0;
    for (size_t si = 0; si < plan.size(); ++si) {
      const PlannedSubject& ps = plan[si];
      tick(step, "loading " + ps.src.id);
      const Subject sub = load_subject(ps.src, o.preprocess);
      ++step;
      const auto sp = sub.spacing_zyx();
      {
        Json sj;
        sj["id"] = ps.src.id;
        sj["role"] = role_name(ps.role);
        sj["origin"] = ps.origin;
        sj["image"] = ps.src.image;
        sj["modality"] = ps.src.modality;
        sj["brain_mask"] = ps.src.brain_mask;
        sj["lesion_mask"] = ps.src.lesion_mask;
        sj["extra_modalities"] = ps.src.extra_modalities;
        sj["raw_shape_zyx"] = sub.raw_shape_zyx;
        sj["raw_spacing_zyx"] = sub.raw_spacing_zyx;
        sj["raw_orientation"] = sub.raw_orientation;
        sj["raw_percentile"] = sub.raw_percentile;
        sj["working_shape_zyx"] = sub.image.data.shape();
        sj["working_spacing_zyx"] = sp;
        const auto [levels, top] = brain_value_levels(sub.image.data, sub.brain, 64);
        sj["distinct_brain_intensities"] = levels < 64 ? Json(levels) : Json(">=64");
        if (levels < 16) {
          char buf[320];
          std::snprintf(buf, sizeof buf,
                        "subject %s has only %d distinct intensity levels in the brain and %.0f%% of its brain voxels "
                        "share one value: a quantised image with little anatomical contrast, unlike the other subjects",
                        ps.src.id.c_str(), levels, 100.0 * top);
          notes.push_back(buf);
        }
        subjects.push_back(sj);
      }
      for (const PlannedSample& job : jobs) {
        if (job.subject != si) continue;
        tick(step, job.id);
        SampleEntry e;
        e.id = job.id;
        e.split = job.split;
        e.subject = ps.src.id;
        e.seed = splitmix64(o.seed ^ splitmix64(fnv1a(job.id)));
        Generator g(e.seed);
        Json src;
        src["image"] = ps.src.image;
        src["brain_mask"] = ps.src.brain_mask;
        src["lesion_mask"] = ps.src.lesion_mask;
        src["extra_modalities"] = ps.src.extra_modalities;
        src["working_spacing_zyx"] = sp;
        e.source_json = src.dump();
        Tensor image = sub.image.data, brain = sub.brain, anomaly;
        if (job.augment) {
          Augmented a = augment_healthy(image, brain, sp, o.augment, g);
          brain = a.mask.to(DType::u8).contiguous();
          image = apply_brain_mask(a.image, brain);
          e.augmentation_json = a.params_json;
        }
        if (job.anomaly >= 0) {
          SyntheticAnomaly s = make_anomaly(image, brain, (AnomalyType)job.anomaly, sp, g);
          image = s.image;
          anomaly = s.mask.to(DType::u8).contiguous();
          e.anomaly_type = anomaly_name(s.type);
          e.anomaly_family = anomaly_family(s.type);
          e.anomaly_json = s.params_json;
        }
        if (job.real_lesion) {
          anomaly = sub.lesion;
          e.anomaly_type = "real_lesion";
          e.anomaly_family = "real";
          Json lj;
          lj["lesion_mask"] = ps.src.lesion_mask;
          e.anomaly_json = lj.dump();
        }
        const std::map<std::string, Tensor> no_extra;
        for (const auto& vs : views) {
          auto v = std::make_shared<View>(make_view(image, sub.image.header, brain, anomaly,
                                                    job.real_lesion ? sub.extra : no_extra, vs));
          const std::string rel_dir = vs.name + "/" + job.split;
          if (made_dirs.insert(rel_dir).second) {
            std::error_code ec;
            fs::create_directories(tmp / rel_dir, ec);
            check(!ec, "data prepare: cannot create ", (tmp / rel_dir).string(), ": ", ec.message());
          }
          const std::string base = rel_dir + "/" + job.id;
          ViewEntry ve;
          ve.image = base + "_image.nii.gz";
          ve.brain = base + "_brain.nii.gz";
          ve.anomaly = base + "_anomaly.nii.gz";
          ve.modalities[ps.src.modality] = ve.image;
          for (const auto& [name, t] : v->extra) ve.modalities[name] = base + "_" + name + ".nii.gz";
          ve.shape = v->image.data.shape();
          const auto& pd = v->image.header.pixdim;
          ve.spacing_zyx = {pd[2], pd[1], pd[0]};
          ve.pixel_mm = v->pixel_mm;
          ve.brain_voxels = v->brain_voxels;
          ve.anomaly_voxels = v->anomaly_voxels;
          ve.slices = v->slices;
          ve.brain_fraction = v->brain_fraction;
          ve.anomaly_pixels = v->anomaly_pixels;
          auto& counts = rep.splits[job.split];
          if (vs.slices) counts.slices[vs.name] += (int64_t)v->slices.size();
          writer.push([v, ve, tmp] {
            write_nifti((tmp / ve.image).string(), v->image, NiftiWriteType::f32);
            write_nifti((tmp / ve.brain).string(), v->brain, v->image.header, NiftiWriteType::u8);
            write_nifti((tmp / ve.anomaly).string(), v->anomaly, v->image.header, NiftiWriteType::u8);
            for (const auto& [name, t] : v->extra)
              write_nifti((tmp / ve.modalities.at(name)).string(), t, v->image.header, NiftiWriteType::f32);
          });
          e.views[vs.name] = std::move(ve);
        }
        rep.splits[job.split].samples++;
        man.samples.push_back(std::move(e));
        ++step;
        cpu_empty_cache();  // sizes vary per sample: do not let the allocator's cache grow to GiBs
      }
    }
    tick(step, "writing");
    writer.finish();
    man.subjects_json = subjects.dump();
    for (const auto& [name, c] : rep.splits) {
      SplitInfo si;
      si.description = split_descriptions().at(name);
      si.labelled = name != "train" && name != "val";
      si.samples = c.samples;
      std::set<std::string> subj;
      for (const auto& s : man.samples)
        if (s.split == name) subj.insert(s.subject);
      si.subjects.assign(subj.begin(), subj.end());
      man.splits[name] = si;
    }
    man.notes = notes;
    write_manifest(tmp.string(), man);
    write_dataset_previews(tmp.string());  // <out>/previews/*.png, part of the atomic result
    fs::remove(tmp / kMarker);
    // ---- publish: <out>.tmp → <out> (an existing <out> is replaced only now) ----------------
    if (fs::exists(outp)) {
      const fs::path old = outp.string() + ".old." + std::to_string(::getpid());
      fs::rename(outp, old);
      fs::rename(tmp, outp);
      std::error_code ec;
      fs::remove_all(old, ec);
    } else {
      fs::rename(tmp, outp);
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  rep.notes = notes;
  rep.bytes = folder_bytes(outp);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (bar) bar->finish(std::to_string(man.samples.size()) + " samples");
  return rep;
}

}  // namespace uad::io
