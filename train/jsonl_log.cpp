// Append-only JSON-lines log (see train/jsonl_log.h).
#include "train/jsonl_log.h"

#include <unistd.h>

#include <filesystem>

#include "tensor/error.h"

namespace uad::train {

JsonlLog::JsonlLog(const std::string& path, int64_t truncate_to) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (truncate_to >= 0) {
    const bool exists = fs::exists(path, ec);
    const int64_t size = exists ? (int64_t)fs::file_size(path, ec) : 0;
    if (size > truncate_to) {
      fs::resize_file(path, (uintmax_t)truncate_to, ec);
      check(!ec, "JsonlLog: cannot truncate ", path, ": ", ec.message());
    }
  }
  f_ = std::fopen(path.c_str(), "ab");
  check(f_ != nullptr, "JsonlLog: cannot open ", path, " for appending");
  std::fseek(f_, 0, SEEK_END);
  bytes_ = (int64_t)std::ftell(f_);
}

JsonlLog::~JsonlLog() {
  if (f_) std::fclose(f_);
}

void JsonlLog::write(const std::string& json) {
  const bool ok = std::fwrite(json.data(), 1, json.size(), f_) == json.size() && std::fputc('\n', f_) != EOF &&
                  std::fflush(f_) == 0;
  check(ok, "JsonlLog: write to ", path_, " failed");
  bytes_ += (int64_t)json.size() + 1;
}

void JsonlLog::sync() {
  check(std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0, "JsonlLog: sync of ", path_, " failed");
}

}  // namespace uad::train
