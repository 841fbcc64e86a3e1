// The unified dense autoencoder of the Baur/Denner comparative study, as a plain function of a
// struct of parameter Tensors (used by bench/bench_train_step.cpp and tests/test_parity_ae.cpp;
// its PyTorch twin, with the same parameter names, is tests/parity/unified_ae.py).
//
// Architecture (domain_spec.md §1.2, [SD] models/customlayers.py + models/autoencoder.py), input
// x: [N,1,S,S] with S = 128 (any S = 8·2⁴ works only for S = 128; the bottleneck is 8×8):
//   encoder    4 × [Conv2d 5×5 stride 2 pad 2 → BatchNorm → LeakyReLU(0.3)]
//              channels 1→32→64→128→128 (min(128, 32·2^i)), 128² → 64² → 32² → 16² → 8²
//   bottleneck Conv1×1 128→16 (linear) → flatten [N,1024] → Linear 1024→128 = z → dropout
//              → Linear 128→1024 → dropout → reshape [N,16,8,8] → Conv1×1 16→128
//   D0         BatchNorm → ReLU (the norm applied first, as the table says)
//   decoder    4 × [ConvTranspose2d 5×5 stride 2 pad 2 output_padding 1 → BatchNorm → LeakyReLU(0.3)]
//              channels 128→128→64→32→32 (max(32, 128/2^i)), 8² → 16² → … → 128²
//   out        Conv1×1 32→1, identity → x̂: [N,1,S,S]
// Choices, stated:
//  - Order inside a block: Conv → BN → LeakyReLU, as in [SD] customlayers.py (build_unified_encoder
//    appends Conv2D, BatchNormalization, LeakyReLU in that order; the spec's table lists the act
//    and norm columns, not their order).
//  - Dropout (rate 0.2 in training) on z AND after the decoding Dense, as [SD] autoencoder.py
//    applies its one dropout layer at both places.
//  - Real batch norm (batch statistics in training, running statistics in eval) with Keras'
//    constants eps = 1e-3, momentum 0.99 (= 0.01 in PyTorch's convention). [SD] actually never
//    trains its BN (domain_spec §1.2 ◐); this engine uses real BN deliberately.
//  - "same" padding: PyTorch-style symmetric pad 2 (TF pads 1 before / 2 after for an even input;
//    the output sizes are equal, the sampling grid is shifted by one pixel).
//  - Flatten in NCHW (C,H,W) order instead of TF's (H,W,C): a fixed permutation of the Dense
//    weights, equivalent for a network trained from scratch.
// Loss: L1 summed over pixels, averaged over the batch (Reduction::batch_mean, domain_spec §1.1).
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "tensor/ops.h"

namespace uad::bench {

/// Constants of the model (see the header comment for their sources).
struct UnifiedAEConfig {
  double slope = 0.3;          // Keras LeakyReLU() default α
  double bn_eps = 1e-3;        // Keras BatchNormalization epsilon
  double bn_momentum = 0.01;   // weight of the new batch statistic
  double dropout = 0.2;        // run.py default dropout_rate
  int64_t zdim = 128;
  int64_t mid_channels = 16;   // 128 / 8
  int64_t bottleneck = 8;      // intermediateResolutions
};

/// A batch-norm layer's affine parameters and running buffers, all [C].
struct BNParams {
  Tensor w, b, running_mean, running_var;
};

/// Every tensor of the model. Parameters are f32 leaves that require grad; running buffers do not.
struct UnifiedAEParams {
  Tensor enc_w[4], enc_b[4];  // [Cout,Cin,5,5], [Cout]
  BNParams enc_bn[4];
  Tensor mid_w, mid_b;        // [16,128,1,1], [16]
  Tensor fcz_w, fcz_b;        // [128,1024], [128]
  Tensor fcd_w, fcd_b;        // [1024,128], [1024]
  Tensor mid2_w, mid2_b;      // [128,16,1,1], [128]
  BNParams d0_bn;
  Tensor dec_w[4], dec_b[4];  // ConvTranspose [Cin,Cout,5,5], [Cout]
  BNParams dec_bn[4];
  Tensor out_w, out_b;        // [1,32,1,1], [1]

