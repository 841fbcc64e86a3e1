// Inputs the fuzzer (tests/fuzz/fuzz_nifti.cpp) once crashed the NIfTI reader with: each file in
// tests/fuzz/regressions/ must now be rejected with one uad::Error naming the file (or read), and
// never touch memory out of bounds.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "io/nifti.h"
#include "tests/error_of.h"

namespace fs = std::filesystem;

TEST(NiftiRegressions, FuzzerCrashesAreCleanErrors) {
  const fs::path dir = fs::path(UAD_SOURCE_DIR) / "tests/fuzz/regressions";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string p = e.path().string();
    const std::string msg = uad::test::error_of([&] { uad::io::read_nifti(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << p << ": " << msg;
    ++n;
  }
  EXPECT_GE(n, 1);
}

TEST(NiftiRegressions, HeaderWhoseNzDiffersFromDim3IsInconsistent) {
  const std::string p = std::string(UAD_SOURCE_DIR) + "/tests/fuzz/regressions/nz_differs_from_dim3.nii";
  EXPECT_NE(uad::test::error_of([&] { uad::io::read_nifti(p); }).find("inconsistent header"), std::string::npos);
}
