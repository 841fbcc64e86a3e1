// layers/: the Module registry (dotted names, train/eval, state dicts, errors), every layer
// (output shape, PyTorch's parameter count, equality with the functional op on the same weights,
// train/eval behaviour), initialiser statistics, and checkpoint round trips through safetensors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "layers/layers.h"
#include "tests/error_of.h"
#include "tests/gradcheck.h"
#include "train/optim.h"

using namespace uad;
using namespace uad::nn;
using uad::test::error_of;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& v) {
  std::vector<std::string> n;
  for (auto& [k, _] : v) n.push_back(k);
  return n;
}

/// A small model as the next session's models will be written: a subclass registering children.
struct TinyNet : Module {
  std::shared_ptr<Sequential> enc;
  std::shared_ptr<Linear> head;
  std::shared_ptr<Dropout> drop;
  explicit TinyNet(Generator& g, Init init = Init::pytorch) {
    ConvOptions c{.stride = {2}, .padding = {1}, .init = init};
    enc = register_module("enc", make_sequential({std::make_shared<Conv2d>(1, 4, 3, c, g),
                                                  std::make_shared<BatchNorm>(4, BatchNormOptions::keras(), g),
                                                  std::make_shared<LeakyReLU>(0.3), std::make_shared<Conv2d>(4, 8, 3, c, g),
                                                  std::make_shared<Flatten>()}));
    drop = register_module("drop", std::make_shared<Dropout>(0.5));
    head = register_module("head", std::make_shared<Linear>(8 * 2 * 2, 3, LinearOptions{.init = init}, g));
  }
  std::string type_name() const override { return "TinyNet"; }
  Tensor forward(const Tensor& x) override { return (*head)((*drop)((*enc)(x))); }
};

/// A fresh temporary file path (removed by the caller's TempFile).
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name) {
    path = (std::filesystem::temp_directory_path() / ("uad_layers_" + std::to_string(::getpid()) + "_" + name)).string();
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

// ---- Module mechanics --------------------------------------------------------------------------

TEST(Module, DottedNamesBuffersAndCounts) {
  Generator g(1);
  TinyNet net(g);
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"enc.0.weight", "enc.0.bias", "enc.1.weight", "enc.1.bias", "enc.3.weight", "enc.3.bias",
                                      "head.weight", "head.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()), (std::vector<std::string>{"enc.1.running_mean", "enc.1.running_var"}));
  // PyTorch's counts: Conv2d(1,4,3) 36+4, BN(4) 8, Conv2d(4,8,3) 288+8, Linear(32,3) 96+3.
  EXPECT_EQ(net.num_parameters(), 40 + 8 + 296 + 99);
  EXPECT_EQ(net.parameters().size(), 8u);
  for (const Tensor& p : net.parameters()) EXPECT_TRUE(p.requires_grad() && p.is_leaf() && p.is_contiguous());
  StateDict sd = net.state_dict();
  EXPECT_EQ(sd.size(), 10u);
  EXPECT_EQ(sd.at("enc.1.running_var").to_vector(), std::vector<double>(4, 1.0));
  EXPECT_EQ(net.child("enc")->child("0")->param("weight").shape(), (Shape{4, 1, 3, 3}));
  EXPECT_TRUE(contains(error_of([&] { net.param("nope"); }), "TinyNet: no parameter named 'nope'"));
  EXPECT_TRUE(contains(error_of([&] { net.child("x"); }), "no child module named 'x'"));
  EXPECT_TRUE(contains(error_of([&] { net.forward(ones({1, 2, 8, 8})); }), "Conv2d(1, 4): expected input [N,1,H,W], got [1,2,8,8]"));
  Module plain;
  EXPECT_TRUE(contains(error_of([&] { plain.forward(ones({2})); }), "Module: no single-input forward"));
  const std::string r = net.repr();
  EXPECT_TRUE(contains(r, "TinyNet()")) << r;
  EXPECT_TRUE(contains(r, "0: Conv2d(1, 4, kernel=[3,3], stride=[2,2], padding=[1,1]")) << r;
  EXPECT_TRUE(contains(r, "1: BatchNorm(4, eps=0.001, momentum=0.01)")) << r;
}

TEST(Module, RegistrationRules) {
  struct Bad : Module {
    void run(int which) {
      if (which == 0) register_parameter("w.x", ones({1}));
      if (which == 1) {
        register_parameter("w", ones({1}));
        register_buffer("w", ones({1}));
      }
      if (which == 2) register_parameter("", ones({1}));
      if (which == 3) register_module("m", std::shared_ptr<Module>());
      if (which == 4) register_parameter("i", ones({1}, DType::i32));
    }
  };
  const char* expect[] = {"contains a '.'", "'w': the name is already taken", "empty name", "child module 'm' is null",
                          "must be f32/f64"};
  for (int i = 0; i < 5; ++i) {
    Bad b;
    EXPECT_TRUE(contains(error_of([&] { b.run(i); }), expect[i])) << i;
  }
}

TEST(Module, SharedChildCountedOnceAndTrainEvalRecursive) {
  Generator g(2);
  auto lin = std::make_shared<Linear>(3, 3, LinearOptions{}, g);
  Sequential s{lin, std::make_shared<Tanh>(), lin};  // the same layer twice (weight tying)
  EXPECT_EQ(s.named_parameters().size(), 4u);  // as PyTorch's state_dict: both names
  EXPECT_EQ(s.parameters().size(), 2u);        // but an optimiser sees each tensor once
  EXPECT_EQ(s.num_parameters(), 12);
  EXPECT_TRUE(s.is_training() && lin->is_training());
  s.eval();
  EXPECT_FALSE(s.is_training() || lin->is_training() || s[1]->is_training());
  s.train();
  EXPECT_TRUE(s[1]->is_training());
  EXPECT_TRUE(contains(error_of([&] { s.at(3); }), "index 3 out of range for 3 modules"));
}

TEST(Module, LoadStateDictCopiesIntoExistingTensors) {
  Generator g1(11), g2(22);
  TinyNet a(g1), b(g2);
  std::vector<Tensor> params = b.parameters();
  train::Adam opt(params, {});
  const void* before = params[0].raw();
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.parameters()[0].raw(), before) << "same storage: the optimiser keeps its references";
  for (auto& [n, t] : a.state_dict()) EXPECT_EQ(b.state_dict().at(n).to_vector(), t.to_vector()) << n;
  EXPECT_EQ(params[0].to_vector(), a.parameters()[0].to_vector());
  // The copy is independent of the source afterwards.
  init::constant_(a.parameters()[0], 5.0);
  EXPECT_NE(params[0].to_vector(), a.parameters()[0].to_vector());
}

