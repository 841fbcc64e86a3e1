// PNG previews of a prepared dataset (see io/dataset_preview.h): panels are composed on a float
// canvas with u8 overlay masks, then written once with io/png.h.
#include "io/dataset_preview.h"

// GCC 12 reports false -Wmaybe-uninitialized warnings inside nlohmann::json's iterators.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.h"
#include "io/manifest.h"
#include "io/nifti.h"
#include "io/png.h"
#include "tensor/tensor.h"

namespace uad::io {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kGap = 4;        // pixels between panels
constexpr float kGapGrey = 0.5f;   // grey level of the separator bar (window [0,1])
const Rgb kRed{255, 0, 0};
const Rgb kGreen{0, 255, 0};

/// A [Z,H,W] volume read back from the dataset, with the display flips of its axial planes.
struct Stack {
  Tensor data;  // f32 contiguous [Z,H,W]
  bool flip_rows = false, flip_cols = false;
  int64_t z() const { return data.size(0); }
  int64_t h() const { return data.size(1); }
  int64_t w() const { return data.size(2); }
};

Stack read_stack(const std::string& dir, const std::string& rel) {
  NiftiVolume v = read_nifti((fs::path(dir) / rel).string());
  Stack s;
  s.data = v.data.to(DType::f32).contiguous();
  const std::string& o = v.header.orientation;
  check(o.size() == 3 && (o[0] == 'L' || o[0] == 'R') && (o[1] == 'A' || o[1] == 'P'), "write_dataset_previews: ", rel,
        " has orientation '", o, "'; expected axial planes with x = L/R and y = A/P (views are RAS)");
  // Radiological display: row 0 = most anterior, column 0 = the patient's most RIGHT voxel.
  s.flip_rows = o[1] == 'A';  // y increases anteriorly → the largest y goes to the top row
  s.flip_cols = o[0] == 'R';  // x increases to the patient's right → the largest x goes to the left
  return s;
}

void check_same_grid(const Stack& a, const Stack& b, const std::string& what) {
  check(a.data.shape() == b.data.shape(), "write_dataset_previews: ", what, " has shape ", b.data.shape(),
        ", its image ", a.data.shape());
}

/// Usable stack indices of a view entry (all slices when the entry lists none, e.g. volumes).
std::vector<int64_t> usable_slices(const ViewEntry& v) {
  if (!v.slices.empty()) return v.slices;
  std::vector<int64_t> all((size_t)v.shape[0]);
  for (int64_t z = 0; z < v.shape[0]; ++z) all[(size_t)z] = z;
  return all;
}

/// The usable slice with the most nonzero mask pixels (the first one on ties).
int64_t fullest_slice(const Stack& mask, const std::vector<int64_t>& usable) {
  const int64_t a = mask.h() * mask.w();
  const float* p = mask.data.data<float>();
  int64_t best = usable.front(), best_n = -1;
  for (int64_t z : usable) {
    int64_t n = 0;
    for (int64_t i = 0; i < a; ++i) n += p[z * a + i] != 0.f;
    if (n > best_n) best = z, best_n = n;
  }
  return best;
}

/// Pictures are composed here: grey levels in the [0,1] window plus overlay masks.
struct Canvas {
  int64_t h, w;
  std::vector<float> grey;
  std::vector<uint8_t> red, green;
  Canvas(int64_t h_, int64_t w_) : h(h_), w(w_), grey((size_t)(h_ * w_), kGapGrey), red(grey.size(), 0), green(grey.size(), 0) {}

  /// Copies plane z of `img` (display-oriented, enlarged by `f`) to columns [col, col + f·W);
  /// `mask` (same grid, optional) goes into the overlay `layer`.
  void panel(int64_t col, int64_t f, const Stack& img, int64_t z, const Stack* mask = nullptr,
             std::vector<uint8_t>* layer = nullptr) {
    const int64_t H = img.h(), W = img.w();
    const float* src = img.data.data<float>() + z * H * W;
    const float* msk = mask ? mask->data.data<float>() + z * H * W : nullptr;
    for (int64_t r = 0; r < H * f; ++r) {
      const int64_t y = img.flip_rows ? H - 1 - r / f : r / f;
      for (int64_t c = 0; c < W * f; ++c) {
        const int64_t x = img.flip_cols ? W - 1 - c / f : c / f;
        const size_t o = (size_t)(r * w + col + c);
        grey[o] = src[y * W + x];
        if (msk) (*layer)[o] = msk[y * W + x] != 0.f;
      }
    }
  }

