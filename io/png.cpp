// PNG writing/reading with libpng. libpng reports errors by longjmp, so the libpng calls live in
// small C-style functions whose frames hold no C++ objects with destructors (the buffers they
// fill are owned by the caller); the error callback copies libpng's message for our uad::Error.
#include "io/png.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/atomic_file.h"

namespace uad::io {

namespace {

struct PngErr {
  char msg[256] = "unknown libpng error";
};

void on_error(png_structp png, png_const_charp msg) {
  auto* e = static_cast<PngErr*>(png_get_error_ptr(png));
  std::snprintf(e->msg, sizeof(e->msg), "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

bool png_write_rows(FILE* f, int w, int h, int channels, png_bytep* rows, PngErr* err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_error, on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

// Caller-owned result of png_read_all (filled inside; no destructor is skipped by longjmp).
struct PngImage {
  png_uint_32 w = 0, h = 0;
  int channels = 0;
  std::vector<png_byte> pixels;
  std::vector<png_bytep> rows;
};

bool png_read_all(FILE* f, PngImage* img, PngErr* err) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, err, on_error, on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_user_limits(png, 1u << 15, 1u << 15);
  png_init_io(png, f);
  png_read_info(png, info);
  const int ct = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ct == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_strip_16(png);
  if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
  png_read_update_info(png, info);
  img->w = png_get_image_width(png, info);
  img->h = png_get_image_height(png, info);
  img->channels = png_get_channels(png, info);
  const size_t rowbytes = png_get_rowbytes(png, info);
  img->pixels.resize(rowbytes * img->h);
  img->rows.resize(img->h);
  for (png_uint_32 y = 0; y < img->h; ++y) img->rows[y] = img->pixels.data() + y * rowbytes;
  png_read_image(png, img->rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

/// Writes 8-bit rows (C = 1 grey or 3 RGB) to `path` through a temporary file + rename.
void write_pixels(const std::string& path, std::vector<png_byte>& px, int64_t H, int64_t W, int C, const char* op) {
  std::vector<png_bytep> rows((size_t)H);
  for (int64_t y = 0; y < H; ++y) rows[(size_t)y] = px.data() + y * W * C;
  const std::string tmp = temp_path_for(path);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  check(f != nullptr, op, ": ", path, ": cannot create a temporary file in the destination directory");
  PngErr err;
  bool ok = png_write_rows(f, (int)W, (int)H, C, rows.data(), &err);
  ok = (std::fclose(f) == 0) && ok;
  if (!commit_temp(tmp, path, ok)) fail(op, ": ", path, ": write failed (", err.msg, "); nothing was written");
}

Tensor mask_f32(const Tensor& m, const Shape& shape, size_t k) {
  check(m.defined() && m.shape() == shape, "write_png: overlay ", k, " has shape ", m.defined() ? m.shape() : Shape{},
        ", the slice ", shape);
  return m.detach().to(DType::f32).contiguous();
}

}  // namespace

void write_png(const std::string& path, const Tensor& slice, double lo, double hi, const std::vector<PngOverlay>& overlays) {
  check(slice.defined() && slice.dim() == 2, "write_png: ", path, ": expected a 2-D slice [H,W], got ",
        slice.defined() ? slice.shape() : Shape{});
  check(std::isfinite(lo) && std::isfinite(hi) && hi > lo, "write_png: ", path, ": need lo < hi, got [", lo, ", ", hi, "]");
  const int64_t H = slice.size(0), W = slice.size(1);
  check(H >= 1 && W >= 1 && H <= (1 << 15) && W <= (1 << 15), "write_png: ", path, ": unsupported size ", slice.shape());
  Tensor s = slice.detach().to(DType::f32).contiguous();
  const float* v = s.data<float>();
  const int C = overlays.empty() ? 1 : 3;
  std::vector<png_byte> px((size_t)(H * W * C));
  for (int64_t p = 0; p < H * W; ++p) {
    const double t = std::isnan(v[p]) ? 0.0 : std::clamp(((double)v[p] - lo) / (hi - lo), 0.0, 1.0);
    const png_byte g = (png_byte)std::lround(255.0 * t);
    for (int c = 0; c < C; ++c) px[(size_t)(p * C + c)] = g;
  }
  for (size_t k = 0; k < overlays.size(); ++k) {
    const PngOverlay& o = overlays[k];
    check(o.alpha >= 0.f && o.alpha <= 1.f, "write_png: ", path, ": overlay ", k, " alpha ", o.alpha, " outside [0,1]");
    Tensor mf = mask_f32(o.mask, s.shape(), k);
    const float* m = mf.data<float>();
    auto in = [&](int64_t y, int64_t x) { return y >= 0 && y < H && x >= 0 && x < W && m[y * W + x] != 0.f; };
    const png_byte col[3] = {o.colour.r, o.colour.g, o.colour.b};
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        if (!in(y, x)) continue;
        png_byte* q = &px[(size_t)((y * W + x) * 3)];
        if (o.outline) {
          if (in(y - 1, x) && in(y + 1, x) && in(y, x - 1) && in(y, x + 1)) continue;
          for (int c = 0; c < 3; ++c) q[c] = col[c];
        } else {
          for (int c = 0; c < 3; ++c) q[c] = (png_byte)std::lround((1.0 - o.alpha) * q[c] + o.alpha * col[c]);
        }
      }
  }
  write_pixels(path, px, H, W, C, "write_png");
}

void write_png_rgb(const std::string& path, const Tensor& rgb) {
  check(rgb.defined() && rgb.dim() == 3 && rgb.size(2) == 3 && rgb.dtype() == DType::u8, "write_png_rgb: ", path,
        ": expected u8 [H,W,3], got ", rgb.defined() ? rgb.shape() : Shape{});
  const int64_t H = rgb.size(0), W = rgb.size(1);
  check(H >= 1 && W >= 1 && H <= (1 << 15) && W <= (1 << 15), "write_png_rgb: ", path, ": unsupported size ", rgb.shape());
  Tensor c = rgb.contiguous();
  std::vector<png_byte> px(c.data<uint8_t>(), c.data<uint8_t>() + H * W * 3);
  write_pixels(path, px, H, W, 3, "write_png_rgb");
}

Tensor read_png(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  check(f != nullptr, "read_png: ", path, ": cannot open (missing or unreadable)");
  png_byte sig[8] = {0};
  const bool is_png = std::fread(sig, 1, 8, f) == 8 && png_sig_cmp(sig, 0, 8) == 0;
  std::rewind(f);
  if (!is_png) {
    std::fclose(f);
    fail("read_png: ", path, ": not a PNG file");
  }
  PngImage img;
  PngErr err;
  const bool ok = png_read_all(f, &img, &err);
  std::fclose(f);
  check(ok, "read_png: ", path, ": corrupt PNG (", err.msg, ")");
  check(img.pixels.size() == (size_t)img.w * img.h * (size_t)img.channels, "read_png: ", path, ": unexpected row layout");
  Tensor t = empty({(int64_t)img.h, (int64_t)img.w, (int64_t)img.channels}, DType::u8);
  std::memcpy(t.raw(), img.pixels.data(), img.pixels.size());
  return t;
}

}  // namespace uad::io