TEST(Module, LoadStateDictErrorsNameTheKeys) {
  Generator g(3), g2(4);
  TinyNet net(g), other(g2);
  const std::vector<double> before = net.head->weight().to_vector();
  const StateDict sd = other.state_dict();

  StateDict missing = sd;
  missing.erase("enc.1.running_mean");
  std::string e = error_of([&] { net.load_state_dict(missing); });
  EXPECT_TRUE(contains(e, "load_state_dict(TinyNet):") && contains(e, "missing keys: enc.1.running_mean")) << e;

  StateDict extra = sd;
  extra["enc.9.weight"] = ones({1});
  e = error_of([&] { net.load_state_dict(extra); });
  EXPECT_TRUE(contains(e, "unexpected keys: enc.9.weight")) << e;

  StateDict bad = sd;
  bad["head.weight"] = ones({3, 31});
  bad["head.bias"] = ones({3}, DType::i32);
  e = error_of([&] { net.load_state_dict(bad); });
  EXPECT_TRUE(contains(e, "head.weight (checkpoint [3,31], module [3,32])")) << e;
  EXPECT_TRUE(contains(e, "head.bias (checkpoint dtype i32, module f32)")) << e;
  EXPECT_EQ(net.head->weight().to_vector(), before) << "a failed load writes nothing";

  // Non-strict: missing and unexpected keys are skipped, the rest is loaded; shapes still checked.
  StateDict partial = extra;
  partial.erase("enc.1.running_mean");
  net.load_state_dict(partial, false);
  EXPECT_EQ(net.head->weight().to_vector(), other.head->weight().to_vector());
  EXPECT_EQ(net.state_dict().at("enc.1.running_mean").to_vector(), std::vector<double>(4, 0.0));
  EXPECT_TRUE(contains(error_of([&] { net.load_state_dict(bad, false); }), "head.bias (checkpoint dtype i32"));

  // Sub-networks: select by prefix, and back.
  StateDict head = sub_state_dict(sd, "head");
  EXPECT_EQ(head.size(), 2u);
  EXPECT_EQ(head.at("weight").to_vector(), other.head->weight().to_vector());
  Linear lin(32, 3);
  lin.load_state_dict(head);
  EXPECT_EQ(lin.weight().to_vector(), other.head->weight().to_vector());
  EXPECT_EQ(prefixed_state_dict(lin.state_dict(), "head").count("head.bias"), 1u);
  EXPECT_TRUE(sub_state_dict(sd, "hea").empty());

  // f64 values load into f32 tensors (converted).
  StateDict f64;
  for (auto& [n, t] : other.state_dict()) f64[n] = t.to(DType::f64);
  f64["head.bias"] = from_vector({0.25, -0.5, 1.0}, {3}, DType::f64);
  net.load_state_dict(f64);
  EXPECT_EQ(net.head->bias().dtype(), DType::f32);
  EXPECT_EQ(net.head->bias().to_vector(), (std::vector<double>{0.25, -0.5, 1.0}));
}

