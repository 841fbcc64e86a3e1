// `uad models`: every registered model with its input shape, parameter count and source.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "models/model.h"

namespace uad::cli {

namespace {

/// "1,234,567".
std::string grouped(int64_t v) {
  const std::string d = std::to_string(v);
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0 && d[i - 1] != '-') s += ',';
    s += d[i];
  }
  return s;
}

}  // namespace

void add_models_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "List every model (name, input shape, parameters, source)");
  cmd->callback([] {
    struct Row {
      std::string name, shape, params, source;
    };
    std::vector<Row> rows{{"name", "input shape", "parameters", "source"}};
    for (const models::ModelSpec& s : models::registry()) {
      Generator g(0);
      auto m = s.make(g);  // built to count its parameters (each shared tensor once)
      rows.push_back({s.name, shape_str(s.input_shape), grouped(m->num_parameters()), s.source});
    }
    size_t w[3] = {0, 0, 0};
    for (const Row& r : rows) {
      w[0] = std::max(w[0], r.name.size());
      w[1] = std::max(w[1], r.shape.size());
      w[2] = std::max(w[2], r.params.size());
    }
    auto line = [&](const Row& r) {
      std::printf("| %-*s | %-*s | %*s | %s |\n", (int)w[0], r.name.c_str(), (int)w[1], r.shape.c_str(), (int)w[2],
                  r.params.c_str(), r.source.c_str());
    };
    line(rows[0]);
    std::printf("|%s|%s|%s:|---|\n", std::string(w[0] + 2, '-').c_str(), std::string(w[1] + 2, '-').c_str(),
                std::string(w[2] + 1, '-').c_str());
    for (size_t i = 1; i < rows.size(); ++i) line(rows[i]);
  });
}

}  // namespace uad::cli
