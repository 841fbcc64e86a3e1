// An append-only JSON-lines log (one JSON object per line), as written to `log.jsonl` by the
// trainers. Lines are flushed to the OS as they are written, so a killed process loses at most
// the line being written; sync() makes them durable before a checkpoint records the log size.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace uad::train {

class JsonlLog {
 public:
  /// Opens `path` for appending (creating it). With truncate_to ≥ 0 a longer file is first cut to
  /// that many bytes — a resumed run drops the lines written after its checkpoint (a shorter or
  /// missing file, e.g. deleted by the user, is kept as it is). Throws uad::Error naming the file
  /// when it cannot be truncated or opened.
  explicit JsonlLog(const std::string& path, int64_t truncate_to = -1);
  ~JsonlLog();
  JsonlLog(const JsonlLog&) = delete;
  JsonlLog& operator=(const JsonlLog&) = delete;

  /// Appends `json` (one JSON object, no newline inside) and a newline. Throws on a write error.
  void write(const std::string& json);
  /// Flushes and fsyncs the file.
  void sync();
  /// Current size of the file in bytes.
  int64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  int64_t bytes_ = 0;
};

}  // namespace uad::train
