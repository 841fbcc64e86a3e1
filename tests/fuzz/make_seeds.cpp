// Writes the fuzzer's seed corpus: tiny valid NIfTI volumes (uint8 and float32, .nii and
// .nii.gz) into the folder given as argv[1].
#include <cstdio>
#include <string>

#include "io/nifti.h"
#include "tensor/ops.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  uad::io::NiftiHeader h = uad::io::make_nifti_header({2, 3, 4}, {1.0, 1.5, 2.0});
  uad::Tensor v = uad::arange(24).reshape({2, 3, 4});
  uad::io::write_nifti(dir + "/seed_f32.nii", v, h, uad::io::NiftiWriteType::f32);
  uad::io::write_nifti(dir + "/seed_u8.nii", v, h, uad::io::NiftiWriteType::u8);
  uad::io::write_nifti(dir + "/seed_f32.nii.gz", v, h, uad::io::NiftiWriteType::f32);
  return 0;
}
