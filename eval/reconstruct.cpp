#include "eval/reconstruct.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "layers/dropout.h"
#include "tensor/autograd.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace uad::eval {

MapMethod parse_map_method(const std::string& name) {
  if (name == "residual") return MapMethod::residual;
  if (name == "monte_carlo" || name == "mc") return MapMethod::monte_carlo;
  if (name == "restoration") return MapMethod::restoration;
  if (name == "gradient") return MapMethod::gradient;
  fail("unknown anomaly-map method '", name, "'; valid: residual, monte_carlo (mc), restoration, gradient");
}

std::string map_method_name(MapMethod m) {
  switch (m) {
    case MapMethod::residual: return "residual";
    case MapMethod::monte_carlo: return "monte_carlo";
    case MapMethod::restoration: return "restoration";
    case MapMethod::gradient: return "gradient";
  }
  return "?";
}

void validate(const MapOptions& o) {
  check(o.batch >= 1, "anomaly map: batch must be >= 1, got ", o.batch);
  check(o.mc_samples >= 2, "anomaly map: mc_samples must be >= 2, got ", o.mc_samples);
  check(o.restoration_steps >= 1, "anomaly map: restoration_steps must be >= 1, got ", o.restoration_steps);
  check(o.restoration_lr > 0 && std::isfinite(o.restoration_lr), "anomaly map: restoration_lr must be > 0, got ",
        o.restoration_lr);
  check(o.tv_weight >= 0 && std::isfinite(o.tv_weight), "anomaly map: tv_weight must be >= 0, got ", o.tv_weight);
  check(o.gradient_factor > 0 && std::isfinite(o.gradient_factor), "anomaly map: gradient_factor must be > 0, got ",
        o.gradient_factor);
}

Tensor total_variation(const Tensor& d) {
  check(d.dim() == 4, "total_variation: expected [N,1,H,W], got ", d.shape());
  const int64_t H = d.size(2), W = d.size(3);
  Tensor tv = sum(abs(d.slice(2, 1, H) - d.slice(2, 0, H - 1))) + sum(abs(d.slice(3, 1, W) - d.slice(3, 0, W - 1)));
  return tv;
}

namespace {

bool is_volume_model(const Shape& model_input) { return model_input.size() == 4; }

void check_inputs(const char* op, const Shape& model_input, const Tensor& x, const Tensor& brain) {
  check(x.dim() == 3, op, ": expected a [Z,H,W] stack, got ", x.shape());
  check(brain.defined() && brain.shape() == x.shape(), op, ": brain mask ", brain.defined() ? brain.shape() : Shape{},
        " differs from the image ", x.shape());
  if (is_volume_model(model_input)) {
    check(x.shape() == Shape(model_input.begin() + 1, model_input.end()), op, ": the model takes volumes ",
          model_input, " but the input is ", x.shape());
  } else {
    check(model_input.size() == 3 && x.size(1) == model_input[1] && x.size(2) == model_input[2], op,
          ": the model takes slices ", model_input, " but the input's slices are ", Shape{x.size(1), x.size(2)});
  }
}

/// Indices z of the slices of a [Z,H,W] u8-able mask that contain at least one nonzero voxel.
std::vector<int64_t> brain_slices(const Tensor& brain) {
  Tensor b = brain.to(DType::u8).contiguous();
  const uint8_t* p = b.data<uint8_t>();
  const int64_t Z = b.size(0), n = b.size(1) * b.size(2);
  std::vector<int64_t> out;
  for (int64_t z = 0; z < Z; ++z) {
    const uint8_t* s = p + z * n;
    for (int64_t i = 0; i < n; ++i)
      if (s[i]) {
        out.push_back(z);
        break;
      }
  }
  return out;
}

/// The slices idx[b0..b1) of x [Z,H,W] as a batch [n,1,H,W] (f32, contiguous copy).
Tensor gather(const Tensor& x, const std::vector<int64_t>& idx, size_t b0, size_t b1) {
  const int64_t H = x.size(1), W = x.size(2);
  Tensor out = empty({(int64_t)(b1 - b0), 1, H, W});
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  for (size_t k = b0; k < b1; ++k) std::memcpy(dst + (k - b0) * H * W, src + idx[k] * H * W, sizeof(float) * H * W);
  return out;
}

/// Writes batch [n,1,H,W] into the slices idx[b0..b1) of out [Z,H,W].
void scatter(const Tensor& batch, const std::vector<int64_t>& idx, size_t b0, Tensor& out) {
  Tensor b = batch.detach().to(DType::f32).contiguous();
  const int64_t n = b.size(0), HW = b.size(2) * b.size(3);
  for (int64_t k = 0; k < n; ++k)
    std::memcpy(out.data<float>() + idx[b0 + k] * HW, b.data<float>() + k * HW, sizeof(float) * HW);
}

/// The loss the gradient-based methods differentiate: the sum of the parts "l1" and "kl" when
/// the model reports them (the VAE's negative ELBO; for the Context VAE this leaves out its
/// context branch, as domain_spec §1.3 scores with ∂(L1sum + KL)/∂x), else the total. The models'
/// losses are means over the batch; multiplied by N so every slice's gradient is its own.
Tensor elbo_loss(models::ReconstructionModel& m, const Tensor& x) {
  models::LossTerms t = m.loss(x);
  Tensor l;
  for (auto& [name, v] : t.parts)
    if (name == "l1" || name == "kl") l = l.defined() ? l + v : v;
  if (!l.defined()) l = t.total;
  return l * (double)x.size(0);
}

/// x̂ for one batch xb [n,1,H,W] (or [1,1,D,H,W]).
Tensor reconstruct_batch_on_device(models::ReconstructionModel& m, const Tensor& xb, const MapOptions& o) {
  switch (o.method) {
    case MapMethod::residual: {
      NoGradGuard ng;
      return m.reconstruct(xb);
    }
    case MapMethod::monte_carlo: {
      NoGradGuard ng;
      Tensor acc = zeros(xb.shape(), DType::f32, xb.device());
      for (int s = 0; s < o.mc_samples; ++s) acc = acc + m.reconstruct(xb).to(DType::f32);
      return acc / (double)o.mc_samples;
    }
    case MapMethod::restoration: {
      Tensor xr = xb.clone();
      for (int s = 0; s < o.restoration_steps; ++s) {
        Tensor v = xr.detach();
        v.requires_grad_(true);
        Tensor l = elbo_loss(m, v);
        if (o.tv_weight > 0) l = l + o.tv_weight * total_variation(v - xb);
        Tensor g = grad({l}, {v})[0];
        NoGradGuard ng;
        // Projected step: the restored image stays an image of the model's input range [0,1]
        // (a large step would otherwise leave the range the model knows and diverge).
        xr = clamp(v.detach() - o.restoration_lr * g, 0.0, 1.0);
      }
      return xr;
    }
    case MapMethod::gradient: {
      Tensor v = xb.clone();
      v.requires_grad_(true);
      Tensor xhat;
      {
        NoGradGuard ng;
        xhat = m.reconstruct(xb);
      }
      Tensor g = grad({elbo_loss(m, v)}, {v})[0];
      NoGradGuard ng;
      Tensor a = abs(xb - xhat) * abs(g);
      return xb - o.gradient_factor * a;
    }
  }
  fail("anomaly map: unknown method");
}

/// reconstruct_batch_on_device with xb moved to the model's device and the result back to the CPU.
Tensor reconstruct_batch(models::ReconstructionModel& m, const Tensor& xb, const MapOptions& o) {
  const Device d = m.device();
  return reconstruct_batch_on_device(m, xb.to(d), o).detach().to(Device::cpu);
}

/// Switches the model into the state a method needs and back (RAII).
struct MethodScope {
  models::ReconstructionModel& m;
  Generator gen;
  MethodScope(models::ReconstructionModel& model, const MapOptions& o) : m(model), gen(o.seed) {
    m.eval();
    m.set_generator(&gen);
    if (o.method == MapMethod::monte_carlo) {
      const int dropouts = nn::set_mc_dropout(m, true);
      const bool sampling = m.set_mc_sampling(true);
      if (dropouts == 0 && !sampling) {
        restore();
        fail("anomaly map: monte_carlo needs a model with dropout or a sampled latent; '", m.type_name(),
             "' has neither (use --method residual)");
      }
    }
  }
  void restore() {
    nn::set_mc_dropout(m, false);
    m.set_mc_sampling(false);
    m.set_generator(nullptr);
    m.eval();
  }
  ~MethodScope() { restore(); }
};

}  // namespace

