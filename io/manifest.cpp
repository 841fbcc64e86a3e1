// manifest.json of a prepared dataset (see io/manifest.h), with nlohmann::json.
#include "io/manifest.h"

// GCC 12 reports false -Wmaybe-uninitialized warnings inside nlohmann::json's iterators.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.h"

namespace uad::io {

using Json = nlohmann::ordered_json;

namespace {

Json parse_text(const std::string& text, const char* what) {
  try {
    return Json::parse(text.empty() ? std::string("null") : text);
  } catch (const std::exception& e) {
    fail("manifest: the ", what, " field is not valid JSON: ", e.what());
  }
}

Json view_to_json(const ViewEntry& v) {
  Json j;
  j["image"] = v.image;
  j["brain"] = v.brain;
  j["anomaly"] = v.anomaly;
  j["modalities"] = v.modalities;
  j["shape"] = v.shape;
  j["spacing_zyx"] = v.spacing_zyx;
  j["pixel_mm"] = v.pixel_mm;
  j["brain_voxels"] = v.brain_voxels;
  j["anomaly_voxels"] = v.anomaly_voxels;
  if (!v.slices.empty() || !v.brain_fraction.empty()) {
    j["slices"] = v.slices;
    j["brain_fraction"] = v.brain_fraction;
    j["anomaly_pixels"] = v.anomaly_pixels;
  }
  return j;
}

template <class T> T get(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  check(it != j.end(), where, ": missing field '", key, "'");
  try {
    return it->get<T>();
  } catch (const std::exception& e) {
    fail(where, ": field '", key, "' has the wrong type (", e.what(), ")");
  }
}

template <class T> T get_or(const Json& j, const char* key, T dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  return it->get<T>();
}

ViewEntry view_from_json(const Json& j, const std::string& where) {
  ViewEntry v;
  v.image = get<std::string>(j, "image", where);
  v.brain = get<std::string>(j, "brain", where);
  v.anomaly = get<std::string>(j, "anomaly", where);
  v.modalities = get_or<std::map<std::string, std::string>>(j, "modalities", {});
  v.shape = get<Shape>(j, "shape", where);
  v.spacing_zyx = get<std::array<double, 3>>(j, "spacing_zyx", where);
  v.pixel_mm = get_or<double>(j, "pixel_mm", 0.0);
  v.brain_voxels = get_or<int64_t>(j, "brain_voxels", 0);
  v.anomaly_voxels = get_or<int64_t>(j, "anomaly_voxels", 0);
  v.slices = get_or<std::vector<int64_t>>(j, "slices", {});
  v.brain_fraction = get_or<std::vector<double>>(j, "brain_fraction", {});
  v.anomaly_pixels = get_or<std::vector<int64_t>>(j, "anomaly_pixels", {});
  check(v.shape.size() == 3, where, ": 'shape' must have 3 entries, got ", v.shape);
  for (int64_t s : v.slices) check(s >= 0 && s < v.shape[0], where, ": slice index ", s, " outside the stack ", v.shape);
  return v;
}

}  // namespace

std::vector<const SampleEntry*> Manifest::split_samples(const std::string& split) const {
  std::vector<const SampleEntry*> out;
  for (const auto& s : samples)
    if (s.split == split) out.push_back(&s);
  return out;
}

std::string manifest_to_json(const Manifest& m) {
  Json j;
  j["format"] = "uad-dataset";
  j["version"] = m.version;
  j["seed"] = m.seed;
  j["created_by"] = m.created_by;
  j["options"] = parse_text(m.options_json, "options");
  j["preprocessing"] = m.preprocessing;
  j["notes"] = m.notes;
  Json views = Json::object();
  for (const auto& [name, v] : m.views)
    views[name] = {{"kind", v.slices ? "slices" : "volume"}, {"size", v.size}, {"min_brain_fraction", v.min_brain_fraction}};
  j["views"] = views;
  j["subjects"] = parse_text(m.subjects_json, "subjects");
  Json splits = Json::object();
  for (const auto& [name, s] : m.splits)
    splits[name] = {{"description", s.description}, {"subjects", s.subjects}, {"labelled", s.labelled}, {"samples", s.samples}};
  j["splits"] = splits;
  Json samples = Json::array();
  for (const auto& s : m.samples) {
    Json e;
    e["id"] = s.id;
    e["split"] = s.split;
    e["subject"] = s.subject;
    e["seed"] = s.seed;
    e["source"] = parse_text(s.source_json, "source");
    e["augmentation"] = parse_text(s.augmentation_json, "augmentation");
    if (s.anomaly_type.empty()) {
      e["anomaly"] = nullptr;
    } else {
      e["anomaly"] = {{"type", s.anomaly_type}, {"family", s.anomaly_family}, {"params", parse_text(s.anomaly_json, "anomaly")}};
    }
    Json vs = Json::object();
    for (const auto& [name, v] : s.views) vs[name] = view_to_json(v);
    e["views"] = vs;
    samples.push_back(std::move(e));
  }
  j["samples"] = std::move(samples);
  return j.dump(1, '\t') + "\n";
}

Manifest manifest_from_json(const std::string& text, const std::string& where) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const std::exception& e) {
    fail(where, ": not valid JSON (", e.what(), ")");
  }
  check(j.is_object() && get_or<std::string>(j, "format", "") == "uad-dataset", where,
        ": not a uad dataset manifest (\"format\" must be \"uad-dataset\")");
  Manifest m;
  m.version = get<int>(j, "version", where);
  check(m.version == 1, where, ": unsupported manifest version ", m.version, " (this build reads version 1)");
  m.seed = get_or<uint64_t>(j, "seed", 0);
  m.created_by = get_or<std::string>(j, "created_by", "");
  m.options_json = j.contains("options") ? j["options"].dump() : "{}";
  m.subjects_json = j.contains("subjects") ? j["subjects"].dump() : "[]";
  m.preprocessing = get_or<std::vector<std::string>>(j, "preprocessing", {});
  m.notes = get_or<std::vector<std::string>>(j, "notes", {});
  const Json views = get<Json>(j, "views", where);  // named: items() of a temporary would dangle
  for (const auto& [name, v] : views.items()) {
    ViewInfo vi;
    const std::string w = where + ": view " + name;
    vi.slices = get<std::string>(v, "kind", w) == "slices";
    vi.size = get<int64_t>(v, "size", w);
    vi.min_brain_fraction = get_or<double>(v, "min_brain_fraction", 0.0);
    m.views[name] = vi;
  }
  const Json splits = get<Json>(j, "splits", where);
  for (const auto& [name, s] : splits.items()) {
    SplitInfo si;
    si.description = get_or<std::string>(s, "description", "");
    si.subjects = get_or<std::vector<std::string>>(s, "subjects", {});
    si.labelled = get_or<bool>(s, "labelled", false);
    si.samples = get_or<int64_t>(s, "samples", 0);
    m.splits[name] = si;
  }
  const Json samples = get<Json>(j, "samples", where);
  check(samples.is_array(), where, ": 'samples' must be an array");
  for (size_t i = 0; i < samples.size(); ++i) {
    const Json& e = samples[i];
    const std::string w = where + ": samples[" + std::to_string(i) + "]";
    SampleEntry s;
    s.id = get<std::string>(e, "id", w);
    s.split = get<std::string>(e, "split", w);
    s.subject = get<std::string>(e, "subject", w);
    s.seed = get_or<uint64_t>(e, "seed", 0);
    s.source_json = e.contains("source") ? e["source"].dump() : "{}";
    s.augmentation_json = e.contains("augmentation") ? e["augmentation"].dump() : "null";
    if (e.contains("anomaly") && !e["anomaly"].is_null()) {
      const Json& a = e["anomaly"];
      s.anomaly_type = get<std::string>(a, "type", w + ".anomaly");
      s.anomaly_family = get_or<std::string>(a, "family", "");
      s.anomaly_json = a.contains("params") ? a["params"].dump() : "null";
    }
    const Json vs = get<Json>(e, "views", w);
    for (const auto& [name, v] : vs.items()) s.views[name] = view_from_json(v, w + ".views." + name);
    m.samples.push_back(std::move(s));
  }
  return m;
}

void write_manifest(const std::string& dir, const Manifest& m) {
  const std::string path = (std::filesystem::path(dir) / "manifest.json").string();
  const std::string text = manifest_to_json(m);
  const std::string tmp = temp_path_for(path);
  bool ok = false;
  {
    std::ofstream f(tmp, std::ios::binary);
    if (f) {
      f.write(text.data(), (std::streamsize)text.size());
      f.flush();
      ok = (bool)f;
    }
  }
  check(commit_temp(tmp, path, ok), "write_manifest: cannot write ", path);
}

Manifest read_manifest(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "manifest.json").string();
  std::ifstream f(path, std::ios::binary);
  check((bool)f, "read_manifest: cannot open ", path, " (not a prepared dataset folder? run `uad data prepare --out ", dir, "`)");
  std::stringstream ss;
  ss << f.rdbuf();
  return manifest_from_json(ss.str(), path);
}

}  // namespace uad::io
