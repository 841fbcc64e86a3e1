// Helpers of the trainer tests (test_trainer, test_vaegan_trainer, test_gan_trainer,
// test_gan_refine) that compare two runs: checkpoint files tensor by tensor (bitwise) and JSONL
// logs without their wall-time fields — the kill-and-resume equality checks.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "train/trainer.h"  // train::log_path

namespace uad::test {

/// Every tensor of safetensors file a equals b's bitwise (same names, shapes and dtypes).
inline void expect_same_tensors(const std::string& a, const std::string& b) {
  const auto fa = io::load_safetensors(a), fb = io::load_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, ta] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(name)) << name;
    const Tensor& tb = fb.tensors.at(name);
    ASSERT_EQ(ta.shape(), tb.shape()) << name;
    ASSERT_EQ(ta.dtype(), tb.dtype()) << name;
    EXPECT_EQ(0, std::memcmp(ta.raw(), tb.raw(), (size_t)ta.numel() * dtype_size(ta.dtype()))) << name;
  }
}

/// The lines of a run's JSONL log (train::log_path), parsed.
inline std::vector<nlohmann::json> read_log(const std::string& run_dir) {
  std::ifstream f(train::log_path(run_dir));
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

/// A log line without its wall-time fields.
inline nlohmann::json timeless(nlohmann::json j) {
  for (const char* k : {"seconds", "epoch_seconds", "val_seconds"}) j.erase(k);
  return j;
}

}  // namespace uad::test
