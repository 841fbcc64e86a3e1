// `uad data prepare`: builds a dataset folder (NIfTI views + manifest.json) from healthy volumes
// and optional patients; see io/dataset.h for the split scheme and io/views.h for the
// preprocessing chain.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "io/dataset.h"

namespace uad::cli {

namespace {

namespace fs = std::filesystem;

/// ../shared/data next to the repository this file was compiled from (or next to an ancestor of
/// the working directory that is a uad checkout), when it exists; "" otherwise.
std::string default_shared_data() {
  std::vector<fs::path> roots;
  const fs::path src(__FILE__);  // <repo>/cli/cmd_data.cpp (CMake passes absolute paths)
  if (src.is_absolute()) roots.push_back(src.parent_path().parent_path());
  std::error_code ec;
  for (fs::path p = fs::current_path(ec); !ec && !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / "cli" / "cmd_data.cpp", ec)) roots.push_back(p);
    if (p == p.root_path()) break;
  }
  for (const auto& r : roots) {
    const fs::path d = r.parent_path() / "shared" / "data";
    if (fs::is_directory(d, ec)) return d.lexically_normal().string();
  }
  return "";
}

struct DataPrepareCli {
  io::PrepareOptions opt;
  std::string shared = "auto";
  bool no_shared = false;
  bool no_progress = false;
};

void run_prepare(DataPrepareCli& c) {
  io::PrepareOptions o = c.opt;
  o.progress = !c.no_progress;
  if (c.no_shared) o.shared_data.clear();
  else if (c.shared == "auto") o.shared_data = default_shared_data();
  else o.shared_data = c.shared;
  std::printf("preparing %s from %s%s%s\n", o.out_dir.c_str(),
              o.healthy.empty() ? "the default healthy volumes (Colin27, ITK example T1)" : "the given healthy volumes",
              o.shared_data.empty() ? "" : " + shared data ", o.shared_data.c_str());
  std::fflush(stdout);
  const io::PrepareReport r = io::prepare_dataset(o);
  std::printf("dataset %s: %.1f MB in %.1f s\n", r.out_dir.c_str(), (double)r.bytes / 1e6, r.seconds);
  std::printf("previews (PNG, radiological convention): %s/previews\n", r.out_dir.c_str());
  std::printf("  %-18s %8s", "split", "samples");
  for (const auto& v : o.views)
    if (v.rfind("slices", 0) == 0) std::printf(" %12s", v.c_str());
  std::printf("\n");
  for (const auto& [name, s] : r.splits) {
    std::printf("  %-18s %8lld", name.c_str(), (long long)s.samples);
    for (const auto& v : o.views)
      if (v.rfind("slices", 0) == 0) std::printf(" %12lld", (long long)(s.slices.count(v) ? s.slices.at(v) : 0));
    std::printf("\n");
  }
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
}

}  // namespace

void add_data_command(CLI::App& app) {
  static DataPrepareCli c;
  auto* data = app.add_subcommand("data", "Datasets: build slice/volume views with splits and a manifest");
  data->require_subcommand(1);
  auto* prep = data->add_subcommand(
      "prepare",
      "Build a dataset folder (NIfTI views + manifest.json): augmented healthy train/val, labelled validation, "
      "synthetic-anomaly and real-lesion test splits");
  prep->add_option("--out", c.opt.out_dir, "output folder (built in OUT.tmp, renamed when complete)")->required();
  prep->add_option("--healthy", c.opt.healthy,
                   "healthy volume IMAGE[:BRAINMASK] or a folder of .nii/.nii.gz files (repeatable; default: Colin27 "
                   "and the ITK example T1 from Debian packages)");
  prep->add_option("--patient", c.opt.patients, "patient IMAGE:LESIONMASK[:BRAINMASK] (repeatable) → test_real_lesions");
  prep->add_option("--shared-data", c.shared,
                   "folder with mslub/ and ixi/ subjects (default: ../shared/data next to the repository, when present)");
  prep->add_flag("--no-shared-data", c.no_shared, "do not use ../shared/data even when present");
  prep->add_option("--seed", c.opt.seed, "seed of every random draw (each sample derives its own generator)")
      ->capture_default_str();
  prep->add_option("--augment-copies", c.opt.augment_copies, "augmented training copies per training subject")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  prep->add_option("--val-copies", c.opt.val_copies, "healthy validation copies per validation subject")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  prep->add_option("--test-anomalies", c.opt.test_anomalies_per_type, "synthetic test samples per anomaly type and test subject")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  prep->add_option("--views", c.opt.views, "comma-separated views: slicesS (axial S x S) and/or volS (S^3)")
      ->delimiter(',')
      ->capture_default_str();
  prep->add_option("--min-brain-fraction", c.opt.min_brain_fraction,
                   "slice views: keep axial slices whose brain covers at least this fraction of the frame")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  prep->add_flag("--quick", c.opt.quick, "tiny dataset for tests (2 mm working grid, 1 copy, 3 anomaly types)");
  prep->add_flag("--overwrite", c.opt.overwrite, "replace an existing output folder once the new one is complete");
  prep->add_flag("--no-progress", c.no_progress, "no progress bar");
  prep->callback([] { run_prepare(c); });
}

}  // namespace uad::cli