  Tensor to_tensor(const std::vector<float>& v) const {
    Tensor t = empty({h, w}, DType::f32);
    std::memcpy(t.raw(), v.data(), v.size() * sizeof(float));
    return t;
  }
  Tensor to_tensor(const std::vector<uint8_t>& v) const {
    Tensor t = empty({h, w}, DType::u8);
    std::memcpy(t.raw(), v.data(), v.size());
    return t;
  }
  void write(const std::string& path) const {
    std::vector<PngOverlay> ov;
    if (std::any_of(red.begin(), red.end(), [](uint8_t m) { return m != 0; })) ov.push_back({to_tensor(red), kRed, 1.f, true});
    if (std::any_of(green.begin(), green.end(), [](uint8_t m) { return m != 0; }))
      ov.push_back({to_tensor(green), kGreen, 1.f, true});
    write_png(path, to_tensor(grey), 0.0, 1.0, ov);
  }
};

/// Canvas size for `n` panels of an H×W plane enlarged by f.
Canvas make_canvas(int64_t n, int64_t f, const Stack& s) { return Canvas(s.h() * f, n * s.w() * f + (n - 1) * kGap); }

/// The view to draw from (see PreviewOptions::view).
std::string pick_view(const Manifest& m, const std::string& want) {
  if (!want.empty()) {
    check(m.views.count(want), "write_dataset_previews: the dataset has no view '", want, "'");
    return want;
  }
  for (const char* v : {"slices256", "slices128"})
    if (m.views.count(v)) return v;
  std::string best;
  int64_t best_key = -1;
  for (const auto& [name, vi] : m.views) {
    const int64_t key = (vi.slices ? (int64_t)1 << 40 : 0) + vi.size;  // slice views first, then size
    if (key > best_key) best = name, best_key = key;
  }
  check(!best.empty(), "write_dataset_previews: the manifest lists no view");
  return best;
}

std::string slice_text(const ViewEntry& v, int64_t z) {
  std::ostringstream s;
  s << "slice " << z << " of " << v.shape[0] << " (inferior->superior)";
  return s.str();
}

bool is_clean(const SampleEntry& s) { return s.anomaly_type.empty() && s.augmentation_json == "null"; }

/// Subjects whose brain holds fewer than 16 distinct intensities (the manifest's
/// "distinct_brain_intensities", the threshold of prepare's "quantised image" note): such images
/// show little anatomy, so previews avoid them when another subject has the same anomaly type.
std::set<std::string> quantised_subjects(const Manifest& m) {
  std::set<std::string> q;
  const auto subjects = nlohmann::json::parse(m.subjects_json, nullptr, false);
  if (!subjects.is_array()) return q;
  for (const auto& s : subjects) {
    if (!s.is_object() || !s.contains("id") || !s["id"].is_string()) continue;
    const auto it = s.find("distinct_brain_intensities");
    if (it != s.end() && it->is_number_integer() && it->get<int64_t>() < 16) q.insert(s["id"].get<std::string>());
  }
  return q;
}

}  // namespace