  /// Every tensor with its name (tests/parity/unified_ae.py names), parameters and buffers.
  std::vector<std::pair<std::string, Tensor>> named_tensors() const {
    std::vector<std::pair<std::string, Tensor>> v;
    auto bn = [&](const std::string& p, const BNParams& b) {
      v.push_back({p + "_bn_w", b.w});
      v.push_back({p + "_bn_b", b.b});
      v.push_back({p + "_bn_rm", b.running_mean});
      v.push_back({p + "_bn_rv", b.running_var});
    };
    for (int i = 0; i < 4; ++i) {
      v.push_back({"enc" + std::to_string(i) + "_w", enc_w[i]});
      v.push_back({"enc" + std::to_string(i) + "_b", enc_b[i]});
      bn("enc" + std::to_string(i), enc_bn[i]);
    }
    v.insert(v.end(), {{"mid_w", mid_w}, {"mid_b", mid_b}, {"fcz_w", fcz_w}, {"fcz_b", fcz_b},
                       {"fcd_w", fcd_w}, {"fcd_b", fcd_b}, {"mid2_w", mid2_w}, {"mid2_b", mid2_b}});
    bn("d0", d0_bn);
    for (int i = 0; i < 4; ++i) {
      v.push_back({"dec" + std::to_string(i) + "_w", dec_w[i]});
      v.push_back({"dec" + std::to_string(i) + "_b", dec_b[i]});
      bn("dec" + std::to_string(i), dec_bn[i]);
    }
    v.insert(v.end(), {{"out_w", out_w}, {"out_b", out_b}});
    return v;
  }
  /// The trainable parameters (everything but the running buffers), in named_tensors() order.
  std::vector<Tensor> parameters() const {
    std::vector<Tensor> v;
    for (auto& [n, t] : named_tensors())
      if (!is_buffer(n)) v.push_back(t);
    return v;
  }
  static bool is_buffer(const std::string& name) {
    return name.size() > 3 && (name.compare(name.size() - 3, 3, "_rm") == 0 || name.compare(name.size() - 3, 3, "_rv") == 0);
  }
};

/// Deterministic initialisation from Philox `seed`, PyTorch's default scheme: weights and biases
/// U(−1/√fan_in, 1/√fan_in) with fan_in = size(1)·kernel volume (for a transposed conv's
/// [Cin,Cout,k,k] weight that is Cout·k², as in PyTorch); BN γ = 1, β = 0, running mean 0, var 1.
inline UnifiedAEParams init_unified_ae(uint64_t seed, const UnifiedAEConfig& cfg = {}) {
  Generator g(seed);
  auto uni = [&](const Shape& s, int64_t fan_in) {
    double bound = 1.0 / std::sqrt((double)fan_in);
    Tensor t = (rand(s, g) * (2 * bound) - bound).contiguous();
    t.requires_grad_();
    return t;
  };
  // Any layer with weight shape ws (conv [O,I,*K], transposed conv [I,O,*K], linear [O,I]).
  auto conv = [&](Tensor& w, Tensor& b, const Shape& ws, int64_t out_ch) {
    int64_t fan_in = ws[1];
    for (size_t i = 2; i < ws.size(); ++i) fan_in *= ws[i];
    w = uni(ws, fan_in);
    b = uni({out_ch}, fan_in);
  };
  auto bn = [&](BNParams& p, int64_t c) {
    p.w = ones({c});
    p.w.requires_grad_();
    p.b = zeros({c});
    p.b.requires_grad_();
    p.running_mean = zeros({c});
    p.running_var = ones({c});
  };
  const int64_t enc[5] = {1, 32, 64, 128, 128}, dec[5] = {128, 128, 64, 32, 32};
  const int64_t flat = cfg.mid_channels * cfg.bottleneck * cfg.bottleneck;
  UnifiedAEParams p;
  for (int i = 0; i < 4; ++i) {
    conv(p.enc_w[i], p.enc_b[i], {enc[i + 1], enc[i], 5, 5}, enc[i + 1]);
    bn(p.enc_bn[i], enc[i + 1]);
  }
  conv(p.mid_w, p.mid_b, {cfg.mid_channels, enc[4], 1, 1}, cfg.mid_channels);
  conv(p.fcz_w, p.fcz_b, {cfg.zdim, flat}, cfg.zdim);
  conv(p.fcd_w, p.fcd_b, {flat, cfg.zdim}, flat);
  conv(p.mid2_w, p.mid2_b, {dec[0], cfg.mid_channels, 1, 1}, dec[0]);
  bn(p.d0_bn, dec[0]);
  for (int i = 0; i < 4; ++i) {
    conv(p.dec_w[i], p.dec_b[i], {dec[i], dec[i + 1], 5, 5}, dec[i + 1]);
    bn(p.dec_bn[i], dec[i + 1]);
  }
  conv(p.out_w, p.out_b, {1, dec[4], 1, 1}, 1);
  return p;
}

/// Forward pass. x: [N,1,128,128] f32 → x̂: [N,1,128,128]. training: BN uses (and updates the
/// running buffers from) batch statistics and dropout (rate cfg.dropout, Philox stream g) is
/// active; eval: running statistics, no dropout. `dropout_override` ≥ 0 replaces cfg.dropout
/// (the parity test turns dropout off with 0). Throws uad::Error (from the ops) on a bad shape.
inline Tensor unified_ae_forward(UnifiedAEParams& p, const Tensor& x, bool training, Generator& g,
                                 const UnifiedAEConfig& cfg = {}, double dropout_override = -1.0) {
  const double drop = dropout_override >= 0 ? dropout_override : cfg.dropout;
  auto bnorm = [&](const Tensor& h, BNParams& b) {
    return batch_norm(h, b.w, b.b, b.running_mean, b.running_var, training, cfg.bn_momentum, cfg.bn_eps);
  };
  Tensor h = x;
  for (int i = 0; i < 4; ++i) h = leaky_relu(bnorm(conv2d(h, p.enc_w[i], p.enc_b[i], {2}, {2}), p.enc_bn[i]), cfg.slope);
  h = conv2d(h, p.mid_w, p.mid_b);
  const Shape mid_shape{h.size(0), h.size(1), h.size(2), h.size(3)};
  Tensor z = dropout(linear(flatten(h, 1), p.fcz_w, p.fcz_b), drop, training, g);
  h = dropout(linear(z, p.fcd_w, p.fcd_b), drop, training, g);
  h = conv2d(reshape(h, mid_shape), p.mid2_w, p.mid2_b);
  h = relu(bnorm(h, p.d0_bn));
  for (int i = 0; i < 4; ++i)
    h = leaky_relu(bnorm(conv_transpose2d(h, p.dec_w[i], p.dec_b[i], {2}, {2}, {1}), p.dec_bn[i]), cfg.slope);
  return conv2d(h, p.out_w, p.out_b);
}

/// L1 summed over pixels, averaged over the batch (domain_spec §1.1). x_hat, x: [N,1,S,S] → [].
inline Tensor unified_ae_loss(const Tensor& x_hat, const Tensor& x) { return l1_loss(x_hat, x, Reduction::batch_mean); }

}  // namespace uad::bench
