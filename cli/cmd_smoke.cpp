// `uad smoke`: a tiny convolutional autoencoder trained for a few Adam steps on synthetic
// Gaussian blobs ([N,1,32,32]), printing its loss — the end-to-end check of the engine core
// (forward, autograd, optimiser) until the detection pipeline lands.
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "tensor/device.h"
#include "tensor/ops.h"
#include "train/optim.h"
#include "train/progress.h"

namespace uad::cli {

namespace {

struct SmokeOptions {
  int steps = 60;
  int batch = 8;
  uint64_t seed = 0;
  double lr = 3e-3;
  std::string device = "auto";
};

/// N images [N,1,S,S] of 1–3 Gaussian blobs with random centres, widths and amplitudes in [0,1].
Tensor make_blobs(int64_t n, int64_t s, Generator& g) {
  Tensor coords = arange(s) * (1.0 / (double)(s - 1));              // [S]
  Tensor yy = coords.reshape({1, 1, s, 1}), xx = coords.reshape({1, 1, 1, s});
  Tensor img = zeros({n, 1, s, s});
  for (int k = 0; k < 3; ++k) {
    Tensor c = rand({n, 4, 1, 1}, g);                               // cy, cx, width, amplitude
    Tensor cy = c.slice(1, 0, 1) * 0.6 + 0.2, cx = c.slice(1, 1, 2) * 0.6 + 0.2;
    Tensor w = c.slice(1, 2, 3) * 0.08 + 0.04, a = c.slice(1, 3, 4);
    Tensor d2 = square(yy - cy) + square(xx - cx);
    img = img + a * exp(neg(d2 / (2.0 * square(w))));
  }
  return clamp(img, 0.0, 1.0);
}

/// Uniform(−1/√fan_in, 1/√fan_in), PyTorch's default initialisation of conv/linear layers.
Tensor init_param(const Shape& s, int64_t fan_in, Generator& g) {
  double b = 1.0 / std::sqrt((double)fan_in);
  Tensor t = (rand(s, g) * (2.0 * b) - b).detach();
  t.requires_grad_();
  return t;
}

struct TinyAE {
  Tensor c1w, c1b, c2w, c2b, l1w, l1b, l2w, l2b, t1w, t1b, t2w, t2b;
  explicit TinyAE(Generator& g)
      : c1w(init_param({8, 1, 3, 3}, 9, g)), c1b(init_param({8}, 9, g)),
        c2w(init_param({16, 8, 3, 3}, 72, g)), c2b(init_param({16}, 72, g)),
        l1w(init_param({32, 1024}, 1024, g)), l1b(init_param({32}, 1024, g)),
        l2w(init_param({1024, 32}, 32, g)), l2b(init_param({1024}, 32, g)),
        t1w(init_param({16, 8, 3, 3}, 72, g)), t1b(init_param({8}, 72, g)),
        t2w(init_param({8, 1, 3, 3}, 9, g)), t2b(init_param({1}, 9, g)) {}
  std::vector<Tensor> params() const { return {c1w, c1b, c2w, c2b, l1w, l1b, l2w, l2b, t1w, t1b, t2w, t2b}; }
  /// Moves the parameters to device d (new leaves: call before building the optimiser).
  void to(Device d) {
    for (Tensor* t : {&c1w, &c1b, &c2w, &c2b, &l1w, &l1b, &l2w, &l2b, &t1w, &t1b, &t2w, &t2b}) {
      *t = t->to(d).detach();
      t->requires_grad_();
    }
  }
  /// x: [N,1,32,32] → reconstruction [N,1,32,32] through a 32-d latent.
  Tensor forward(const Tensor& x) const {
    const int64_t n = x.size(0);
    Tensor h = leaky_relu(conv2d(x, c1w, c1b, {2}, {1}), 0.2);     // [N,8,16,16]
    h = leaky_relu(conv2d(h, c2w, c2b, {2}, {1}), 0.2);            // [N,16,8,8]
    Tensor z = linear(h.reshape({n, 1024}), l1w, l1b);             // [N,32]
    h = leaky_relu(linear(z, l2w, l2b), 0.2).reshape({n, 16, 8, 8});
    h = leaky_relu(conv_transpose2d(h, t1w, t1b, {2}, {1}, {1}), 0.2);  // [N,8,16,16]
    return sigmoid(conv_transpose2d(h, t2w, t2b, {2}, {1}, {1}));       // [N,1,32,32]
  }
};

void run_smoke(const SmokeOptions& o) {
  std::string note;
  const Device device = select_device(o.device, &note);
  std::printf("%s\n", note.c_str());
  std::fflush(stdout);  // before the progress bar, which writes to stderr
  Generator g(o.seed);
  Tensor data = make_blobs(o.batch, 32, g).to(device);
  TinyAE ae(g);
  ae.to(device);
  train::Adam opt(ae.params(), {.lr = o.lr});
  double first = 0;
  train::ProgressBar bar(o.steps, "smoke");
  for (int s = 1; s <= o.steps; ++s) {
    Tensor loss = mse_loss(ae.forward(data), data);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (s == 1) first = loss.item();
    char buf[64];
    std::snprintf(buf, sizeof buf, "loss %.5f", loss.item());
    bar.update(s, buf);
  }
  double last;
  {
    NoGradGuard ng;
    last = mse_loss(ae.forward(data), data).item();  // after the last update
  }
  bar.finish();
  std::printf("tiny autoencoder, %d Adam steps on %d synthetic 32x32 slices: MSE %.5f -> %.5f (%.1fx lower) in %s\n",
              o.steps, o.batch, first, last, first / last, train::format_duration(bar.elapsed()).c_str());
  if (!(last < first)) fail("smoke: the loss did not decrease (", first, " -> ", last, ")");
}

}  // namespace

void add_smoke_command(CLI::App& app) {
  static SmokeOptions o;
  auto* cmd = app.add_subcommand("smoke", "Train a tiny autoencoder for a few steps on synthetic blobs and print its loss");
  cmd->add_option("--steps", o.steps, "Adam steps")->check(CLI::Range(1, 100000));
  cmd->add_option("--batch-size", o.batch, "slices per batch")->check(CLI::Range(1, 4096));
  cmd->add_option("--seed", o.seed, "Philox seed");
  cmd->add_option("--lr", o.lr, "Adam learning rate");
  cmd->add_option("--device", o.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->callback([] { run_smoke(o); });
}

}  // namespace uad::cli
