#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace uad::train {

std::string format_duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", (int)(s / 60), (int)s % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
  return buf;
}

ProgressBar::ProgressBar(int64_t total, std::string label, double log_every)
    : total_(total > 0 ? total : 1), label_(std::move(label)), start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::hours(1)), log_every_(log_every), tty_(isatty(STDERR_FILENO)) {}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : log_every_) || done_ >= total_) return;  // the final state is drawn by finish()
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish(const std::string& status) {
  if (!status.empty()) status_ = status;
  done_ = total_;
  draw(true);
}

void ProgressBar::draw(bool final) {
  const double t = elapsed();
  const double frac = (double)done_ / (double)total_;
  const double eta = done_ > 0 ? t * (1.0 - frac) / frac : NAN;
  const int width = 24, fill = (int)std::lround(frac * width);
  std::string bar(fill, '#');
  bar.resize(width, '.');
  char head[160];
  std::snprintf(head, sizeof head, "%s [%s] %lld/%lld %3.0f%% %s elapsed, ETA %s", label_.c_str(), bar.c_str(),
                (long long)done_, (long long)total_, 100.0 * frac, format_duration(t).c_str(),
                final ? "0s" : format_duration(eta).c_str());
  if (tty_) std::fprintf(stderr, "\r\033[K%s  %s%s", head, status_.c_str(), final ? "\n" : "");
  else std::fprintf(stderr, "%s  %s\n", head, status_.c_str());
  std::fflush(stderr);
}

}  // namespace uad::train