TEST(Module, GradientsZeroGradFreezeAndToF64) {
  Generator g(6);
  TinyNet net(g);
  Tensor x = rand({2, 1, 8, 8}, g);
  sum(square(net(x))).backward();
  for (auto& [n, p] : net.named_parameters()) EXPECT_TRUE(p.grad().defined()) << n;
  net.zero_grad();
  for (const Tensor& p : net.parameters()) EXPECT_FALSE(p.grad().defined());

  net.set_requires_grad(false);  // frozen: gradients reach the input only
  Tensor xi = x.clone().detach();
  xi.requires_grad_();
  sum(net(xi)).backward();
  EXPECT_TRUE(xi.grad().defined());
  for (const Tensor& p : net.parameters()) EXPECT_FALSE(p.grad().defined());
  net.set_requires_grad(true);

  // to(f64) converts in place: the layers' own handles see f64, values are kept.
  const std::vector<double> w = net.head->weight().to_vector();
  net.to(DType::f64);
  EXPECT_EQ(net.head->weight().dtype(), DType::f64);
  EXPECT_EQ(net.state_dict().at("enc.1.running_var").dtype(), DType::f64);
  EXPECT_EQ(net.head->weight().to_vector(), w);
  EXPECT_TRUE(net.head->weight().requires_grad());
  // In f64 the module chain passes a finite-difference check with respect to its input
  // (eval mode: batch norm on running statistics, no dropout).
  net.eval();
  test::expect_gradients([&](const std::vector<Tensor>& v) { return net(v[0]); }, {test::uniform64({2, 1, 8, 8}, 5)});
}

// ---- layers ----------------------------------------------------------------------------------

TEST(Layers, LinearShapesCountAndOp) {
  Generator g(5);
  Linear l(7, 3, {}, g);
  EXPECT_EQ(l.num_parameters(), 7 * 3 + 3);
  EXPECT_EQ(l.weight().shape(), (Shape{3, 7}));
  Tensor x = rand({4, 7}, g);
  Tensor y = l(x);
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  EXPECT_EQ(max_abs_diff(y, linear(x, l.weight(), l.bias())), 0.0);
  Tensor x3 = rand({2, 5, 7}, g);  // leading dims are kept
  EXPECT_EQ(l(x3).shape(), (Shape{2, 5, 3}));
  EXPECT_EQ(max_abs_diff(l(x3).reshape({10, 3}), linear(x3.reshape({10, 7}), l.weight(), l.bias())), 0.0);
  Linear nb(7, 3, {.bias = false}, g);
  EXPECT_EQ(nb.num_parameters(), 21);
  EXPECT_FALSE(nb.bias().defined());
  EXPECT_EQ(max_abs_diff(nb(x), linear(x, nb.weight())), 0.0);
  EXPECT_TRUE(contains(error_of([&] { l(rand({4, 6})); }), "Linear(7, 3): expected input [*, 7], got [4,6]"));
}

