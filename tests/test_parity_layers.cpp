// PyTorch parity of every layer op: outputs and input/parameter gradients against PyTorch 1.13
// (float32), through the harness in tests/parity/harness.h (tolerances documented there).
// The Python side of each case is tests/parity/cases.py. Cases are grouped into a few TESTs
// because each test process starts one Python (importing torch costs ~1 s).
#include <gtest/gtest.h>

#include "tests/parity/harness.h"

using namespace uad;
using namespace uad::parity;

namespace {

using V = std::vector<Tensor>;

Params conv_params(const Shape& s, const Shape& p, const Shape& d, const Shape& op = {}) {
  Params pr;
  pr.ints("stride", s).ints("padding", p).ints("dilation", d);
  if (!op.empty()) pr.ints("output_padding", op);
  return pr;
}

/// conv2d/conv3d: x [N,Cin,*S], w [Cout,Cin,*K], optional bias.
void conv_case(int rank, const Shape& x, const Shape& w, const Shape& s, const Shape& p, const Shape& d, bool bias,
               uint64_t seed) {
  std::vector<Input> in{{"x", uniform(x, seed)}, {"w", uniform(w, seed + 1)}};
  if (bias) in.push_back({"b", uniform({w[0]}, seed + 2)});
  std::string kind = rank == 2 ? "conv2d" : "conv3d";
  parity_case(kind, conv_params(s, p, d), in,
              [=](const V& v) {
                Tensor b = bias ? v[2] : Tensor();
                return V{rank == 2 ? conv2d(v[0], v[1], b, s, p, d) : conv3d(v[0], v[1], b, s, p, d)};
              },
              {}, kind + " x" + shape_str(x) + " w" + shape_str(w) + " s" + shape_str(s) + " p" + shape_str(p) + " d" +
                      shape_str(d) + (bias ? "" : " nobias"));
}

/// conv_transpose2d/3d: x [N,Cin,*S], w [Cin,Cout,*K].
void conv_t_case(int rank, const Shape& x, const Shape& w, const Shape& s, const Shape& p, const Shape& op,
                 const Shape& d, bool bias, uint64_t seed) {
  std::vector<Input> in{{"x", uniform(x, seed)}, {"w", uniform(w, seed + 1)}};
  if (bias) in.push_back({"b", uniform({w[1]}, seed + 2)});
  std::string kind = rank == 2 ? "conv_transpose2d" : "conv_transpose3d";
  parity_case(kind, conv_params(s, p, d, op), in,
              [=](const V& v) {
                Tensor b = bias ? v[2] : Tensor();
                return V{rank == 2 ? conv_transpose2d(v[0], v[1], b, s, p, op, d) : conv_transpose3d(v[0], v[1], b, s, p, op, d)};
              },
              {}, kind + " x" + shape_str(x) + " w" + shape_str(w) + " s" + shape_str(s) + " p" + shape_str(p) + " op" +
                      shape_str(op) + " d" + shape_str(d));
}

}  // namespace

TEST(ParityLayers, LinearAndMatmul) {
  parity_case("linear", Params(), {{"x", uniform({5, 7}, 1)}, {"w", uniform({3, 7}, 2)}, {"b", uniform({3}, 3)}},
              [](const V& v) { return V{linear(v[0], v[1], v[2])}; }, {}, "linear bias");
  parity_case("linear", Params(), {{"x", uniform({4, 33}, 4)}, {"w", uniform({6, 33}, 5)}},
              [](const V& v) { return V{linear(v[0], v[1])}; }, {}, "linear nobias");
  parity_case("matmul", Params(), {{"a", uniform({6, 9}, 6)}, {"b", uniform({9, 4}, 7)}},
              [](const V& v) { return V{matmul(v[0], v[1])}; }, {}, "matmul 2d");
  parity_case("matmul", Params(), {{"a", uniform({3, 5, 8}, 8)}, {"b", uniform({8, 2}, 9)}},
              [](const V& v) { return V{matmul(v[0], v[1])}; }, {}, "matmul batched x 2d");
  parity_case("matmul", Params(), {{"a", uniform({2, 4, 6}, 10)}, {"b", uniform({2, 6, 3}, 11)}},
              [](const V& v) { return V{matmul(v[0], v[1])}; }, {}, "matmul batched");
}

