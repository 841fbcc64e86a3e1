// Bayesian Skip-AE (003 §3.4.3, Baur et al. ISBI 2020 "Bayesian Skip-Autoencoders for
// Unsupervised Hyperintense Anomaly Detection in High Resolution Brain MRI"). No official code
// exists (domain_spec §6 ✘); the paper's idea — skip connections regularised with dropout so the
// AE cannot learn the identity, Monte-Carlo dropout at test time — is implemented after the
// third-party [STR] soumickmj/StRegA ceVae/skipae.py, adapted to 128×128:
//
//   x [N,1,128,128]
//   down1 Conv5×5 s1 p2 1→c1      + BN + ReLU  → x1 [N,c1,128,128]
//   down2 Conv5×5 s2 p2 c1→c2     + BN + ReLU  → x2 [N,c2,64,64]
//   down3 Conv5×5 s2 p2 c2→c3     + BN + ReLU  → x3 [N,c3,32,32]
//   down4 Conv5×5 s2 p2 c3→c4     + BN + ReLU  → x4 [N,c4,16,16]
//   down5 Conv5×5 s2 p2 c4→c5     + BN + ReLU  → x5 [N,c5,8,8]      (the bottleneck)
//   up1   ConvT5×5 s2 p2 op1 c5→c4 + BN + ReLU; y1 = up1(x5) + x4          (no dropout)
//   up2   ConvT5×5 s2 p2 op1 c4→c3 + BN + ReLU; y2 = Dropout(up2(y1) + x3)
//   up3   ConvT5×5 s2 p2 op1 c3→c2 + BN + ReLU; y3 = Dropout(up3(y2) + x2)
//   up4   ConvT5×5 s2 p2 op1 c2→c1 + BN + ReLU; y4 = Dropout(up4(y3) + x1)
//   out   (sigmoid, default) Conv1×1 c1→1 → sigmoid                       → x̂ [N,1,128,128]
//         (SkipOutput::str_tanh) ConvT1×1 c1→1 + BN(1) + ReLU → tanh      ([STR] exactly)
// Channels (c1..c5) = round(width·(64, 128, 256, 512, 64)); [STR] is width 1, dropout p = 0.1.
// Decisions:
//  - Output: sigmoid. Intensities are in [0,1]; [STR]'s ReLU → tanh also lands in [0,1) but its
//    ReLU cuts the gradient of every pixel whose pre-activation is negative (a dead output at
//    initialisation for about half of the pixels); a sigmoid reaches (0,1) smoothly. The [STR]
//    head is kept as an option.
//  - width default 0.5 (channels 32, 64, 128, 256, 32). The full [STR] widths cost ≈ 5.2 GMAC per
//    128² image forward (the unified AE ≈ 0.37): one training step at batch 8 (Adam, 2 cores,
//    2026-11-22) took 665 ms at width 1, 193 ms at 0.5, 60 ms at 0.25, against 58 ms for the
//    unified AE (ae_dense). 0.5 keeps half of [STR]'s widths at ≈ 3.3× the unified AE's step;
//    0.25 matches its time. SkipAEConfig::reference() gives [STR]'s network.
//  - The dropouts are nn::Dropout modules: active in training, and at inference after
//    nn::set_mc_dropout(model, true) (the Bayesian MC reconstructions of 003 §3.4.3); [STR]
//    constructs nn.Dropout inside forward, which is therefore always active, even in eval.
//  - PyTorch's initialisation and BatchNorm defaults (eps 1e-5, momentum 0.1), as [STR].
// Loss: L1 summed over pixels, averaged over the batch (the unified family's; parts {"l1"}).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "models/model.h"

namespace uad::models {

/// The output head of the Skip-AE (see the file comment).
enum class SkipOutput { sigmoid, str_tanh };

struct SkipAEConfig {
  int64_t image_size = 128;  // S: input [N,1,S,S]; a multiple of 16
  double width = 0.5;        // channel multiplier of [STR]'s (64,128,256,512,64)
  double dropout = 0.1;      // [STR]
  SkipOutput output = SkipOutput::sigmoid;
  nn::BatchNormOptions bn = nn::BatchNormOptions::pytorch();
  nn::Init init = nn::Init::pytorch;
  DType dtype = DType::f32;

  /// [STR]'s network: width 1, its ReLU → tanh head.
  static SkipAEConfig reference();
  /// (c1..c5) = max(1, round(width·(64,128,256,512,64))).
  std::vector<int64_t> channels() const;
  /// Throws uad::Error naming the bad field (image_size not a positive multiple of 16, width ≤ 0,
  /// dropout outside [0,1), non-floating dtype).
  void validate() const;
};

/// The Skip-AE. Children "down1".."down5", "up1".."up4" (Sequential [conv, BN, ReLU]), "drop2",
/// "drop3", "drop4" (the three Dropouts), "out" (Sequential head).
class SkipAE : public ReconstructionModel {
 public:
  SkipAE(const SkipAEConfig& cfg, Generator& g);
  /// x [N,1,S,S] → x̂ [N,1,S,S] ∈ [0,1]. Throws uad::Error naming the op and x's shape.
  Tensor reconstruct(const Tensor& x) override;
  /// L1sum batch mean, parts {"l1"}.
  LossTerms loss(const Tensor& x) override;
  const SkipAEConfig& config() const { return cfg_; }
  std::string type_name() const override { return "SkipAE"; }

 private:
  SkipAEConfig cfg_;
  std::vector<std::shared_ptr<nn::Sequential>> down_, up_;
  std::vector<std::shared_ptr<nn::Dropout>> drop_;
  std::shared_ptr<nn::Sequential> out_;
};

/// Registry entry "skip_ae" (128×128, width 0.5).
std::vector<ModelSpec> skip_ae_family();

}  // namespace uad::models
