// PNG export: write slices (grey, filled overlay, outline overlay), read them back with libpng
// (io::read_png) and check pixel values computed by hand; errors leave nothing behind.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/error_of.h"
#include "io/png.h"
#include "tests/io_ref/io_test_util.h"

using namespace uad;
using namespace uad::io;
using namespace uad::test;

namespace {

std::vector<int> pixels(const Tensor& t) {
  std::vector<int> v;
  for (double x : t.to_vector()) v.push_back((int)x);
  return v;
}

}  // namespace

TEST(Png, GreyWindowing) {
  TempDir dir("png");
  Tensor s = from_vector({0, 0.5, 1, -1, 2, std::nan(""), 0.25, 0.75}, {2, 4});
  write_png(dir / "g.png", s, 0.0, 1.0);
  Tensor r = read_png(dir / "g.png");
  ASSERT_EQ(r.shape(), (Shape{2, 4, 1}));
  EXPECT_EQ(r.dtype(), DType::u8);
  // round(255·t): 0.5 → 127.5 → 128, 0.25 → 63.75 → 64, 0.75 → 191.25 → 191; NaN → 0.
  EXPECT_EQ(pixels(r), (std::vector<int>{0, 128, 255, 0, 255, 0, 64, 191}));
  // A window [-100, 100] on other values; row 0 is the top row of the picture.
  write_png(dir / "w.png", from_vector({-100, 0, 100, 50}, {4, 1}), -100, 100);
  EXPECT_EQ(pixels(read_png(dir / "w.png")), (std::vector<int>{0, 128, 255, 191}));
}

TEST(Png, FilledAndOutlinedOverlays) {
  TempDir dir("png");
  const int64_t H = 5, W = 6;
  Tensor s = full({H, W}, 0.5);  // grey 128 everywhere
  Tensor fill = zeros({H, W}, DType::u8), box = zeros({H, W});
  fill.data<uint8_t>()[0] = fill.data<uint8_t>()[W + 1] = 1;
  for (int64_t y = 1; y <= 3; ++y)
    for (int64_t x = 2; x <= 4; ++x) box.data<float>()[y * W + x] = 1.f;
  box.data<float>()[4 * W + 5] = 1.f;  // an isolated pixel on the image's corner row
  write_png(dir / "o.png", s, 0, 1,
            {PngOverlay{fill, Rgb{255, 0, 0}, 0.25f, false}, PngOverlay{box, Rgb{0, 255, 0}, 1.f, true}});
  Tensor r = read_png(dir / "o.png");
  ASSERT_EQ(r.shape(), (Shape{H, W, 3}));
  auto px = pixels(r);
  auto at = [&](int64_t y, int64_t x) {
    return std::vector<int>{px[(y * W + x) * 3], px[(y * W + x) * 3 + 1], px[(y * W + x) * 3 + 2]};
  };
  // Fill: round(0.75·128 + 0.25·255) = round(159.75) = 160; round(0.75·128) = 96.
  EXPECT_EQ(at(0, 0), (std::vector<int>{160, 96, 96}));
  EXPECT_EQ(at(1, 1), (std::vector<int>{160, 96, 96}));
  EXPECT_EQ(at(0, 1), (std::vector<int>{128, 128, 128}));
  // Outline: the 8 border pixels of the 3×3 box are green, its centre keeps the grey.
  for (int64_t y = 1; y <= 3; ++y)
    for (int64_t x = 2; x <= 4; ++x) {
      if (y == 2 && x == 3) EXPECT_EQ(at(y, x), (std::vector<int>{128, 128, 128}));
      else EXPECT_EQ(at(y, x), (std::vector<int>{0, 255, 0})) << y << "," << x;
    }
  EXPECT_EQ(at(4, 5), (std::vector<int>{0, 255, 0}));
  EXPECT_EQ(at(4, 4), (std::vector<int>{128, 128, 128}));
}

TEST(Png, ErrorsLeaveNothingBehind) {
  TempDir dir("png");
  Tensor s = zeros({3, 3});
  write_png(dir / "keep.png", s, 0, 1);
  const auto size = std::filesystem::file_size(dir / "keep.png");
  EXPECT_NE(error_of([&] { write_png(dir / "keep.png", s, 1, 1); }).find("need lo < hi"), std::string::npos);
  EXPECT_NE(error_of([&] { write_png(dir / "keep.png", zeros({2, 3, 3}), 0, 1); }).find("2-D slice"), std::string::npos);
  EXPECT_NE(error_of([&] { write_png(dir / "keep.png", s, 0, 1, {PngOverlay{zeros({3, 4}), {}, 0.4f, false}}); }).find("overlay 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_png(dir / "keep.png", s, 0, 1, {PngOverlay{zeros({3, 3}), {}, 2.f, false}}); }).find("alpha"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_png(dir / "missing/x.png", s, 0, 1); }).find("cannot create a temporary file"),
            std::string::npos);
  EXPECT_EQ(dir.entries(), 1u);
  EXPECT_EQ(std::filesystem::file_size(dir / "keep.png"), size);

  std::ofstream(dir / "not.png") << "definitely not a png file";
  EXPECT_NE(error_of([&] { read_png(dir / "not.png"); }).find("not a PNG"), std::string::npos);
  std::filesystem::copy_file(dir / "keep.png", dir / "cut.png");
  std::filesystem::resize_file(dir / "cut.png", size / 2);
  EXPECT_NE(error_of([&] { read_png(dir / "cut.png"); }).find("corrupt PNG"), std::string::npos);
  EXPECT_NE(error_of([&] { read_png(dir / "none.png"); }).find("cannot open"), std::string::npos);
}