TEST(ParityLayers, Conv) {
  conv_case(2, {2, 3, 9, 10}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}, true, 10);
  conv_case(2, {2, 2, 16, 16}, {3, 2, 5, 5}, {2, 2}, {2, 2}, {1, 1}, true, 20);  // the unified AE's conv
  conv_case(2, {1, 2, 11, 9}, {2, 2, 3, 2}, {2, 1}, {0, 1}, {2, 1}, false, 30);  // anisotropic, dilated
  conv_case(2, {2, 4, 8, 8}, {5, 4, 1, 1}, {1, 1}, {0, 0}, {1, 1}, true, 40);     // 1×1
  conv_case(3, {2, 2, 6, 7, 5}, {3, 2, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, true, 50);
  conv_case(3, {2, 1, 8, 8, 8}, {4, 1, 4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, true, 60);  // α-WGAN's conv
  conv_case(3, {1, 2, 7, 6, 9}, {2, 2, 2, 3, 3}, {1, 2, 2}, {0, 1, 2}, {2, 1, 1}, false, 70);
}

TEST(ParityLayers, ConvTranspose) {
  conv_t_case(2, {2, 3, 5, 6}, {3, 4, 5, 5}, {2, 2}, {2, 2}, {1, 1}, {1, 1}, true, 100);  // the unified AE's
  conv_t_case(2, {2, 2, 4, 4}, {2, 3, 4, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, true, 110);  // MOOD VAE's
  conv_t_case(2, {1, 2, 5, 4}, {2, 2, 3, 2}, {1, 2}, {0, 1}, {0, 1}, {1, 1}, false, 120);
  conv_t_case(2, {1, 2, 4, 5}, {2, 3, 3, 3}, {3, 2}, {1, 0}, {2, 1}, {2, 1}, true, 125);  // dilation, op < s
  conv_t_case(3, {2, 2, 3, 4, 3}, {2, 3, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, true, 130);
  conv_t_case(3, {1, 3, 4, 4, 4}, {3, 2, 4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, true, 140);
  conv_t_case(3, {1, 2, 1, 1, 1}, {2, 3, 4, 4, 4}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}, false, 150);  // α-WGAN G's first
}

TEST(ParityLayers, Norms) {
  for (bool training : {true, false}) {
    for (Shape xs : {Shape{6, 3}, Shape{4, 3, 5, 6}, Shape{2, 3, 4, 3, 5}}) {
      int64_t c = xs[1];
      Params p;
      p.flag("training", training).num("momentum", 0.1).num("eps", 1e-5);
      parity_case("batch_norm", p,
                  {{"x", uniform(xs, 200, -2, 3)},
                   {"weight", uniform({c}, 201, 0.5, 1.5)},
                   {"bias", uniform({c}, 202)},
                   {"running_mean", uniform({c}, 203), false},
                   {"running_var", uniform({c}, 204, 0.5, 2), false}},
                  [training](const V& v) {
                    Tensor y = batch_norm(v[0], v[1], v[2], v[3], v[4], training, 0.1, 1e-5);
                    return V{y, v[3], v[4]};  // the running buffers, updated in place in training
                  },
                  {}, std::string("batch_norm ") + (training ? "train " : "eval ") + shape_str(xs));
    }
  }
  {  // the unified AE's constants, no affine
    Params p;
    p.flag("training", true).num("momentum", 0.01).num("eps", 1e-3);
    parity_case("batch_norm", p,
                {{"x", uniform({3, 4, 5, 5}, 210)}, {"running_mean", zeros({4}), false}, {"running_var", ones({4}), false}},
                [](const V& v) { return V{batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], true, 0.01, 1e-3), v[1], v[2]}; },
                {}, "batch_norm train no-affine eps 1e-3");
  }
  // Large reductions (32768 values per channel, as in the unified AE's last decoder layer at
  // batch 2): the sums must be accumulated precisely enough for 1e-4.
  for (bool training : {true, false}) {
    Params p;
    p.flag("training", training).num("momentum", 0.01).num("eps", 1e-3);
    parity_case("batch_norm", p,
                {{"x", uniform({2, 32, 128, 128}, 205, -1, 3)},
                 {"weight", uniform({32}, 206, 0.5, 1.5)},
                 {"bias", uniform({32}, 207)},
                 {"running_mean", uniform({32}, 208), false},
                 {"running_var", uniform({32}, 209, 0.5, 2), false}},
                [training](const V& v) {
                  return V{batch_norm(v[0], v[1], v[2], v[3], v[4], training, 0.01, 1e-3), v[3], v[4]};
                },
                {}, std::string("batch_norm large ") + (training ? "train" : "eval") + " [2,32,128,128]");
  }
  parity_case("instance_norm", Params().num("eps", 1e-5),
              {{"x", uniform({2, 4, 128, 128}, 244, -1, 3)}, {"weight", uniform({4}, 245, 0.5, 1.5)}, {"bias", uniform({4}, 246)}},
              [](const V& v) { return V{instance_norm(v[0], v[1], v[2])}; }, {}, "instance_norm large [2,4,128,128]");
  parity_case("layer_norm", Params().num("normalized_ndim", 3).num("eps", 1e-5),
              {{"x", uniform({2, 8, 64, 64}, 247, -1, 3)}, {"weight", uniform({8, 64, 64}, 248, 0.5, 1.5)},
               {"bias", uniform({8, 64, 64}, 249)}},
              [](const V& v) { return V{layer_norm(v[0], 3, v[1], v[2])}; }, {}, "layer_norm large [2,8,64,64]");
  for (int64_t nd : {1, 3, 4}) {
    Shape xs{2, 3, 4, 5, 3};
    Shape ns(xs.end() - nd, xs.end());
    parity_case("layer_norm", Params().num("normalized_ndim", (double)nd).num("eps", 1e-5),
                {{"x", uniform(xs, 220 + nd, -1, 2)}, {"weight", uniform(ns, 221, 0.5, 1.5)}, {"bias", uniform(ns, 222)}},
                [nd](const V& v) { return V{layer_norm(v[0], nd, v[1], v[2], 1e-5)}; }, {},
                "layer_norm over last " + std::to_string(nd));
  }
  parity_case("layer_norm", Params().num("normalized_ndim", 2).num("eps", 1e-5), {{"x", uniform({3, 4, 6}, 230)}},
              [](const V& v) { return V{layer_norm(v[0], 2)}; }, {}, "layer_norm no-affine");
  for (Shape xs : {Shape{2, 3, 5, 4}, Shape{2, 2, 3, 4, 3}}) {
    parity_case("instance_norm", Params().num("eps", 1e-5),
                {{"x", uniform(xs, 240, -1, 2)}, {"weight", uniform({xs[1]}, 241, 0.5, 1.5)}, {"bias", uniform({xs[1]}, 242)}},
                [](const V& v) { return V{instance_norm(v[0], v[1], v[2])}; }, {}, "instance_norm " + shape_str(xs));
  }
  parity_case("instance_norm", Params().num("eps", 1e-5), {{"x", uniform({2, 3, 6, 6}, 243)}},
              [](const V& v) { return V{instance_norm(v[0])}; }, {}, "instance_norm no-affine");
  for (int64_t groups : {1, 2, 6}) {
    Shape xs{2, 6, 4, 3};
    parity_case("group_norm", Params().num("groups", (double)groups).num("eps", 1e-5),
                {{"x", uniform(xs, 250, -1, 2)}, {"weight", uniform({6}, 251, 0.5, 1.5)}, {"bias", uniform({6}, 252)}},
                [groups](const V& v) { return V{group_norm(v[0], groups, v[1], v[2])}; }, {},
                "group_norm groups " + std::to_string(groups));
  }
  parity_case("group_norm", Params().num("groups", 2).num("eps", 1e-5), {{"x", uniform({2, 4, 3, 2, 2}, 253)}},
              [](const V& v) { return V{group_norm(v[0], 2)}; }, {}, "group_norm 3-D no-affine");
}

TEST(ParityLayers, PoolUpsamplePad) {
  struct PoolCfg { Shape x, k, s, p; };
  for (const PoolCfg& c : {PoolCfg{{2, 3, 8, 9}, {2, 2}, {}, {0}}, PoolCfg{{2, 2, 7, 7}, {3, 3}, {2, 2}, {1, 1}},
                           PoolCfg{{1, 2, 6, 9}, {2, 3}, {1, 2}, {1, 0}}}) {
    Params p = Params().ints("kernel", c.k).ints("stride", c.s).ints("padding", c.p);
    parity_case("avg_pool2d", p, {{"x", uniform(c.x, 300)}},
                [c](const V& v) { return V{avg_pool2d(v[0], c.k, c.s, c.p)}; }, {}, "avg_pool2d k" + shape_str(c.k) + " s" + shape_str(c.s) + " p" + shape_str(c.p));
    parity_case("max_pool2d", p, {{"x", uniform(c.x, 301)}},
                [c](const V& v) { return V{max_pool2d(v[0], c.k, c.s, c.p)}; }, {}, "max_pool2d k" + shape_str(c.k) + " s" + shape_str(c.s) + " p" + shape_str(c.p));
  }
  for (const PoolCfg& c : {PoolCfg{{2, 2, 4, 6, 4}, {2, 2, 2}, {}, {0}}, PoolCfg{{1, 2, 5, 5, 6}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}}}) {
    Params p = Params().ints("kernel", c.k).ints("stride", c.s).ints("padding", c.p);
    parity_case("avg_pool3d", p, {{"x", uniform(c.x, 310)}},
                [c](const V& v) { return V{avg_pool3d(v[0], c.k, c.s, c.p)}; }, {}, "avg_pool3d k" + shape_str(c.k) + " p" + shape_str(c.p));
    parity_case("max_pool3d", p, {{"x", uniform(c.x, 311)}},
                [c](const V& v) { return V{max_pool3d(v[0], c.k, c.s, c.p)}; }, {}, "max_pool3d k" + shape_str(c.k) + " p" + shape_str(c.p));
  }
  struct UpCfg { Shape x, size; };
  for (const UpCfg& c : {UpCfg{{2, 2, 4, 5}, {8, 10}}, UpCfg{{1, 2, 3, 4}, {7, 5}}, UpCfg{{1, 2, 2, 3, 2}, {4, 6, 4}},
                         UpCfg{{1, 1, 3, 2, 4}, {5, 5, 7}}}) {
    parity_case("upsample_nearest", Params().ints("size", c.size), {{"x", uniform(c.x, 320)}},
                [c](const V& v) { return V{upsample_nearest(v[0], c.size)}; }, {},
                "upsample_nearest " + shape_str(c.x) + "→" + shape_str(c.size));
    for (bool ac : {false, true})
      parity_case("upsample_linear", Params().ints("size", c.size).flag("align_corners", ac), {{"x", uniform(c.x, 321)}},
                  [c, ac](const V& v) { return V{upsample_linear(v[0], c.size, ac)}; }, {},
                  std::string(c.size.size() == 2 ? "bilinear " : "trilinear ") + shape_str(c.x) + "→" + shape_str(c.size) +
                      (ac ? " align_corners" : ""));
  }
  struct PadCfg { Shape x, pads; PadMode mode; };
  for (const PadCfg& c : {PadCfg{{2, 3, 4, 5}, {1, 2, 0, 3}, PadMode::zero}, PadCfg{{2, 3, 4, 5}, {2, 1, 1, 1}, PadMode::replicate},
                          PadCfg{{1, 2, 3, 4, 5}, {1, 1, 2, 0, 1, 2}, PadMode::replicate},
                          PadCfg{{2, 2, 6, 6}, {-1, 2, 1, -2}, PadMode::zero}}) {
    const char* m = c.mode == PadMode::zero ? "zero" : "replicate";
    parity_case("pad", Params().ints("pads", c.pads).str("mode", m), {{"x", uniform(c.x, 330)}},
                [c](const V& v) { return V{pad(v[0], c.pads, c.mode)}; }, {}, std::string("pad ") + m + " " + shape_str(c.pads));
  }
}

