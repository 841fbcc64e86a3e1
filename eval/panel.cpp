#include "eval/panel.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tensor/error.h"

namespace uad::eval {

void heat_colour(double t, uint8_t rgb[3]) {
  t = std::isnan(t) ? 0.0 : std::clamp(t, 0.0, 1.0);
  // Three linear ramps: red rises on [0,1/3], green on [1/3,2/3], blue on [2/3,1].
  auto ramp = [&](double a) { return (uint8_t)std::lround(255.0 * std::clamp((t - a) * 3.0, 0.0, 1.0)); };
  rgb[0] = ramp(0.0);
  rgb[1] = ramp(1.0 / 3.0);
  rgb[2] = ramp(2.0 / 3.0);
}

int64_t panel_slice(const Tensor& map, const Tensor& truth) {
  check(map.defined() && map.dim() == 3, "panel_slice: expected a [Z,H,W] map, got ", map.defined() ? map.shape() : Shape{});
  const int64_t Z = map.size(0), n = map.size(1) * map.size(2);
  if (truth.defined()) {
    check(truth.shape() == map.shape(), "panel_slice: truth ", truth.shape(), " differs from the map ", map.shape());
    Tensor t = truth.to(DType::f32).contiguous();
    const float* p = t.data<float>();
    int64_t best = -1, best_count = 0;
    for (int64_t z = 0; z < Z; ++z) {
      int64_t c = 0;
      for (int64_t i = 0; i < n; ++i) c += p[z * n + i] != 0.f;
      if (c > best_count) best_count = c, best = z;
    }
    if (best >= 0) return best;
  }
  Tensor m = map.to(DType::f32).contiguous();
  const float* p = m.data<float>();
  int64_t arg = 0;
  for (int64_t i = 1; i < m.numel(); ++i)
    if (p[i] > p[arg]) arg = i;
  return arg / n;
}

Tensor render_panel(const Tensor& image, const Tensor& recon, const Tensor& map, const Tensor& segmentation,
                    const Tensor& truth, int64_t z, const PanelOptions& o) {
  check(image.defined() && image.dim() == 3, "render_panel: expected [Z,H,W] stacks, got ",
        image.defined() ? image.shape() : Shape{});
  for (const Tensor* t : {&recon, &map, &segmentation})
    check(t->defined() && t->shape() == image.shape(), "render_panel: shapes differ: image ", image.shape(), ", other ",
          t->defined() ? t->shape() : Shape{});
  check(!truth.defined() || truth.shape() == image.shape(), "render_panel: truth ", truth.shape(), " differs from ",
        image.shape());
  check(z >= 0 && z < image.size(0), "render_panel: slice ", z, " outside [0, ", image.size(0), ")");
  check(o.scale >= 1 && o.gap >= 0 && o.image_max > 0, "render_panel: need scale >= 1, gap >= 0, image_max > 0");
  const int64_t H = image.size(1), W = image.size(2), n = H * W;
  auto slice_f32 = [&](const Tensor& t) { return t.slice(0, z, z + 1).to(DType::f32).contiguous(); };
  const Tensor xi = slice_f32(image), xr = slice_f32(recon), xm = slice_f32(map), xs = slice_f32(segmentation);
  const Tensor xt = truth.defined() ? slice_f32(truth) : Tensor();
  const float *pi = xi.data<float>(), *pr = xr.data<float>(), *pm = xm.data<float>(), *ps = xs.data<float>();
  const float* pt = xt.defined() ? xt.data<float>() : nullptr;
  double map_max = o.map_max;
  if (map_max <= 0) map_max = 2.0 * o.threshold;
  if (map_max <= 0) map_max = *std::max_element(pm, pm + n);
  if (!(map_max > 0)) map_max = 1.0;

  const int64_t Wt = 4 * W + 3 * o.gap;
  Tensor out = zeros({H * o.scale, Wt * o.scale, 3}, DType::u8);
  uint8_t* q = out.data<uint8_t>();
  auto put = [&](int64_t y, int64_t x, const uint8_t c[3]) {
    if (o.radiological) y = H - 1 - y, x = (x / (W + o.gap)) * (W + o.gap) + (W - 1 - x % (W + o.gap));
    for (int dy = 0; dy < o.scale; ++dy)
      for (int dx = 0; dx < o.scale; ++dx) {
        uint8_t* p = q + (((y * o.scale + dy) * Wt * o.scale) + x * o.scale + dx) * 3;
        p[0] = c[0], p[1] = c[1], p[2] = c[2];
      }
  };
  auto grey = [&](double v) {
    const uint8_t g = (uint8_t)std::lround(255.0 * std::clamp(std::isnan(v) ? 0.0 : v / o.image_max, 0.0, 1.0));
    return std::array<uint8_t, 3>{g, g, g};
  };
  auto in_truth = [&](int64_t y, int64_t x) { return pt && y >= 0 && y < H && x >= 0 && x < W && pt[y * W + x] != 0.f; };
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const int64_t i = y * W + x;
      auto g = grey(pi[i]);
      put(y, x, g.data());
      auto r = grey(pr[i]);
      put(y, W + o.gap + x, r.data());
      uint8_t h[3];
      heat_colour(pm[i] / map_max, h);
      put(y, 2 * (W + o.gap) + x, h);
      std::array<uint8_t, 3> c = g;
      if (ps[i] != 0.f)
        c = {(uint8_t)std::lround(0.45 * c[0] + 0.55 * 255), (uint8_t)std::lround(0.45 * c[1]),
             (uint8_t)std::lround(0.45 * c[2])};
      const bool edge = in_truth(y, x) &&
                        !(in_truth(y - 1, x) && in_truth(y + 1, x) && in_truth(y, x - 1) && in_truth(y, x + 1));
      if (edge) c = {0, 230, 0};
      put(y, 3 * (W + o.gap) + x, c.data());
    }
  return out;
}

}  // namespace uad::eval
