// AE (dense) and AE (spatial) of the unified family (models/unified.h).
#include "tensor/ops.h"
#include "models/unified.h"

namespace uad::models {

UnifiedAE::UnifiedAE(const UnifiedConfig& cfg, bool spatial, Generator& g) : UnifiedModel(cfg), spatial_(spatial) {
  encoder_ = register_module("encoder", std::make_shared<UnifiedEncoder>(cfg_, g));
  if (spatial_)
    z_dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(cfg_.dropout));
  else
    bottleneck_ = register_module("bottleneck", std::make_shared<DenseBottleneck>(cfg_, /*variational=*/false, g));
  decoder_ = register_module("decoder", std::make_shared<UnifiedDecoder>(cfg_, g));
}

Tensor UnifiedAE::encode(const Tensor& x) {
  check_input(x, "encode");
  Tensor h = (*encoder_)(x);
  if (spatial_) return (*z_dropout_)(h);
  return bottleneck_->head_z(bottleneck_->features(h));
}

Tensor UnifiedAE::decode(const Tensor& z) {
  if (spatial_) {
    const int64_t c = cfg_.encoder_channels().back(), b = cfg_.bottleneck;
    check(z.defined() && z.dim() == 4 && z.size(1) == c && z.size(2) == b && z.size(3) == b, type_name(),
          "::decode: expected z [N,", c, ",", b, ",", b, "], got ", z.defined() ? shape_str(z.shape()) : "undefined");
    return (*decoder_)(z);
  }
  return (*decoder_)(bottleneck_->decode(z));
}

Tensor UnifiedAE::reconstruct(const Tensor& x) { return decode(encode(x)); }

LossTerms UnifiedAE::loss(const Tensor& x) {
  Tensor l1 = l1_loss(reconstruct(x), x, Reduction::batch_mean);
  return {l1, {{"l1", l1}}};
}

}  // namespace uad::models