TEST(ParityLayers, ActivationsAndSoftmax) {
  struct Act { const char* name; double param; std::function<Tensor(const Tensor&)> f; };
  const std::vector<Act> acts{
      {"relu", 0, [](const Tensor& x) { return relu(x); }},
      {"leaky_relu", 0.2, [](const Tensor& x) { return leaky_relu(x, 0.2); }},
      {"leaky_relu", 0.3, [](const Tensor& x) { return leaky_relu(x, 0.3); }},
      {"elu", 1.0, [](const Tensor& x) { return elu(x, 1.0); }},
      {"elu", 0.7, [](const Tensor& x) { return elu(x, 0.7); }},
      {"tanh", 0, [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", 0, [](const Tensor& x) { return sigmoid(x); }},
      {"softplus", 0, [](const Tensor& x) { return softplus(x); }},
  };
  for (const Act& a : acts) {
    Params p = Params().str("name", a.name).num("slope", a.param).num("alpha", a.param);
    auto f = a.f;
    parity_case("activation", p, {{"x", uniform({3, 4, 5, 6}, 400, -6, 6)}}, [f](const V& v) { return V{f(v[0])}; }, {},
                std::string(a.name) + " " + std::to_string(a.param));
  }
  for (int64_t dim : {1, -1, 0}) {
    parity_case("softmax", Params().num("dim", (double)dim), {{"x", uniform({3, 5, 7}, 410, -4, 4)}},
                [dim](const V& v) { return V{softmax(v[0], dim)}; }, {}, "softmax dim " + std::to_string(dim));
    parity_case("log_softmax", Params().num("dim", (double)dim), {{"x", uniform({3, 5, 7}, 411, -4, 4)}},
                [dim](const V& v) { return V{log_softmax(v[0], dim)}; }, {}, "log_softmax dim " + std::to_string(dim));
  }
  // Large logits: the max must be subtracted first.
  parity_case("softmax", Params().num("dim", 1), {{"x", uniform({2, 9}, 412, 80, 120)}},
              [](const V& v) { return V{softmax(v[0], 1)}; }, {}, "softmax large logits");
  parity_case("log_softmax", Params().num("dim", 1), {{"x", uniform({2, 9}, 413, -120, 120)}},
              [](const V& v) { return V{log_softmax(v[0], 1)}; }, {}, "log_softmax large logits");
}
