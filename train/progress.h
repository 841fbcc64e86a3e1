// A terminal progress bar with ETA and the current losses, for anything longer than a few
// seconds. Writes to stderr; on a non-terminal (CI logs) it prints a plain line at most every
// `log_every` seconds instead of redrawing.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace uad::train {

class ProgressBar {
 public:
  /// total: number of steps (> 0); label: shown before the bar, e.g. "train".
  ProgressBar(int64_t total, std::string label, double log_every_seconds = 5.0);
  /// Advances to step `done` (1-based count of completed steps) with a status text such as
  /// "loss 0.1234". Redraws at most ~10 times a second.
  void update(int64_t done, const std::string& status = "");
  /// Draws the final state and ends the line.
  void finish(const std::string& status = "");
  /// Seconds since construction.
  double elapsed() const;

 private:
  void draw(bool final);
  int64_t total_, done_ = 0;
  std::string label_, status_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  double log_every_;
  bool tty_;
};

/// Formats seconds as "1m05s" / "12.3s".
std::string format_duration(double seconds);

}  // namespace uad::train
