// The backend test suite, part "nn" (issue 3): normalisations (batch norm in training and eval,
// with the running statistics, layer, instance, group norm), dropout, softmax / log_softmax,
// the losses, rand/randn/bernoulli, and the Adam and RMSProp steps — every op on the CUDA
// backend (simulated here; a real GPU when present) against the CPU with guard bytes, NaN/Inf
// checks, normalised MSE and gradients (tests/backend_ops.h). Shapes are the models' [N,C,H,W]
// and [N,C,D,H,W]; a few are large enough for the kernels' split-row paths (kernels/cuda/norm.cu
// version 2). The second-order cases are the WGAN-GP gradient penalty's double backward.
#include "tests/backend_ops.h"
#include "train/optim.h"
#include "train/rmsprop.h"

using namespace uad;
using namespace uad::backendtest;

namespace {

using In = std::vector<Tensor>;

std::string tag(DType dt) { return dt == DType::f32 ? " f32" : " f64"; }

const std::vector<DType> kFloats = {DType::f32, DType::f64};

// ---- normalisations ---------------------------------------------------------------------------

TEST_F(BackendOps, BatchNormTraining) {
  for (DType dt : kFloats) {
    const std::string t = tag(dt);
    run_case({"batch_norm train 4d" + t, {{4, 6, 5, 7}, {6}, {6}},
              [](const In& x) { return batch_norm(x[0], x[1], x[2], Tensor(), Tensor(), true); }, dt});
    run_case({"batch_norm train 5d" + t, {{2, 3, 4, 5, 6}, {3}, {3}},
              [](const In& x) { return batch_norm(x[0], x[1], x[2], Tensor(), Tensor(), true, 0.1, 1e-3); }, dt});
    run_case({"batch_norm train no affine [N,C]" + t, {{9, 5}}, [](const In& x) { return batch_norm(x[0], {}, {}, {}, {}, true); }, dt});
  }
  // S ≥ 1024: the split-row batch statistics (norm.cu version 2).
  run_case({"batch_norm train long planes", {{2, 3, 32, 33}, {3}, {3}},
            [](const In& x) { return batch_norm(x[0], x[1], x[2], Tensor(), Tensor(), true); }});
}

TEST_F(BackendOps, BatchNormRunningStatistics) {
  // The running buffers are updated in place on each device; after one training call the
  // device's must equal the CPU's (r ← 0.9·r + 0.1·stat, unbiased variance).
  struct Setup {
    DType x_dtype, stat_dtype;
  };
  for (Setup su : {Setup{DType::f32, DType::f32}, Setup{DType::f64, DType::f64}, Setup{DType::f64, DType::f32}}) {
    std::vector<Tensor> stats;  // CPU running mean, var, then the device's
    const std::string name = "batch_norm running stats x" + tag(su.x_dtype) + " stats" + tag(su.stat_dtype);
    run_case({name, {{3, 4, 6, 5, 2}, {4}, {4}},
              [&stats, su](const In& x) {
                Tensor rm = full({4}, 0.2, su.stat_dtype, x[0].device()), rv = full({4}, 1.5, su.stat_dtype, x[0].device());
                Tensor y = batch_norm(x[0], x[1], x[2], rm, rv, true, 0.1, 1e-5);
                stats.push_back(rm);
                stats.push_back(rv);
                return y;
              },
              su.x_dtype, -1, 3});
    ASSERT_EQ(stats.size(), 4u);
    const double tol = su.stat_dtype == DType::f32 ? 1e-12 : 1e-24;
    EXPECT_TRUE(close(stats[2], stats[0], tol, name + ": running_mean"));
    EXPECT_TRUE(close(stats[3], stats[1], tol, name + ": running_var"));
    EXPECT_GT(stats[0].to_vector()[0], 0.2);  // moved towards the batch mean ≈ 1
  }
}

TEST_F(BackendOps, BatchNormEval) {
  for (DType dt : kFloats) {
    // inputs: x, weight, bias, running mean, running var (kept positive).
    run_case({"batch_norm eval 4d" + tag(dt), {{4, 6, 5, 7}, {6}, {6}, {6}, {6}},
              [](const In& x) { return batch_norm(x[0], x[1], x[2], x[3], square(x[4]) + 0.5, false); }, dt});
    run_case({"batch_norm eval 5d no affine" + tag(dt), {{2, 3, 4, 5, 6}, {3}, {3}},
              [](const In& x) { return batch_norm(x[0], {}, {}, x[1], square(x[2]) + 0.5, false); }, dt});
  }
}

TEST_F(BackendOps, LayerInstanceGroupNorm) {
  for (DType dt : kFloats) {
    const std::string t = tag(dt);
    run_case({"layer_norm over C,H,W" + t, {{4, 6, 5, 7}, {6, 5, 7}, {6, 5, 7}},
              [](const In& x) { return layer_norm(x[0], 3, x[1], x[2]); }, dt});
    run_case({"layer_norm last dim no affine" + t, {{8, 33}}, [](const In& x) { return layer_norm(x[0], 1); }, dt});
    run_case({"layer_norm 5d over D,H,W" + t, {{2, 3, 4, 5, 6}, {4, 5, 6}}, [](const In& x) { return layer_norm(x[0], 3, x[1]); }, dt});
    run_case({"instance_norm 4d" + t, {{4, 6, 8, 8}, {6}, {6}}, [](const In& x) { return instance_norm(x[0], x[1], x[2]); }, dt});
    run_case({"instance_norm 5d" + t, {{2, 3, 4, 5, 6}, {3}, {3}}, [](const In& x) { return instance_norm(x[0], x[1], x[2]); }, dt});
    run_case({"group_norm 2 groups 5d" + t, {{2, 6, 4, 5, 3}, {6}, {6}}, [](const In& x) { return group_norm(x[0], 2, x[1], x[2]); }, dt});
    run_case({"group_norm 3 groups no affine" + t, {{4, 6, 5, 7}}, [](const In& x) { return group_norm(x[0], 3); }, dt});
    run_case({"normalize_composed" + t, {{4, 6, 5}, {6}}, [](const In& x) {
                return normalize_composed(x[0], {4, 6, 5}, {2}, x[1], Tensor(), {1, 6, 1});
              }, dt});
  }
  // Few long rows: the split-row statistics and backward (norm.cu version 2).
  run_case({"instance_norm long rows", {{1, 2, 16, 16, 20}, {2}, {2}}, [](const In& x) { return instance_norm(x[0], x[1], x[2]); }});
  run_case({"layer_norm long rows", {{2, 3, 40, 50}}, [](const In& x) { return layer_norm(x[0], 3); }});
  // Strided input: the ops make it contiguous first.
  run_case({"instance_norm of a permuted view", {{4, 5, 6, 3}}, [](const In& x) { return instance_norm(x[0].permute({0, 3, 1, 2})); }});
}

TEST_F(BackendOps, DeviceMixesAreErrorsNamingTheOp) {
  auto expect_error = [](const std::function<void()>& f, const std::string& op) {
    try {
      f();
      ADD_FAILURE() << op << ": no error for a device mix";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
    }
  };
  Tensor xd = zeros({2, 3, 4, 4}, DType::f32, Device::cuda);
  expect_error([&] { batch_norm(xd, {}, {}, zeros({3}), zeros({3}), true); }, "batch_norm");
  expect_error([&] { instance_norm(xd, ones({3})); }, "instance_norm");
  expect_error([&] { layer_norm(xd, 2, ones({4, 4})); }, "layer_norm");
  expect_error([&] { bce_with_logits(xd, zeros({2, 3, 4, 4})); }, "bce_with_logits");
}

// ---- dropout and random draws -----------------------------------------------------------------

TEST_F(BackendOps, DropoutMaskEqualsTheCpus) {
  // The same Generator state on both devices → the same mask, bit for bit (tol 0), and the same
  // gradient (g·mask).
  for (DType dt : kFloats) {
    for (double p : {0.3, 0.5, 1.0}) {
      run_case({"dropout p=" + std::to_string(p) + tag(dt), {{4, 6, 5, 7}},
                [p](const In& x) {
                  Generator g(11);
                  g.reserve(13);  // a non-zero offset
                  return dropout(x[0], p, true, g);
                },
                dt, 0.5, 1.5, 0.0});
    }
    run_case({"dropout 5d odd size" + tag(dt), {{2, 3, 3, 5, 7}},
              [](const In& x) {
                Generator g(5);
                return dropout(x[0], 0.2, true, g);
              },
              dt, 0.5, 1.5, 0.0});
  }
  // The generator advances the same way, and the mask is the CPU's bernoulli(1 − p).
  Generator gc(9), gd(9);
  Tensor ones_c = ones({3, 7, 5}), ones_d = ones({3, 7, 5}, DType::f32, Device::cuda);
  Tensor yc = dropout(ones_c, 0.4, true, gc), yd = dropout(ones_d, 0.4, true, gd);
  EXPECT_EQ(gc.offset(), gd.offset());
  EXPECT_EQ(yd.to_vector(), yc.to_vector());
  Generator gb(9);
  const std::vector<double> keep = bernoulli({3, 7, 5}, 0.6, gb).to_vector(), yv = yd.to_vector();
  for (size_t i = 0; i < keep.size(); ++i) EXPECT_EQ(yv[i] != 0.0, keep[i] == 1.0) << i;
}

TEST_F(BackendOps, RandomDrawsEqualTheCpus) {
  for (DType dt : kFloats) {
    for (const Shape& s : {Shape{4, 6, 5, 7}, Shape{1001}, Shape{2, 3, 4, 5, 6}}) {
      const std::string what = shape_str(s) + tag(dt);
      Generator gc(42), gd(42);
      gc.reserve(3);
      gd.reserve(3);
      Tensor uc = rand(s, gc, dt), ud = rand(s, gd, dt, Device::cuda);
      ASSERT_EQ(ud.device(), Device::cuda);
      EXPECT_EQ(ud.to_vector(), uc.to_vector()) << "rand " << what;
      Tensor nc = randn(s, gc, dt), nd = randn(s, gd, dt, Device::cuda);
#if defined(UAD_CUDA_SIM)
      EXPECT_EQ(nd.to_vector(), nc.to_vector()) << "randn " << what;  // same libm under the simulator
#else
      EXPECT_TRUE(close(nd, nc, 1e-12, "randn " + what));  // a GPU's logf/sinf/cosf: last-bit differences
#endif
      Tensor bc = bernoulli(s, 0.35, gc, dt), bd = bernoulli(s, 0.35, gd, dt, Device::cuda);
      EXPECT_EQ(bd.to_vector(), bc.to_vector()) << "bernoulli " << what;
      EXPECT_EQ(gd.offset(), gc.offset()) << what;
    }
  }
  // The default-generator overloads still draw on the CPU.
  EXPECT_EQ(rand({3}).device(), Device::cpu);
}

// ---- softmax ----------------------------------------------------------------------------------

TEST_F(BackendOps, SoftmaxAndLogSoftmax) {
  for (DType dt : kFloats) {
    const std::string t = tag(dt);
    run_case({"softmax over C" + t, {{4, 6, 5, 7}}, [](const In& x) { return softmax(x[0], 1); }, dt, -3, 3});
    run_case({"log_softmax over C 5d" + t, {{2, 5, 3, 4, 6}}, [](const In& x) { return log_softmax(x[0], 1); }, dt, -3, 3});
    run_case({"softmax last dim" + t, {{16, 100}}, [](const In& x) { return softmax(x[0], -1); }, dt, -3, 3});
    run_case({"log_softmax last dim" + t, {{16, 100}}, [](const In& x) { return log_softmax(x[0], -1); }, dt, -3, 3});
    run_case({"softmax dim 0" + t, {{7, 9}}, [](const In& x) { return softmax(x[0], 0); }, dt, -3, 3});
  }
  run_case({"softmax of a transposed view", {{9, 7}}, [](const In& x) { return softmax(x[0].transpose(0, 1), 1); }, DType::f32, -3, 3});
  run_case({"softmax with -inf", {{5, 8}}, [](const In& x) {
              Tensor m = gt(x[0].detach(), full({}, 0.7, DType::f32, x[0].device()));
              return softmax(where(m, full({}, -INFINITY, DType::f32, x[0].device()), x[0]), 1);
            }, DType::f32, -1, 1, -1, false});
}

// ---- losses -------------------------------------------------------------------------------------

TEST_F(BackendOps, Losses) {
  const std::vector<Shape> shapes = {{4, 1, 16, 16}, {2, 1, 8, 8, 8}};
  for (DType dt : kFloats) {
    for (const Shape& s : shapes) {
      const std::string t = " " + shape_str(s) + tag(dt);
      run_case({"l1_loss mean" + t, {s, s}, [](const In& x) { return l1_loss(x[0], x[1]); }, dt});
      run_case({"l1_loss none" + t, {s, s}, [](const In& x) { return l1_loss(x[0], x[1], Reduction::none); }, dt});
      run_case({"mse_loss sum" + t, {s, s}, [](const In& x) { return mse_loss(x[0], x[1], Reduction::sum); }, dt});
      run_case({"mse_loss batch_mean" + t, {s, s}, [](const In& x) { return mse_loss(x[0], x[1], Reduction::batch_mean); }, dt});
      // Target (x[1] + 2)/4 ∈ [0, 1], differentiable (∂/∂t = −z).
      for (Reduction r : {Reduction::none, Reduction::mean, Reduction::batch_mean})
        run_case({std::string("bce_with_logits ") + (r == Reduction::none ? "none" : r == Reduction::mean ? "mean" : "batch_mean") + t, {s, s},
                  [r](const In& x) { return bce_with_logits(x[0], (x[1] + 2.0) * 0.25, r); }, dt, -2, 2});
      run_case({"kl_normal_std" + t, {s, s}, [](const In& x) { return kl_normal_std(x[0], x[1]); }, dt, -2, 2});
      run_case({"kl_normal" + t, {s, s, s, s}, [](const In& x) { return kl_normal(x[0], x[1], x[2], x[3], Reduction::sum); }, dt, -2, 2});
      run_case({"gaussian_nll full" + t, {s, s, s},
                [](const In& x) { return gaussian_nll(x[0], x[1], x[2], Reduction::batch_mean, true); }, dt, -2, 2});
    }
  }
  run_case({"reduce_loss sum of a view", {{6, 5}}, [](const In& x) { return reduce_loss(x[0].transpose(0, 1), Reduction::sum); }});
}

// ---- second order: the gradient penalty's double backward ---------------------------------------

TEST_F(BackendOps, SecondOrderThroughNorms) {
  // A WGAN-GP-like critic on x [N,C,H,W]: instance norm (affine) → leaky_relu → layer norm →
  // linear read-out w [C,H,W]; penalty (‖∂critic/∂x‖₂ − 1)² per sample, then its gradient with
  // respect to x and every parameter (backward through the vjps written in ops).
  for (DType dt : kFloats) {
    run_case({"gradient penalty through instance/layer norm" + tag(dt), {{3, 4, 6, 5}, {4}, {4}, {4, 6, 5}, {4, 6, 5}},
              [](const In& x) {
                Tensor h = leaky_relu(instance_norm(x[0], x[1], x[2]), 0.2);
                Tensor c = sum(mul(layer_norm(h, 3, x[3]), x[4]));
                Tensor g = grad({c}, {x[0]}, {}, /*create_graph=*/true)[0];
                Tensor n = sqrt(sum(square(g), {1, 2, 3}) + 1e-12);
                return square(n - 1.0);
              },
              dt});
    run_case({"gradient penalty through group norm and softmax" + tag(dt), {{2, 6, 3, 4, 2}, {6}},
              [](const In& x) {
                Tensor h = leaky_relu(group_norm(x[0], 3, x[1]), 0.2);
                Tensor c = sum(mul(log_softmax(h, 1), h));
                Tensor g = grad({c}, {x[0]}, {}, true)[0];
                return sum(square(g), {1, 2, 3, 4});
              },
              dt});
    run_case({"second order through batch norm" + tag(dt), {{4, 3, 5, 6}, {3}, {3}},
              [](const In& x) {
                Tensor c = sum(square(batch_norm(x[0], x[1], x[2], {}, {}, true)) * x[0]);
                Tensor g = grad({c}, {x[0]}, {}, true)[0];
                return sum(square(g), {0, 2, 3});
              },
              dt});
  }
}

// ---- optimisers -------------------------------------------------------------------------------

/// Parameter shapes of a small conv net (more than 24 tensors: several adam_step launches; one
/// larger than a 4096-element chunk).
std::vector<Shape> param_shapes() {
  std::vector<Shape> s;
  for (int i = 0; i < 13; ++i) {
    s.push_back({8 + i, 4, 3, 3});
    s.push_back({8 + i});
  }
  s.push_back({64, 32, 3, 3});
  s.push_back({3, 5, 7, 2, 2});
  return s;
}

/// Runs `steps` optimiser steps on CPU parameters and on device copies with the same gradients
/// (parameter 1 never gets one: it must stay untouched) and compares parameters and `state`.
template <class Opt, class Options, class State>
void compare_optimiser(const std::string& name, const Options& opt, DType dt, State state, double tol) {
  SCOPED_TRACE(name);
  Generator gen(seed_of(name));
  std::vector<Tensor> pc, pd;
  for (const Shape& s : param_shapes()) {
    Tensor p = randn(s, gen, dt);
    pc.push_back(p.detach().requires_grad_());
    pd.push_back(to_device(p, Device::cuda).detach().requires_grad_());
  }
  const std::vector<double> initial1 = pc[1].to_vector();
  Opt oc(pc, opt), od(pd, opt);
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < pc.size(); ++i) {
      if (i == 1) continue;
      Tensor g = randn(pc[i].shape(), gen, dt);
      pc[i].set_grad(g);
      pd[i].set_grad(to_device(g, Device::cuda));
    }
    oc.step();
    od.step();
  }
  for (size_t i = 0; i < pc.size(); ++i) {
    EXPECT_TRUE(close(pd[i].detach(), pc[i].detach(), tol, name + ": parameter " + std::to_string(i)));
    const std::vector<Tensor>& sc = state(oc);
    const std::vector<Tensor>& sd = state(od);
    if (!sc.empty()) {
      EXPECT_TRUE(close(sd[i], sc[i], tol, name + ": state of parameter " + std::to_string(i)));
    }
  }
  EXPECT_EQ(pd[1].to_vector(), initial1) << "a parameter without a gradient changed";
}