TEST(Layers, ConvolutionsShapesCountsAndOps) {
  Generator g(8);
  struct Case {
    std::shared_ptr<ConvNd> layer;
    Shape input, output;
    int64_t count;  // PyTorch's: in·out·∏K (+ out with bias)
  };
  std::vector<Case> cases = {
      {std::make_shared<Conv2d>(32, 64, 5, ConvOptions{.stride = {2}, .padding = {2}}, g), {2, 32, 16, 16}, {2, 64, 8, 8}, 32 * 64 * 25 + 64},
      {std::make_shared<Conv2d>(3, 5, Shape{3, 2}, ConvOptions{.stride = {1, 2}, .padding = {1, 0}, .dilation = {2}, .bias = false}, g),
       {1, 3, 9, 8}, {1, 5, 7, 3}, 3 * 5 * 6},
      {std::make_shared<Conv3d>(2, 4, 3, ConvOptions{.padding = {1}}, g), {1, 2, 5, 6, 7}, {1, 4, 5, 6, 7}, 2 * 4 * 27 + 4},
      {std::make_shared<ConvTranspose2d>(128, 64, 5, ConvOptions{.stride = {2}, .padding = {2}, .output_padding = {1}}, g),
       {1, 128, 8, 8}, {1, 64, 16, 16}, 128 * 64 * 25 + 64},
      {std::make_shared<ConvTranspose3d>(3, 2, 4, ConvOptions{.stride = {2}, .padding = {1}}, g), {1, 3, 4, 4, 4}, {1, 2, 8, 8, 8},
       3 * 2 * 64 + 2},
      {std::make_shared<ConvTranspose3d>(4, 1, 3, ConvOptions{.stride = {2}, .output_padding = {1}, .dilation = {2}, .bias = false}, g),
       {2, 4, 3, 3, 3}, {2, 1, 10, 10, 10}, 4 * 27},
  };
  for (auto& c : cases) {
    ConvNd& l = *c.layer;
    SCOPED_TRACE(l.type_name() + "(" + l.extra_repr() + ")");
    EXPECT_EQ(l.num_parameters(), c.count);
    Shape ws = l.transposed() ? Shape{c.input[1], c.output[1]} : Shape{c.output[1], c.input[1]};
    ws.insert(ws.end(), l.kernel().begin(), l.kernel().end());
    EXPECT_EQ(l.weight().shape(), ws);
    Tensor x = rand(c.input, g);
    Tensor y = l(x);
    EXPECT_EQ(y.shape(), c.output);
    const ConvOptions& o = l.options();
    Tensor ref = !l.transposed() ? (l.rank() == 2 ? conv2d(x, l.weight(), l.bias(), o.stride, o.padding, o.dilation)
                                                  : conv3d(x, l.weight(), l.bias(), o.stride, o.padding, o.dilation))
                                 : (l.rank() == 2 ? conv_transpose2d(x, l.weight(), l.bias(), o.stride, o.padding, o.output_padding, o.dilation)
                                                  : conv_transpose3d(x, l.weight(), l.bias(), o.stride, o.padding, o.output_padding, o.dilation));
    EXPECT_EQ(max_abs_diff(y, ref), 0.0);
  }
  Conv2d c(32, 64, 5, {}, g);
  EXPECT_TRUE(contains(error_of([&] { c(rand({1, 3, 8, 8})); }), "Conv2d(32, 64): expected input [N,32,H,W], got [1,3,8,8]"));
  EXPECT_TRUE(contains(error_of([&] { c(rand({1, 32, 8})); }), "got [1,32,8]"));
  EXPECT_TRUE(contains(error_of([&] { Conv2d(1, 1, 3, {.output_padding = {1}}); }), "only applies to transposed"));
  EXPECT_TRUE(contains(error_of([&] { ConvTranspose2d(1, 1, 3, {.stride = {2}, .output_padding = {2}}); }), "must be in [0, stride)"));
  EXPECT_TRUE(contains(error_of([&] { Conv2d(1, 1, Shape{3, 3, 3}); }), "Conv2d: kernel [3,3,3] needs 1 or 2 entries"));
  EXPECT_TRUE(contains(error_of([&] { Conv3d(0, 1, 3); }), "Conv3d: channels must be positive"));
}