std::vector<PreviewFile> write_dataset_previews(const std::string& dataset_dir, const PreviewOptions& opt) {
  check(opt.train_slices >= 1 && opt.min_panel >= 1, "write_dataset_previews: need train_slices >= 1 and min_panel >= 1, got ",
        opt.train_slices, " and ", opt.min_panel);
  const Manifest man = read_manifest(dataset_dir);
  const std::string view = pick_view(man, opt.view);
  const int64_t size = man.views.at(view).size;
  const int64_t f = std::max<int64_t>(1, (opt.min_panel + size - 1) / size);
  const fs::path pdir = fs::path(dataset_dir) / "previews";
  std::error_code ec;
  fs::create_directories(pdir, ec);
  check(!ec, "write_dataset_previews: cannot create ", pdir.string(), ": ", ec.message());
  std::vector<PreviewFile> out;
  auto emit = [&](const Canvas& c, const std::string& name, const std::string& desc, const std::string& sample,
                  const std::string& healthy, std::vector<int64_t> slices) {
    c.write((pdir / name).string());
    out.push_back({"previews/" + name, desc, c.h, c.w, sample, healthy, std::move(slices)});
  };
  auto has_view = [&](const SampleEntry& s) { return s.views.count(view) != 0; };

  // ---- anomaly_<type>.png --------------------------------------------------------------------
  std::vector<std::string> types;
  std::map<std::string, std::vector<const SampleEntry*>> by_type;
  for (const char* split : {"val_labelled", "test_intensity", "test_spatial", "test_lesion"})
    for (const SampleEntry* s : man.split_samples(split)) {
      if (s->anomaly_type.empty() || s->anomaly_type == "real_lesion" || !has_view(*s)) continue;
      const bool plain = std::all_of(s->anomaly_type.begin(), s->anomaly_type.end(),
                                     [](char ch) { return std::isalnum((unsigned char)ch) || ch == '_'; });
      check(plain, "write_dataset_previews: sample ", s->id, " has anomaly type '", s->anomaly_type,
            "', not usable in a file name (letters, digits, '_')");
      if (!by_type.count(s->anomaly_type)) types.push_back(s->anomaly_type);
      by_type[s->anomaly_type].push_back(s);
    }
  // Sample choice per type: a subject with anatomical contrast first (see quantised_subjects),
  // then one whose clean source is stored (healthy panel), then manifest order (val_labelled first).
  const std::set<std::string> quantised = quantised_subjects(man);
  std::map<std::string, Stack> healthy_cache;  // clean sources are shared by every type of a subject
  for (const std::string& type : types) {
    const SampleEntry* pick = nullptr;
    const SampleEntry* healthy = nullptr;
    int best = -1;
    for (const SampleEntry* s : by_type[type]) {
      const SampleEntry* h = nullptr;
      if (s->augmentation_json == "null")
        for (const SampleEntry& c : man.samples)
          if (!h && c.subject == s->subject && is_clean(c) && has_view(c) && c.views.at(view).shape == s->views.at(view).shape)
            h = &c;
      const int score = 2 * !quantised.count(s->subject) + (h != nullptr);
      if (score > best) pick = s, healthy = h, best = score;
    }
    const ViewEntry& v = pick->views.at(view);
    const Stack img = read_stack(dataset_dir, v.image), mask = read_stack(dataset_dir, v.anomaly);
    check_same_grid(img, mask, v.anomaly);
    const int64_t z = fullest_slice(mask, usable_slices(v));
    const int n = healthy ? 2 : 1;
    Canvas c = make_canvas(n, f, img);
    std::ostringstream d;
    d << type << ": " << pick->id << " (" << pick->split << "), " << view << ", " << slice_text(v, z) << "; panels: ";
    if (healthy) {
      const std::string& rel = healthy->views.at(view).image;
      if (!healthy_cache.count(rel)) healthy_cache.emplace(rel, read_stack(dataset_dir, rel));
      const Stack& hs = healthy_cache.at(rel);
      check_same_grid(img, hs, rel);
      c.panel(0, f, hs, z);
      d << "healthy source " << healthy->id << " | ";
    }
    c.panel((n - 1) * (img.w() * f + kGap), f, img, z, &mask, &c.red);
    d << "anomalous, anomaly mask in red";
    if (v.anomaly_voxels == 0) d << " (the mask vanished at this view's resolution: no outline)";
    if (!healthy) d << " (healthy source not stored for augmented samples)";
    emit(c, "anomaly_" + type + ".png", d.str(), pick->id, healthy ? healthy->id : "", {z});
  }

  // ---- train.png ------------------------------------------------------------------------------
  const auto train = man.split_samples("train");
  const SampleEntry* ts = nullptr;
  for (const SampleEntry* s : train)
    if (has_view(*s) && (!ts || (s->augmentation_json == "null" && ts->augmentation_json != "null"))) ts = s;
  if (ts) {
    const ViewEntry& v = ts->views.at(view);
    const Stack img = read_stack(dataset_dir, v.image), brain = read_stack(dataset_dir, v.brain);
    check_same_grid(img, brain, v.brain);
    const std::vector<int64_t> u = usable_slices(v);
    const int64_t n = std::min<int64_t>(opt.train_slices, (int64_t)u.size());
    Canvas c = make_canvas(n, f, img);
    std::ostringstream d;
    d << "train: " << ts->id << ", " << view << ", slices";
    std::vector<int64_t> zs;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t z = u[(size_t)((k + 1) * (int64_t)u.size() / (n + 1))];
      c.panel(k * (img.w() * f + kGap), f, img, z, &brain, &c.green);
      d << (k ? ", " : " ") << z;
      zs.push_back(z);
    }
    d << " of " << v.shape[0] << " (inferior->superior, left to right); brain mask in green";
    emit(c, "train.png", d.str(), ts->id, "", zs);
  }

  // ---- test_real_lesions.png ------------------------------------------------------------------
  const auto real = man.split_samples("test_real_lesions");
  const SampleEntry* rs = nullptr;
  for (const SampleEntry* s : real)
    if (!rs && has_view(*s)) rs = s;
  if (rs) {
    const ViewEntry& v = rs->views.at(view);
    std::vector<std::pair<std::string, std::string>> mods;  // primary first, then by name
    for (const auto& [name, rel] : v.modalities)
      if (rel == v.image) mods.insert(mods.begin(), {name, rel});
      else mods.push_back({name, rel});
    if (mods.empty() || mods.front().second != v.image) mods.insert(mods.begin(), {"image", v.image});
    const Stack mask = read_stack(dataset_dir, v.anomaly);
    const int64_t z = fullest_slice(mask, usable_slices(v));
    Canvas c = make_canvas((int64_t)mods.size(), f, mask);
    std::ostringstream d;
    d << "real lesions: " << rs->id << ", " << view << ", " << slice_text(v, z) << "; panels:";
    for (size_t k = 0; k < mods.size(); ++k) {
      const Stack img = read_stack(dataset_dir, mods[k].second);
      check_same_grid(img, mask, v.anomaly);
      c.panel((int64_t)k * (img.w() * f + kGap), f, img, z, &mask, &c.red);
      d << (k ? " | " : " ") << mods[k].first;
    }
    d << "; lesion mask in red";
    emit(c, "test_real_lesions.png", d.str(), rs->id, "", {z});
  }

  // ---- README.txt -----------------------------------------------------------------------------
  std::ostringstream r;
  r << "Previews of this dataset (written by uad data prepare, io/dataset_preview.h).\n"
    << "Axial slices in RADIOLOGICAL convention: anterior at the top, the patient's LEFT on the picture's RIGHT.\n"
    << "Grey window [0,1] (normalised intensities); panels enlarged x" << f << " (nearest); 4-pixel grey bars "
    << "separate panels.\n\n";
  for (const auto& p : out) r << p.path.substr(std::strlen("previews/")) << " (" << p.width << "x" << p.height << "): " << p.description << "\n";
  const std::string text = r.str(), path = (pdir / "README.txt").string(), tmp = temp_path_for(path);
  bool ok = false;
  {
    std::ofstream fo(tmp, std::ios::binary);
    if (fo) {
      fo.write(text.data(), (std::streamsize)text.size());
      fo.flush();
      ok = (bool)fo;
    }
  }
  check(commit_temp(tmp, path, ok), "write_dataset_previews: cannot write ", path);
  return out;
}

}  // namespace uad::io
