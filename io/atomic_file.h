// Atomic file replacement: write to a temporary file in the destination's directory, then
// rename it over the destination (rename(2) is atomic within one file system), so a reader never
// sees a half-written file and a failed write leaves the destination untouched.
#pragma once
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "tensor/error.h"

namespace uad::io {

/// A fresh temporary path next to `dest`: "<dir>/.<name>.tmp.<pid>.<counter>".
inline std::string temp_path_for(const std::string& dest) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path p(dest);
  std::filesystem::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  std::string name = ".";
  name += p.filename().string();
  name += ".tmp.";
  name += std::to_string(::getpid());
  name += '.';
  name += std::to_string(counter.fetch_add(1));
  return (dir / name).string();
}

/// When `ok`, renames `tmp` over `dest` and returns true; otherwise (or when the rename fails)
/// removes `tmp` and returns false.
inline bool commit_temp(const std::string& tmp, const std::string& dest, bool ok) {
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, dest, ec);
  if (!ok || ec) {
    std::error_code ignore;
    std::filesystem::remove(tmp, ignore);
    return false;
  }
  return true;
}

/// Writes `text` to `dest` atomically (temporary file + rename). Throws uad::Error naming `dest`
/// when the file cannot be written (missing directory, full disk); `dest` is then untouched.
inline void write_text_file_atomic(const std::string& dest, const std::string& text) {
  const std::string tmp = temp_path_for(dest);
  bool ok = false;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (f) {
      f.write(text.data(), (std::streamsize)text.size());
      f.flush();
      ok = (bool)f;
    }
  }
  check(commit_temp(tmp, dest, ok), "cannot write '", dest, "'");
}

}  // namespace uad::io