TEST(Layers, BatchNormTrainEvalAndRunningStats) {
  Generator g(9);
  BatchNorm bn(3, {}, g);
  EXPECT_EQ(bn.num_parameters(), 6);
  EXPECT_EQ(names_of(bn.named_buffers()), (std::vector<std::string>{"running_mean", "running_var"}));
  init::uniform_(bn.weight(), 0.5, 1.5, g);
  init::uniform_(bn.bias(), -0.5, 0.5, g);
  Tensor x = rand({4, 3, 2, 2}, g) * 3.0 + 1.0;
  // Train: batch statistics; the buffers move by momentum 0.1 towards the batch mean and the
  // unbiased batch variance.
  Tensor rm = zeros({3}), rv = ones({3});
  Tensor ref = batch_norm(x, bn.weight(), bn.bias(), rm, rv, true, 0.1, 1e-5);
  EXPECT_EQ(max_abs_diff(bn(x), ref), 0.0);
  Tensor bmean = mean(x, {0, 2, 3}), bvar = var(x, {0, 2, 3}, 1);
  EXPECT_LT(max_abs_diff(bn.running_mean(), bmean * 0.1), 1e-6);
  EXPECT_LT(max_abs_diff(bn.running_var(), bvar * 0.1 + 0.9), 1e-6);
  // Eval: running statistics, buffers unchanged.
  bn.eval();
  const std::vector<double> m1 = bn.running_mean().to_vector(), v1 = bn.running_var().to_vector();
  Tensor ye = bn(x);
  EXPECT_EQ(bn.running_mean().to_vector(), m1);
  EXPECT_EQ(bn.running_var().to_vector(), v1);
  Tensor byhand = (x - bn.running_mean().reshape({1, 3, 1, 1})) / sqrt(bn.running_var().reshape({1, 3, 1, 1}) + 1e-5) *
                      bn.weight().reshape({1, 3, 1, 1}) + bn.bias().reshape({1, 3, 1, 1});
  EXPECT_LT(max_abs_diff(ye, byhand), 1e-5);
  EXPECT_TRUE(contains(error_of([&] { bn(rand({2, 4, 3})); }), "BatchNorm(3): expected input [N,3,*], got [2,4,3]"));

  // Keras constants: eps 1e-3, momentum 0.01 (Keras' 0.99); rank 2 and rank 5 inputs.
  BatchNorm k(2, BatchNormOptions::keras(), g);
  Tensor x2 = rand({5, 2}, g);
  k(x2);
  EXPECT_LT(max_abs_diff(k.running_mean(), mean(x2, {0}) * 0.01), 1e-7);
  BatchNorm b3(2, {}, g);
  EXPECT_EQ(b3(rand({2, 2, 3, 3, 3}, g)).shape(), (Shape{2, 2, 3, 3, 3}));

  // [SD]'s frozen statistics: even in train mode y = γ·x/√(1+eps)+β and the buffers stay.
  BatchNormOptions fo = BatchNormOptions::keras();
  fo.frozen_stats = true;
  BatchNorm fz(3, fo, g);
  Tensor yf = fz(x);
  EXPECT_LT(max_abs_diff(yf, x / std::sqrt(1.0 + 1e-3)), 1e-6);
  EXPECT_EQ(fz.running_mean().to_vector(), std::vector<double>(3, 0.0));

  // No running statistics: batch statistics in eval mode too; no affine: no parameters.
  BatchNorm nt(3, {.affine = false, .track_running_stats = false}, g);
  EXPECT_EQ(nt.num_parameters(), 0);
  EXPECT_TRUE(nt.named_buffers().empty());
  Tensor yt = nt(x);
  nt.eval();
  EXPECT_EQ(max_abs_diff(nt(x), yt), 0.0);
  EXPECT_LT(max_abs_diff(mean(yt, {0, 2, 3}), zeros({3})), 1e-6);
}

TEST(Layers, LayerNormAndInstanceNorm) {
  Generator g(10);
  LayerNorm ln({4, 3, 3});
  EXPECT_EQ(ln.num_parameters(), 2 * 36);
  init::uniform_(ln.weight(), 0.5, 1.5, g);
  Tensor x = rand({2, 4, 3, 3}, g);
  EXPECT_EQ(max_abs_diff(ln(x), layer_norm(x, 3, ln.weight(), ln.bias())), 0.0);
  EXPECT_TRUE(contains(error_of([&] { ln(rand({2, 4, 3, 2})); }), "LayerNorm([4,3,3]): expected input [*,4,3,3], got [2,4,3,2]"));
  // Keras LayerNormalization([1,2]) in NCHW: per sample and channel over (H,W).
  LayerNorm hw({3, 3});
  EXPECT_EQ(hw.weight().shape(), (Shape{3, 3}));
  EXPECT_EQ(max_abs_diff(hw(x), layer_norm(x, 2, hw.weight(), hw.bias())), 0.0);
  // tflib's per-channel affine, by hand: x = [1,2,3,4] as [1,2,1,2], mean 2.5, var 1.25 over (C,H,W).
  LayerNorm pc({2, 1, 2}, {.affine = LayerNormAffine::per_channel});
  EXPECT_EQ(pc.weight().shape(), (Shape{2}));
  copy_into(pc.weight(), from_vector({2, -1}, {2}));
  copy_into(pc.bias(), from_vector({0.5, 1}, {2}));
  const double s = 1.0 / std::sqrt(1.25 + 1e-5);
  test::expect_values(pc(from_vector({1, 2, 3, 4}, {1, 2, 1, 2})), {-3 * s + 0.5, -s + 0.5, -0.5 * s + 1, -1.5 * s + 1}, 1e-6);
  EXPECT_EQ(LayerNorm({5}, {.affine = LayerNormAffine::none}).num_parameters(), 0);

  InstanceNorm in(4);
  EXPECT_EQ(in.num_parameters(), 0);
  EXPECT_EQ(max_abs_diff(in(x), instance_norm(x)), 0.0);
  InstanceNorm ia(4, {.affine = true});
  EXPECT_EQ(ia.num_parameters(), 8);
  init::uniform_(ia.weight(), 0.5, 1.5, g);
  Tensor y = ia(x);
  ia.eval();  // no running statistics: same in eval
  EXPECT_EQ(max_abs_diff(ia(x), y), 0.0);
  EXPECT_EQ(max_abs_diff(y, instance_norm(x, ia.weight(), ia.bias())), 0.0);
  EXPECT_TRUE(contains(error_of([&] { in(rand({2, 3, 5})); }), "InstanceNorm(4): expected input [N,4,*spatial], got [2,3,5]"));
}

