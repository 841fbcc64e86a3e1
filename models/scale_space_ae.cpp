// Scale-space autoencoder (models/scale_space_ae.h).
#include "models/scale_space_ae.h"

#include "tensor/ops.h"

namespace uad::models {

// ---- pyramid ---------------------------------------------------------------------------------------

namespace {

Tensor down2(const Tensor& x) { return avg_pool2d(x, {2, 2}, {2, 2}); }

Tensor up_to(const Tensor& x, const Tensor& like) { return upsample_linear(x, {like.size(2), like.size(3)}); }

}  // namespace

std::vector<Tensor> laplacian_pyramid(const Tensor& x, int levels) {
  check(levels >= 1 && levels <= 30, "laplacian_pyramid: levels must be in [1,30], got ", levels);
  const int64_t f = (int64_t)1 << (levels - 1);
  check(x.defined() && x.dim() == 4 && x.size(2) % f == 0 && x.size(3) % f == 0 && x.size(2) >= f && x.size(3) >= f,
        "laplacian_pyramid: expected x [N,C,H,W] with H, W divisible by 2^(levels-1) = ", f, ", got ",
        x.defined() ? shape_str(x.shape()) : "undefined");
  std::vector<Tensor> p;
  Tensor g = x;
  for (int l = 0; l + 1 < levels; ++l) {
    Tensor next = down2(g);
    p.push_back(g - up_to(next, g));
    g = next;
  }
  p.push_back(g);
  return p;
}

Tensor collapse_pyramid(const std::vector<Tensor>& pyramid) {
  check(!pyramid.empty(), "collapse_pyramid: empty pyramid");
  Tensor g = pyramid.back();
  for (int l = (int)pyramid.size() - 2; l >= 0; --l) {
    const Tensor& b = pyramid[(size_t)l];
    check(b.dim() == 4 && g.dim() == 4 && b.size(2) == 2 * g.size(2) && b.size(3) == 2 * g.size(3),
          "collapse_pyramid: level ", l, " ", shape_str(b.shape()), " is not twice level ", l + 1, " ",
          shape_str(g.shape()));
    g = b + up_to(g, b);
  }
  return g;
}

// ---- configuration -------------------------------------------------------------------------------

UnifiedConfig ScaleSpaceConfig::level_config(int l) const {
  UnifiedConfig c = unified;
  c.image_size = unified.image_size >> l;
  return c;
}

void ScaleSpaceConfig::validate() const {
  unified.validate();
  check(levels >= 1 && levels <= 30 && (unified.image_size >> (levels - 1)) > unified.bottleneck, "ScaleSpaceConfig: levels ", levels,
        " at image_size ", unified.image_size, " leaves a coarsest level not larger than the bottleneck ", unified.bottleneck);
}

// ---- model -----------------------------------------------------------------------------------------

ScaleSpaceAE::ScaleSpaceAE(const ScaleSpaceConfig& cfg, Generator& g) : cfg_(cfg) {
  cfg_.validate();
  for (int l = 0; l < cfg_.levels; ++l)
    aes_.push_back(register_module("level" + std::to_string(l),
                                   std::make_shared<UnifiedAE>(cfg_.level_config(l), /*spatial=*/false, g)));
}

void ScaleSpaceAE::check_input(const Tensor& x, const char* op) const {
  const int64_t s = cfg_.unified.image_size;
  check(x.defined() && x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s && is_floating(x.dtype()),
        "ScaleSpaceAE::", op, ": expected x [N,1,", s, ",", s, "] f32/f64, got ",
        x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

std::vector<Tensor> ScaleSpaceAE::reconstruct_pyramid(const Tensor& x) {
  check_input(x, "reconstruct_pyramid");
  std::vector<Tensor> p = laplacian_pyramid(x, cfg_.levels);
  for (size_t l = 0; l < p.size(); ++l) p[l] = aes_[l]->reconstruct(p[l]);
  return p;
}

Tensor ScaleSpaceAE::reconstruct(const Tensor& x) { return collapse_pyramid(reconstruct_pyramid(x)); }

LossTerms ScaleSpaceAE::loss(const Tensor& x) {
  check_input(x, "loss");
  std::vector<Tensor> p = laplacian_pyramid(x, cfg_.levels);
  LossTerms out;
  for (size_t l = 0; l < p.size(); ++l) {
    Tensor t = l1_loss(aes_[l]->reconstruct(p[l]), p[l], Reduction::batch_mean);
    out.total = out.total.defined() ? out.total + t : t;
    out.parts.push_back({"l1_" + std::to_string(l), t});
  }
  return out;
}

std::vector<ModelSpec> scale_space_family() {
  const ScaleSpaceConfig c;
  return {{"scale_space_ae", Shape{1, c.unified.image_size, c.unified.image_size},
           "003 §3.4.4 (scale-space AE, MICCAI 2020): 3-level Laplacian pyramid (128, 64, 32), one dense unified AE "
           "per level; domain_spec §6",
           [c](Generator& g) -> std::shared_ptr<ReconstructionModel> { return std::make_shared<ScaleSpaceAE>(c, g); }}};
}

}  // namespace uad::models