Tensor reconstruct_stack(models::ReconstructionModel& model, const Shape& model_input, const Tensor& x_in,
                         const Tensor& brain, const MapOptions& o, ReconstructStats* stats) {
  validate(o);
  check_inputs("reconstruct_stack", model_input, x_in, brain);
  const Tensor x = x_in.to(DType::f32).contiguous();
  Tensor out = x.clone();
  MethodScope scope(model, o);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t passed = 0;
  try {
    if (is_volume_model(model_input)) {
      if (!brain_slices(brain).empty()) {
        Tensor xb = x.reshape({1, 1, x.size(0), x.size(1), x.size(2)});
        Tensor r = reconstruct_batch(model, xb, o).detach().to(DType::f32).contiguous();
        std::memcpy(out.data<float>(), r.data<float>(), sizeof(float) * x.numel());
        passed = 1;
      }
    } else {
      const std::vector<int64_t> idx = brain_slices(brain);
      for (size_t b0 = 0; b0 < idx.size(); b0 += (size_t)o.batch) {
        const size_t b1 = std::min(idx.size(), b0 + (size_t)o.batch);
        scatter(reconstruct_batch(model, gather(x, idx, b0, b1), o), idx, b0, out);
      }
      passed = (int64_t)idx.size();
    }
  } catch (const Error& e) {
    fail("reconstruct_stack (", map_method_name(o.method), ", model '", model.type_name(), "'): ", e.what());
  }
  if (stats) {
    stats->slices += passed;
    stats->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return out;
}

double model_image_score(models::ReconstructionModel& model, const Shape& model_input, const Tensor& x_in,
                         const Tensor& brain, int64_t batch) {
  check_inputs("model_image_score", model_input, x_in, brain);
  check(batch >= 1, "model_image_score: batch must be >= 1");
  const Tensor x = x_in.to(DType::f32).contiguous();
  NoGradGuard ng;
  model.eval();
  if (is_volume_model(model_input)) {
    Tensor s = model.image_score(x.reshape({1, 1, x.size(0), x.size(1), x.size(2)}).to(model.device()));
    return s.defined() ? sum(s.to(DType::f64)).item() : std::numeric_limits<double>::quiet_NaN();
  }
  const std::vector<int64_t> idx = brain_slices(brain);
  double total = 0;
  for (size_t b0 = 0; b0 < idx.size(); b0 += (size_t)batch) {
    const size_t b1 = std::min(idx.size(), b0 + (size_t)batch);
    Tensor s = model.image_score(gather(x, idx, b0, b1).to(model.device()));
    if (!s.defined()) return std::numeric_limits<double>::quiet_NaN();
    total += sum(s.to(DType::f64)).item();
  }
  return idx.empty() ? 0.0 : total / (double)idx.size();
}

}  // namespace uad::eval
