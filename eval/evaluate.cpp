#include "eval/evaluate.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/operating_point.h"
#include "io/atomic_file.h"
#include "io/manifest.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace uad::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// One sample of the run's view, read from the dataset.
struct LoadedVolume {
  const io::SampleEntry* sample = nullptr;
  io::NiftiVolume image;  ///< f32 [Z,S,S]
  Tensor brain, truth;    ///< u8 [Z,S,S]
};

Tensor to_u8_mask(const Tensor& t) {
  Tensor c = t.to(DType::f32).contiguous();
  Tensor out = empty(c.shape(), DType::u8);
  const float* p = c.data<float>();
  uint8_t* q = out.data<uint8_t>();
  for (int64_t i = 0, n = c.numel(); i < n; ++i) q[i] = p[i] != 0.0f;
  return out;
}

LoadedVolume load_volume(const std::string& dir, const io::SampleEntry& s, const std::string& view) {
  auto it = s.views.find(view);
  check(it != s.views.end(), "evaluate: sample '", s.id, "' has no view '", view, "'");
  const io::ViewEntry& v = it->second;
  LoadedVolume out;
  out.sample = &s;
  out.image = io::read_nifti((fs::path(dir) / v.image).string());
  out.brain = to_u8_mask(io::read_nifti((fs::path(dir) / v.brain).string()).data);
  out.truth = to_u8_mask(io::read_nifti((fs::path(dir) / v.anomaly).string()).data);
  check(out.brain.shape() == out.image.data.shape() && out.truth.shape() == out.image.data.shape(),
        "evaluate: sample '", s.id, "': image ", out.image.data.shape(), ", brain ", out.brain.shape(), " and anomaly ",
        out.truth.shape(), " masks differ in shape");
  return out;
}

/// x̂, anomaly map and (when a threshold is given) the segmentation of one volume.
struct Processed {
  Tensor recon, map, seg;
};

Processed process(const LoadedRun& run, const LoadedVolume& v, const EvalOptions& o, ReconstructStats* st) {
  Processed p;
  p.recon = reconstruct_stack(*run.model, run.spec->input_shape, v.image.data, v.brain, o.map, st);
  p.map = anomaly_map(v.image.data, p.recon, v.brain, o.post);
  return p;
}

/// Map values at the brain voxels.
void append_brain_values(const Tensor& map, const Tensor& brain, std::vector<float>& out) {
  Tensor m = map.to(DType::f32).contiguous();
  const float* a = m.data<float>();
  const uint8_t* b = brain.data<uint8_t>();
  for (int64_t i = 0, n = m.numel(); i < n; ++i)
    if (b[i]) out.push_back(a[i]);
}

std::vector<std::string> test_splits(const io::Manifest& m, const EvalOptions& o, const std::string& dir) {
  std::vector<std::string> out = o.splits;
  if (out.empty()) {
    for (auto& [name, info] : m.splits)
      if (name.rfind("test", 0) == 0) out.push_back(name);
    check(!out.empty(), "evaluate: dataset '", dir, "' has no test split");
  }
  for (const std::string& s : out) {
    if (m.splits.count(s)) continue;
    std::string names;
    for (auto& [name, info] : m.splits) names += (names.empty() ? "" : ", ") + name;
    fail("evaluate: dataset '", dir, "' has no split '", s, "'; available: ", names);
  }
  return out;
}

std::string dataset_of(const LoadedRun& run, const EvalOptions& o) {
  const std::string d = o.data.empty() ? run.config.data : o.data;
  check(!d.empty(), "evaluate: no dataset given and the run '", run.dir, "' names none");
  check(fs::is_regular_file(fs::path(d) / "manifest.json"), "evaluate: '", d,
        "' is not a prepared dataset (no manifest.json); build one with `uad data prepare`");
  return d;
}

std::vector<const io::SampleEntry*> limited(std::vector<const io::SampleEntry*> v, int64_t max_volumes) {
  if (max_volumes > 0 && (int64_t)v.size() > max_volumes) v.resize((size_t)max_volumes);
  return v;
}