TEST_F(BackendOps, AdamStepEqualsTheCpus) {
  for (DType dt : kFloats) {
    const double tol = dt == DType::f32 ? 1e-13 : 1e-26;
    train::AdamOptions o;
    o.lr = 2e-3;
    o.beta1 = 0.5;
    compare_optimiser<train::Adam>("adam" + tag(dt), o, dt, [](train::Adam& a) -> std::vector<Tensor>& { return a.exp_avg(); }, tol);
    o.weight_decay = 1e-2;
    o.beta1 = 0.0;
    o.beta2 = 0.9;
    compare_optimiser<train::Adam>("adam wd, WGAN-GP betas" + tag(dt), o, dt,
                                   [](train::Adam& a) -> std::vector<Tensor>& { return a.exp_avg_sq(); }, tol);
  }
}

TEST_F(BackendOps, RMSPropStepEqualsTheCpus) {
  for (DType dt : kFloats) {
    const double tol = dt == DType::f32 ? 1e-12 : 1e-24;
    train::RMSPropOptions o;
    o.lr = 5e-5;
    compare_optimiser<train::RMSProp>("rmsprop" + tag(dt), o, dt,
                                      [](train::RMSProp& a) -> std::vector<Tensor>& { return a.square_avg(); }, tol);
    o.centered = true;
    o.momentum = 0.9;
    o.weight_decay = 1e-3;
    compare_optimiser<train::RMSProp>("rmsprop centered momentum" + tag(dt), o, dt,
                                      [](train::RMSProp& a) -> std::vector<Tensor>& { return a.momentum_buffer(); }, tol);
  }
}

}  // namespace
