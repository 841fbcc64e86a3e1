// Command-line options shared by `uad detect` and `uad evaluate`: the anomaly-map method
// (eval/reconstruct.h) and the post-processing (eval/postprocess.h).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "eval/postprocess.h"
#include "eval/reconstruct.h"

namespace uad::cli {

struct MapCli {
  std::string method = "residual";
  eval::MapOptions map;
  eval::PostprocessOptions post;
  bool absolute = false;  ///< --absolute-residual: |x − x̂| instead of max(x − x̂, 0)
  bool no_brain_mask = false;

  /// Registers the options on `cmd` (group "Anomaly map" / "Post-processing").
  void add(CLI::App* cmd) {
    const eval::MapOptions dm;
    const eval::PostprocessOptions dp;
    cmd->add_option("--method", method,
                    "anomaly map: residual (one pass), monte_carlo (mean of N stochastic passes: dropout / VAE "
                    "sampling), restoration (You et al.), gradient (Context VAE); default residual")
        ->group("Anomaly map");
    cmd->add_option("--batch", map.batch, "slices per forward pass (default " + std::to_string(dm.batch) + ")")
        ->group("Anomaly map");
    cmd->add_option("--mc-samples", map.mc_samples,
                    "monte_carlo: reconstructions averaged (default " + std::to_string(dm.mc_samples) + ")")
        ->group("Anomaly map");
    cmd->add_option("--restoration-steps", map.restoration_steps,
                    "restoration: gradient steps (default " + std::to_string(dm.restoration_steps) + ", the paper's)")
        ->group("Anomaly map");
    cmd->add_option("--restoration-lr", map.restoration_lr, "restoration: step size (default 1e-3)")->group("Anomaly map");
    cmd->add_option("--tv-weight", map.tv_weight, "restoration: total-variation weight (default 0)")->group("Anomaly map");
    cmd->add_option("--seed", map.seed, "seed of the stochastic methods (default 0)")->group("Anomaly map");
    cmd->add_flag("--absolute-residual", absolute,
                  "use |x - x^| (default: positive residuals only, for hyperintense lesions)")
        ->group("Post-processing");
    cmd->add_flag("--no-brain-mask", no_brain_mask, "do not multiply the residual by the eroded brain mask")
        ->group("Post-processing");
    cmd->add_option("--erode", post.erode_iterations,
                    "erosions of the brain mask (2-D cross per slice; default " + std::to_string(dp.erode_iterations) + ")")
        ->group("Post-processing");
    cmd->add_option("--median", post.median_size,
                    "3-D median window, odd (default " + std::to_string(dp.median_size) + "; 1 = off)")
        ->group("Post-processing");
    cmd->add_option("--min-lesion-voxels", post.min_component_voxels,
                    "drop connected components smaller than this (26-connectivity; default " +
                        std::to_string(dp.min_component_voxels) + ")")
        ->group("Post-processing");
    cmd->add_option("--closing", post.closing_iterations, "3-D binary closing iterations of the segmentation (default 0)")
        ->group("Post-processing");
  }

  /// Resolves the method name and flags into map/post (throws uad::Error for a bad method).
  void resolve() {
    map.method = eval::parse_map_method(method);
    post.positive_only = !absolute;
    post.use_brain_mask = !no_brain_mask;
    eval::validate(map);
  }
};

}  // namespace uad::cli