std::string fmt_count(double n) {
  std::ostringstream s;
  s.precision(3);
  s << n;
  return s.str();
}

}  // namespace

namespace {

nlohmann::json read_op_file(const std::string& path) {
  if (!fs::is_regular_file(path)) return nlohmann::json::object();
  std::ifstream f(path);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  check(!j.is_discarded() && j.is_object(), "'", path, "' is not a JSON object of operating points");
  return j;
}

}  // namespace

void save_operating_point(const std::string& run_dir, const std::string& method, const OperatingPointInfo& op) {
  const std::string path = (fs::path(run_dir) / "operating_point.json").string();
  nlohmann::json j = read_op_file(path);
  j[method] = {{"method", op.method}, {"threshold", op.threshold}, {"detail", op.detail}};
  io::write_text_file_atomic(path, j.dump(2) + "\n");
}

bool load_operating_point(const std::string& run_dir, const std::string& method, OperatingPointInfo* op) {
  const std::string path = (fs::path(run_dir) / "operating_point.json").string();
  nlohmann::json j = read_op_file(path);
  if (!j.contains(method)) return false;
  const nlohmann::json& e = j[method];
  check(e.is_object() && e.contains("threshold") && e["threshold"].is_number(), "'", path, "': entry '", method,
        "' has no numeric threshold");
  op->threshold = e["threshold"].get<double>();
  op->method = e.value("method", std::string("?"));
  op->detail = e.value("detail", std::string());
  return true;
}

OperatingPointInfo choose_operating_point(const LoadedRun& run, const EvalOptions& opt) {
  const std::string dir = dataset_of(run, opt);
  const io::Manifest m = io::read_manifest(dir);
  const std::string& name = opt.operating_point;
  OperatingPointInfo op;
  op.method = name;
  if (name.rfind("t:", 0) == 0) {
    try {
      op.threshold = std::stod(name.substr(2));
    } catch (...) {
      fail("evaluate: bad fixed threshold '", name, "' (expected t:VALUE, e.g. t:0.1)");
    }
    op.detail = "fixed threshold";
    return op;
  }
  const bool percentile = name.size() > 1 && name[0] == 'p' && name.find_first_not_of("0123456789.", 1) == std::string::npos;
  const bool max_fp = name.rfind("max_fp:", 0) == 0;
  if (!percentile && !max_fp && name != "best_dice_val")
    fail("evaluate: unknown operating point '", name, "'; valid: p98 (or pQ), best_dice_val, max_fp:N, t:VALUE");
  const std::string split = name == "best_dice_val" ? opt.labelled_split : opt.val_split;
  check(m.splits.count(split), "evaluate: operating point '", name, "' needs the split '", split, "', which dataset '", dir,
        "' does not have");
  const auto samples = limited(m.split_samples(split), opt.max_volumes);
  check(!samples.empty(), "evaluate: split '", split, "' of '", dir, "' is empty");
  std::vector<float> healthy;
  VoxelScores labelled;
  for (const io::SampleEntry* s : samples) {
    LoadedVolume v = load_volume(dir, *s, run.config.view);
    Processed p = process(run, v, opt, nullptr);
    if (name == "best_dice_val")
      labelled.add(p.map, v.truth, v.brain);
    else
      append_brain_values(p.map, v.brain, healthy);
  }
  if (percentile) {
    double q = 0;
    try {
      q = std::stod(name.substr(1));
    } catch (...) {
      fail("evaluate: bad percentile operating point '", name, "'");
    }
    check(q > 0 && q < 100, "evaluate: percentile operating point must be in (0, 100), got ", name);
    op.threshold = percentile_threshold(healthy, q);
    op.detail = fmt_count(q) + "th percentile of the anomaly map over " + fmt_count((double)healthy.size()) +
                " brain voxels of split '" + split + "' (" + std::to_string(samples.size()) + " healthy volumes)";
  } else if (max_fp) {
    int64_t n = 0;
    try {
      n = std::stoll(name.substr(7));
    } catch (...) {
      fail("evaluate: bad operating point '", name, "' (expected max_fp:N with N an integer)");
    }
    check(n >= 0, "evaluate: max_fp:N needs N >= 0");
    op.threshold = max_false_positive_threshold(healthy, n * (int64_t)samples.size());
    op.detail = "at most " + std::to_string(n) + " false-positive voxels per healthy volume of split '" + split + "'";
  } else {
    BestDice b = labelled.best_dice(3);
    op.threshold = b.threshold;
    op.detail = "best-Dice threshold (Dice " + fmt_count(b.dice) + ") over " + std::to_string(samples.size()) +
                " volumes of split '" + split + "'";
  }
  return op;
}

