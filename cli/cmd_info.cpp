// `uad info`: what this binary was built with and which devices it can use.
#include <omp.h>

#include <cstdio>

#include "cli/commands.h"
#include "tensor/device.h"

namespace uad::cli {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print the build configuration and the devices this binary can use");
  cmd->callback([] {
    const CudaProbe& p = probe_cuda();
    std::printf("uad engine core\n");
    std::printf("  CPU threads    : %d (OpenMP; set OMP_NUM_THREADS to change)\n", omp_get_max_threads());
    std::printf("  CUDA backend   : %s\n", p.built ? "built" : "not built");
    std::printf("  CUDA devices   : %d%s%s\n", p.device_count, p.reason.empty() ? "" : " — ", p.reason.c_str());
  });
}

}  // namespace uad::cli