TEST(Layers, DropoutTrainEvalAndMonteCarlo) {
  Generator g(12);
  Dropout d(0.25, &g);
  Tensor x = ones({200000});
  auto zero_fraction = [](const Tensor& y) {
    std::vector<double> v = y.to_vector();
    double z = 0;
    for (double e : v) {
      EXPECT_TRUE(e == 0.0 || std::fabs(e - 1.0 / 0.75) < 1e-6) << e;
      z += e == 0.0;
    }
    return z / (double)v.size();
  };
  EXPECT_NEAR(zero_fraction(d(x)), 0.25, 0.005);
  d.eval();
  EXPECT_FALSE(d.active());
  EXPECT_EQ(d(x).impl(), x.impl()) << "the identity in eval mode";
  d.set_mc(true);  // Monte-Carlo dropout: on at inference
  EXPECT_TRUE(d.active());
  EXPECT_NEAR(zero_fraction(d(x)), 0.25, 0.005);
  // Same seed, same masks; the stream advances between calls.
  Generator g1(3), g2(3);
  Dropout a(0.5, &g1), b(0.5, &g2);
  Tensor ma = a(x), mb = b(x);
  EXPECT_EQ(ma.to_vector(), mb.to_vector());
  EXPECT_NE(a(x).to_vector(), ma.to_vector());
  // Tree-wide switches.
  Generator gn(1), gd(44);
  TinyNet net(gn);
  net.eval();
  EXPECT_EQ(set_mc_dropout(net, true), 1);
  EXPECT_TRUE(net.drop->active());
  EXPECT_EQ(set_dropout_generator(net, &gd), 1);
  EXPECT_EQ(&net.drop->generator(), &gd);
  Dropout zero(0.0);
  EXPECT_EQ(zero(x).impl(), x.impl());
  EXPECT_TRUE(contains(error_of([] { Dropout(1.5); }), "Dropout: p must be in [0,1], got 1.5"));
}