RunResult evaluate_run(const LoadedRun& run, const EvalOptions& opt, const std::string& label,
                       const VolumeCallback& on_volume) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(opt.map);
  const std::string dir = dataset_of(run, opt);
  const io::Manifest m = io::read_manifest(dir);
  check(m.views.count(run.config.view), "evaluate: dataset '", dir, "' has no view '", run.config.view,
        "' (the run was trained on it)");
  const std::vector<std::string> splits = test_splits(m, opt, dir);

  RunResult rr;
  rr.run_dir = run.dir;
  rr.model = run.config.model;
  rr.method = map_method_name(opt.map.method);
  rr.approach = !label.empty() ? label
                               : run.name + (opt.map.method == MapMethod::residual ? "" : " (" + rr.method + ")");
  rr.op = choose_operating_point(run, opt);

  int64_t total = 0;
  for (const std::string& s : splits) total += (int64_t)limited(m.split_samples(s), opt.max_volumes).size();
  std::unique_ptr<train::ProgressBar> bar;
  if (opt.progress && total > 0) bar = std::make_unique<train::ProgressBar>(total, "evaluate " + rr.approach);
  int64_t done = 0;

  // Image-level scores of healthy volumes (any split) for the image AUROC of every split.
  std::vector<double> healthy_scores;
  std::vector<std::vector<std::pair<double, bool>>> split_scores;

  for (const std::string& split : splits) {
    SplitResult sr;
    sr.split = split;
    VoxelScores voxels;
    std::vector<float> r_normal, r_anomalous;
    double l1n = 0, l1a = 0;
    int64_t nn = 0, na = 0;
    Confusion split_conf;
    std::vector<double> dices, precisions, recalls;
    std::vector<std::pair<double, bool>> scores;
    ReconstructStats st;
    for (const io::SampleEntry* s : limited(m.split_samples(split), opt.max_volumes)) {
      LoadedVolume v = load_volume(dir, *s, run.config.view);
      ReconstructStats vst;
      Processed p = process(run, v, opt, &vst);
      st.slices += vst.slices;
      st.seconds += vst.seconds;
      p.seg = segment(p.map, rr.op.threshold, opt.post);
      const Confusion c = confusion(p.seg, v.truth, v.brain);
      VolumeResult vr;
      vr.id = s->id;
      vr.split = split;
      vr.anomaly_type = s->anomaly_type;
      vr.slices = v.image.data.size(0);
      vr.seconds = vst.seconds;
      vr.dice = c.dice();
      vr.precision = c.precision();
      vr.recall = c.recall();
      vr.predicted_voxels = c.tp + c.fp;
      vr.lesions = label_components(p.seg, 26).count;
      vr.l1_normal = l1_error(v.image.data, p.recon, v.truth, 0, v.brain);
      vr.l1_anomalous = l1_error(v.image.data, p.recon, v.truth, 1, v.brain);
      const double own = model_image_score(*run.model, run.spec->input_shape, v.image.data, v.brain, opt.map.batch);
      // Residual statistics over the brain voxels (raw residual, before masking and median).
      const Tensor r = residual(v.image.data, p.recon, opt.post.positive_only).contiguous();
      const Tensor xa = v.image.data.contiguous(), ra = p.recon.to(DType::f32).contiguous();
      const Tensor mp = p.map.to(DType::f32).contiguous();
      const float *rp = r.data<float>(), *xp = xa.data<float>(), *hp = ra.data<float>(), *mv = mp.data<float>();
      const uint8_t *bp = v.brain.data<uint8_t>(), *tp = v.truth.data<uint8_t>();
      double map_sum = 0;
      for (int64_t i = 0, n = r.numel(); i < n; ++i) {
        if (!bp[i]) continue;
        ++vr.brain_voxels;
        map_sum += mv[i];
        const double e = std::fabs((double)xp[i] - (double)hp[i]);
        if (tp[i]) {
          ++vr.anomaly_voxels;
          l1a += e, ++na;
          r_anomalous.push_back(rp[i]);
        } else {
          l1n += e, ++nn;
          r_normal.push_back(rp[i]);
        }
      }
      vr.score = std::isnan(own) ? (vr.brain_voxels ? map_sum / (double)vr.brain_voxels : 0.0) : own;
      voxels.add(p.map, v.truth, v.brain);
      split_conf += c;
      const bool anomalous = vr.anomaly_voxels > 0;
      if (anomalous) {
        ++sr.anomalous_volumes;
        dices.push_back(vr.dice);
        precisions.push_back(vr.precision);
        recalls.push_back(vr.recall);
      } else {
        healthy_scores.push_back(vr.score);
      }
      scores.emplace_back(vr.score, anomalous);
      ++sr.volumes;
      sr.slices += vr.slices;
      if (on_volume) on_volume(VolumeOutputs{vr, v.image.data, p.recon, p.map, p.seg, v.truth, v.brain, v.image.header, rr.op.threshold});
      sr.cases.push_back(vr);
      if (bar) {
        std::ostringstream status;
        status.precision(3);
        status << split << " " << s->id << " dice " << vr.dice;
        bar->update(++done, status.str());
      }
    }
    if (voxels.positives() > 0 && voxels.positives() < voxels.size()) {
      CurveSummary cs = voxels.summary(3);
      sr.auroc = cs.auroc, sr.auprc = cs.auprc, sr.best_dice = cs.best;
    } else {
      sr.auroc = sr.auprc = kNaN;
      sr.best_dice = {kNaN, kNaN};
    }
    sr.dice = mean_std(dices), sr.precision = mean_std(precisions), sr.recall = mean_std(recalls);
    sr.l1_normal = nn ? l1n / (double)nn : kNaN;
    sr.l1_anomalous = na ? l1a / (double)na : kNaN;
    sr.chi2 = (!r_normal.empty() && !r_anomalous.empty()) ? chi2_distance(r_normal, r_anomalous, 100, 0.0, 1.0) : kNaN;
    sr.fpr = split_conf.fpr();
    sr.seconds_per_slice = st.slices ? st.seconds / (double)st.slices : kNaN;
    sr.seconds_per_volume = sr.volumes ? st.seconds / (double)sr.volumes : kNaN;
    split_scores.push_back(std::move(scores));
    rr.splits.push_back(std::move(sr));
  }
  // Image level: a split's anomalous volumes against every healthy volume evaluated.
  for (size_t k = 0; k < rr.splits.size(); ++k) {
    std::vector<float> s;
    std::vector<uint8_t> l;
    for (auto& [score, anomalous] : split_scores[k])
      if (anomalous) s.push_back((float)score), l.push_back(1);
    const size_t pos = s.size();
    for (double h : healthy_scores) s.push_back((float)h), l.push_back(0);
    if (pos > 0 && s.size() > pos) {
      rr.splits[k].image_auroc = auroc(s.data(), l.data(), (int64_t)s.size());
      rr.splits[k].image_ap = average_precision(s.data(), l.data(), (int64_t)s.size());
    } else {
      rr.splits[k].image_auroc = rr.splits[k].image_ap = kNaN;
    }
  }
  if (bar) bar->finish();
  rr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rr;
}

}  // namespace uad::eval
