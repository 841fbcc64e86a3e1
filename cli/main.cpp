// The `uad` command-line tool. Every error becomes one line on stderr and exit code 1.
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"uad — unsupervised anomaly detection in brain MRI and head CT"};
  app.require_subcommand(1);
  uad::cli::add_info_command(app);
  uad::cli::add_smoke_command(app);
  uad::cli::add_data_command(app);
  uad::cli::add_train_command(app);
  uad::cli::add_models_command(app);
  uad::cli::add_detect_command(app);
  uad::cli::add_evaluate_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "uad: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