TEST(Layers, ActivationsAndShapeLayers) {
  Generator g(13);
  Tensor x = rand({3, 4}, g) * 4.0 - 2.0;
  EXPECT_EQ(max_abs_diff(ReLU()(x), relu(x)), 0.0);
  EXPECT_EQ(max_abs_diff(LeakyReLU(0.3)(x), leaky_relu(x, 0.3)), 0.0);
  test::expect_values(LeakyReLU(0.3)(from_vector({-2, 3}, {2})), {-0.6, 3}, 1e-6);
  test::expect_values(LeakyReLU()(from_vector({-2}, {1})), {-0.02}, 1e-7);  // PyTorch's default 0.01
  EXPECT_EQ(max_abs_diff(ELU(0.5)(x), elu(x, 0.5)), 0.0);
  EXPECT_EQ(max_abs_diff(Tanh()(x), tanh(x)), 0.0);
  EXPECT_EQ(max_abs_diff(Sigmoid()(x), sigmoid(x)), 0.0);
  EXPECT_EQ(max_abs_diff(Softplus()(x), softplus(x)), 0.0);
  EXPECT_EQ(Identity()(x).impl(), x.impl());

  Tensor v = rand({2, 3, 4, 5}, g);
  EXPECT_EQ(Flatten()(v).shape(), (Shape{2, 60}));
  EXPECT_EQ(Flatten(2)(v).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(Reshape({16, 8, 8})(rand({2, 1024}, g)).shape(), (Shape{2, 16, 8, 8}));
  EXPECT_EQ(Reshape({-1, 4})(rand({2, 12}, g)).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(Reshape({60})(v).to_vector(), v.to_vector());
  EXPECT_TRUE(contains(error_of([&] { Reshape({7, 8})(v); }), "Reshape([7,8]): input [2,3,4,5] has 60 values per sample"));
  EXPECT_TRUE(contains(error_of([] { Reshape({-1, -1}); }), "at most one -1"));

  Sequential s;
  EXPECT_EQ(s(x).impl(), x.impl());
  auto lin = s.push_back(std::make_shared<Linear>(4, 2, LinearOptions{}, g));
  s.push_back(std::make_shared<Sigmoid>());
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(names_of(s.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias"}));
  EXPECT_EQ(max_abs_diff(s(x), sigmoid(linear(x, lin->weight(), lin->bias()))), 0.0);
}

// ---- initialisers ------------------------------------------------------------------------------

namespace {

struct Moments {
  double mean, var, maxabs;
};

Moments moments(const Tensor& t) {
  std::vector<double> v = t.to_vector();
  double s = 0, s2 = 0, m = 0;
  for (double e : v) {
    s += e;
    m = std::max(m, std::fabs(e));
  }
  const double mu = s / v.size();
  for (double e : v) s2 += (e - mu) * (e - mu);
  return {mu, s2 / v.size(), m};
}

/// U(±b): mean 0 (within 5 standard errors), variance b²/3 (within 2%: ≥ 5 standard errors for
/// n ≥ 50000, the sample variance's relative error being √(0.8/n)), max |x| in (0.995b, b].
void expect_uniform(const Tensor& t, double b, const std::string& what) {
  ASSERT_GE(t.numel(), 50000) << what;
  Moments m = moments(t);
  const double n = (double)t.numel();
  EXPECT_NEAR(m.mean, 0.0, 5 * b / std::sqrt(3 * n)) << what;
  EXPECT_NEAR(m.var, b * b / 3, 0.02 * b * b / 3) << what;
  EXPECT_LE(m.maxabs, b * (1 + 1e-6)) << what;
  EXPECT_GT(m.maxabs, 0.995 * b) << what;
}

/// N(mu, sd²): mean within 5 standard errors, sd within 2%.
void expect_normal(const Tensor& t, double mu, double sd, const std::string& what) {
  Moments m = moments(t);
  EXPECT_NEAR(m.mean, mu, 5 * sd / std::sqrt((double)t.numel())) << what;
  EXPECT_NEAR(std::sqrt(m.var), sd, 0.02 * sd) << what;
}

}  // namespace

TEST(Init, FansAndFormulas) {
  EXPECT_EQ(init::fans({64, 32, 5, 5}), (std::pair<int64_t, int64_t>{800, 1600}));
  EXPECT_EQ(init::fans({10, 20}), (std::pair<int64_t, int64_t>{20, 10}));
  EXPECT_EQ(init::fans({128, 64, 5, 5}).first, 1600);  // a transposed conv's [Cin,Cout,k,k]: Cout·k²
  EXPECT_TRUE(contains(error_of([] { init::fans({5}); }), "at least 2 dims, got [5]"));
  EXPECT_NEAR(init::leaky_relu_gain(std::sqrt(5.0)), std::sqrt(1.0 / 3.0), 1e-15);
  EXPECT_NEAR(init::leaky_relu_gain(0.0), std::sqrt(2.0), 1e-15);
  Tensor nc = zeros({4, 6}).transpose(0, 1);
  EXPECT_TRUE(contains(error_of([&] { init::zeros_(nc); }), "not contiguous"));
}

TEST(Init, LayerSchemesMatchTheirFormulas) {
  Generator g(21);
  // PyTorch default: weight and bias U(±1/√fan_in), fan_in = 32·25 = 800.
  Conv2d pt(32, 64, 5, {}, g);
  expect_uniform(pt.weight(), 1 / std::sqrt(800.0), "pytorch conv weight");
  EXPECT_LE(moments(pt.bias()).maxabs, 1 / std::sqrt(800.0));
  ConvTranspose2d ptt(64, 32, 5, {}, g);  // fan_in = Cout·25 = 800 as in PyTorch
  expect_uniform(ptt.weight(), 1 / std::sqrt(800.0), "pytorch transposed conv weight");
  // Keras glorot uniform: U(±√(6/(fan_in+fan_out))), zero bias.
  Linear xv(1000, 300, {.init = Init::xavier_uniform}, g);
  expect_uniform(xv.weight(), std::sqrt(6.0 / 1300.0), "xavier linear");
  EXPECT_EQ(moments(xv.bias()).maxabs, 0.0);
  Conv3d xc(64, 32, 3, {.init = Init::xavier_uniform}, g);
  expect_uniform(xc.weight(), std::sqrt(6.0 / (64 * 27 + 32 * 27)), "xavier conv3d");
  // DCGAN: N(0, 0.02) weights, zero bias, batch-norm γ ~ N(1, 0.02).
  ConvTranspose2d dc(64, 128, 4, {.init = Init::dcgan}, g);
  expect_normal(dc.weight(), 0.0, 0.02, "dcgan weight");
  EXPECT_EQ(moments(dc.bias()).maxabs, 0.0);
  BatchNormOptions bo;
  bo.init = Init::dcgan;
  BatchNorm bn(100000, bo, g);
  expect_normal(bn.weight(), 1.0, 0.02, "dcgan batch-norm gamma");
  EXPECT_EQ(moments(bn.bias()).maxabs, 0.0);
  // He normal: N(0, 2/fan_in).
  Linear he(256, 512, {.init = Init::kaiming_normal}, g);
  expect_normal(he.weight(), 0.0, std::sqrt(2.0 / 256), "kaiming normal");
  // The free functions.
  Tensor t = empty({400, 500});
  init::kaiming_uniform_(t, 0.0, g);
  expect_uniform(t, std::sqrt(6.0 / 500), "kaiming_uniform a=0");
  init::xavier_normal_(t, g, 2.0);
  expect_normal(t, 0.0, 2.0 * std::sqrt(2.0 / 900), "xavier_normal gain 2");
  Tensor d = empty({300, 300}, DType::f64);
  init::uniform_(d, 2.0, 3.0, g);
  Moments md = moments(d);
  EXPECT_NEAR(md.mean, 2.5, 0.01);
  EXPECT_LT(md.maxabs, 3.0);
}

TEST(Init, SeedsAreReproducible) {
  Generator a(5), b(5), c(6);
  Linear la(10, 10, {}, a), lb(10, 10, {}, b), lc(10, 10, {}, c);
  EXPECT_EQ(la.weight().to_vector(), lb.weight().to_vector());
  EXPECT_EQ(la.bias().to_vector(), lb.bias().to_vector());
  EXPECT_NE(la.weight().to_vector(), lc.weight().to_vector());
  la.reset_parameters(a);  // the stream moved on
  EXPECT_NE(la.weight().to_vector(), lb.weight().to_vector());
}

// ---- checkpoints -------------------------------------------------------------------------------

TEST(Checkpoint, SaveLoadIntoAFreshModuleGivesIdenticalOutputs) {
  TempFile f("tiny.safetensors");
  Generator g1(1), g99(99), gx(5);
  TinyNet a(g1);
  Tensor x = rand({3, 1, 8, 8}, gx);
  {
    NoGradGuard ng;
    for (int i = 0; i < 3; ++i) a(x * (double)(i + 1));  // moves the batch-norm running statistics
  }
  EXPECT_NE(a.state_dict().at("enc.1.running_mean").to_vector(), std::vector<double>(4, 0.0));
  save_state(a, f.path, {{"epoch", "7"}});

  TinyNet b(g99);
  a.eval();
  b.eval();
  EXPECT_GT(max_abs_diff(a(x), b(x)), 1e-3);
  auto meta = load_state(b, f.path);
  EXPECT_EQ(meta.at("epoch"), "7");
  EXPECT_EQ(max_abs_diff(a(x), b(x)), 0.0);
  // Train mode too (batch statistics, dropout with equal generators).
  a.train();
  b.train();
  Generator da(8), db(8);
  set_dropout_generator(a, &da);
  set_dropout_generator(b, &db);
  EXPECT_EQ(max_abs_diff(a(x), b(x)), 0.0);
  EXPECT_EQ(a.state_dict().at("enc.1.running_var").to_vector(), b.state_dict().at("enc.1.running_var").to_vector());

  // Another architecture: the error names the file and the keys.
  Generator g(2);
  Sequential other{std::make_shared<Linear>(4, 4, LinearOptions{}, g)};
  std::string e = error_of([&] { load_state(other, f.path); });
  EXPECT_TRUE(contains(e, f.path) && contains(e, "missing keys: 0.weight, 0.bias") && contains(e, "unexpected keys: enc.0.bias")) << e;
  // f64 checkpoint into an f32 module.
  a.to(DType::f64);
  save_state(a, f.path);
  TinyNet c(g99);
  load_state(c, f.path);
  EXPECT_EQ(c.head->weight().dtype(), DType::f32);
  c.eval();
  a.eval();
  EXPECT_LT(max_abs_diff(c(x), a(x.to(DType::f64))), 1e-5);
}
