// libFuzzer harness for the NIfTI reader (io/nifti.h): any byte string, written as .nii and as
// .nii.gz, must either read or throw uad::Error — never crash, hang or touch memory out of bounds
// (built with AddressSanitizer and UBSan, see the UAD_FUZZ option in CMakeLists.txt).
//
// Run: build-fuzz/tests/fuzz/fuzz_nifti -max_total_time=30 CORPUS_DIR
// The seed corpus is written by the harness itself on first start (-seed_corpus is not needed):
// small valid volumes of several datatypes, so mutations start from real headers.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "io/nifti.h"

namespace {

std::string temp_path(const char* ext) {
  static const std::string base = "/tmp/uad_fuzz_" + std::to_string(getpid());
  return base + ext;
}

void try_read(const uint8_t* data, size_t size, const char* ext) {
  const std::string p = temp_path(ext);
  FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) return;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    uad::io::NiftiVolume v = uad::io::read_nifti(p);
    (void)v;
  } catch (const uad::Error&) {
    // the documented outcome for bad input
  }
  std::remove(p.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try_read(data, size, ".nii");
  // Raw bytes named .nii.gz exercise the gzip layer (znzlib) on corrupt streams too.
  try_read(data, size, ".nii.gz");
  return 0;
}
