// io/regrid.h (results back onto the input's grid), io/png.h write_png_rgb and eval/panel.h.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/panel.h"
#include "io/png.h"
#include "io/regrid.h"
#include "model_test_util.h"
#include "tensor/ops.h"

namespace uad {
namespace {

io::Mat4 affine(double sx, double sy, double sz, double ox, double oy, double oz) {
  io::Mat4 m = io::mat4_identity();
  m[0][0] = sx, m[1][1] = sy, m[2][2] = sz;
  m[0][3] = ox, m[1][3] = oy, m[2][3] = oz;
  return m;
}

TEST(Regrid, InverseTimesMatrixIsIdentity) {
  io::Mat4 m = affine(0.9, -1.2, 2.5, 10, -20, 30);
  m[0][1] = 0.3, m[1][2] = -0.4, m[2][0] = 0.2;
  const io::Mat4 p = io::mat4_mul(io::mat4_inverse(m), m);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(p[r][c], r == c ? 1.0 : 0.0, 1e-12);
  io::Mat4 s = io::mat4_identity();
  s[1][1] = 0;
  EXPECT_THROW(io::mat4_inverse(s), Error);
}

TEST(Regrid, SameGridIsTheIdentity) {
  Generator g(3);
  Tensor v = rand({3, 4, 5}, g);
  const io::NiftiHeader h = io::make_nifti_header({3, 4, 5}, {1.5, 2, 2.5});
  EXPECT_EQ(test::max_abs_diff(io::regrid(v, h, h, io::Interp::linear), v), 0.0);
  EXPECT_EQ(test::max_abs_diff(io::regrid(v, h, h, io::Interp::nearest), v), 0.0);
}

TEST(Regrid, FlippedAndCoarserGridsHandCases) {
  // src: 1-D along x (i), values 0,10,20,30 at world x = 0,1,2,3 (1 mm voxels, origin 0).
  Tensor src = from_vector({0, 10, 20, 30}, {1, 1, 4});
  const io::NiftiHeader hs = io::make_nifti_header({1, 1, 4});
  // dst: 2 mm voxels starting at x = 0.5 → samples at x = 0.5, 2.5 → 5, 25 (linear).
  io::Mat4 a = affine(2, 1, 1, 0.5, 0, 0);
  const io::NiftiHeader hd = io::make_nifti_header({1, 1, 2}, {2, 1, 1}, &a);
  EXPECT_EQ(io::regrid(src, hs, hd, io::Interp::linear).to_vector(), (std::vector<double>{5, 25}));
  // Flipped dst (x runs 3 → 0): the values reversed.
  io::Mat4 f = affine(-1, 1, 1, 3, 0, 0);
  const io::NiftiHeader hf = io::make_nifti_header({1, 1, 4}, {1, 1, 1}, &f);
  EXPECT_EQ(io::regrid(src, hs, hf, io::Interp::nearest).to_vector(), (std::vector<double>{30, 20, 10, 0}));
  // Outside the source: the fill value; within half a voxel of the edge: the edge value.
  io::Mat4 o = affine(1, 1, 1, -0.4, 0, 0);
  const io::NiftiHeader ho = io::make_nifti_header({1, 1, 6}, {1, 1, 1}, &o);
  auto r = io::regrid(src, hs, ho, io::Interp::linear, -1.0f).to_vector();  // x = −0.4 .. 4.6
  EXPECT_NEAR(r[0], 0.0, 1e-6);   // −0.4: clamped to the edge
  EXPECT_NEAR(r[1], 6.0, 1e-5);   // 0.6
  EXPECT_NEAR(r[3], 26.0, 1e-5);  // 2.6
  EXPECT_EQ(r[4], -1.0);          // 3.6: more than half a voxel beyond the last centre → outside
  EXPECT_EQ(r[5], -1.0);          // 4.6
}

TEST(Regrid, ShapeMismatchIsAnError) {
  const io::NiftiHeader h = io::make_nifti_header({3, 4, 5});
  EXPECT_THROW(io::regrid(zeros({3, 4, 6}), h, h, io::Interp::linear), Error);
}

TEST(PngRgb, RoundTrip) {
  Tensor img = zeros({2, 3, 3}, DType::u8);
  uint8_t* p = img.data<uint8_t>();
  for (int i = 0; i < 18; ++i) p[i] = (uint8_t)(i * 13);
  test::TempFile f("pngrgb", "a.png");
  io::write_png_rgb(f.path, img);
  Tensor back = io::read_png(f.path);
  EXPECT_EQ(back.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(back.to_vector(), img.to_vector());
  EXPECT_THROW(io::write_png_rgb(f.path, zeros({2, 3}, DType::u8)), Error);
}

TEST(Panel, HeatColourEndpointsAndLayout) {
  uint8_t c[3];
  eval::heat_colour(0, c);
  EXPECT_EQ((int)c[0] + c[1] + c[2], 0);
  eval::heat_colour(1, c);
  EXPECT_EQ((int)c[0] + c[1] + c[2], 3 * 255);
  eval::heat_colour(1.0 / 3.0, c);
  EXPECT_EQ(c[0], 255);
  EXPECT_EQ(c[1], 0);

  // 2 slices of 4×5; slice 1 holds the truth.
  Tensor img = full({2, 4, 5}, 0.5), rec = full({2, 4, 5}, 0.25), map = zeros({2, 4, 5});
  Tensor seg = zeros({2, 4, 5}, DType::u8), truth = zeros({2, 4, 5}, DType::u8);
  map.data<float>()[20 + 7] = 1.0f;
  seg.data<uint8_t>()[20 + 7] = 1;
  truth.data<uint8_t>()[20 + 7] = 1;
  EXPECT_EQ(eval::panel_slice(map, truth), 1);
  EXPECT_EQ(eval::panel_slice(map, Tensor()), 1);
  eval::PanelOptions o;
  o.radiological = false;
  o.scale = 1;
  o.gap = 1;
  o.threshold = 0.5;  // map range [0, 1]
  Tensor pan = eval::render_panel(img, rec, map, seg, truth, 1, o);
  ASSERT_EQ(pan.shape(), (Shape{4, 4 * 5 + 3, 3}));
  const uint8_t* q = pan.data<uint8_t>();
  auto px = [&](int y, int x, int ch) { return (int)q[(y * 23 + x) * 3 + ch]; };
  EXPECT_EQ(px(0, 0, 0), 128);           // input grey 0.5
  EXPECT_EQ(px(0, 6, 0), 64);            // reconstruction grey 0.25
  EXPECT_EQ(px(1, 12 + 2, 0), 255);      // map maximum: white
  EXPECT_EQ(px(1, 12 + 2, 2), 255);
  EXPECT_EQ(px(1, 18 + 2, 1), 230);      // a one-voxel truth is all edge: green
  EXPECT_EQ(px(0, 18, 0), 128);          // elsewhere the grey input
  EXPECT_THROW(eval::render_panel(img, rec, map, seg, truth, 2, o), Error);
  // Radiological: image (row 1, column 2) is drawn at row H − 1 − 1 = 2, column W − 1 − 2 = 2
  // of its panel; (row 1, column 1) moves to column 3.
  o.radiological = true;
  map.data<float>()[20 + 6] = 1.0f;  // (row 1, column 1)
  Tensor flipped = eval::render_panel(img, rec, map, seg, truth, 1, o);
  auto fpx = [&](int y, int x, int ch) { return (int)flipped.data<uint8_t>()[(y * 23 + x) * 3 + ch]; };
  EXPECT_EQ(fpx(2, 12 + 2, 2), 255);
  EXPECT_EQ(fpx(2, 12 + 3, 2), 255);
  EXPECT_EQ(fpx(2, 12 + 1, 2), 0);
  EXPECT_EQ(fpx(1, 12 + 2, 2), 0);
}

}  // namespace
}  // namespace uad
