// cuda::adam_step (kernels/cuda/adam.cu) under the CUDA simulator against train::Adam
// (train/optim.cpp) on the same parameters, gradients and hyper-parameters, over several steps.
// Both run fn::adam_update (kernels/common/optim_functors.h) element by element in the same
// order of operations; only FMA contraction may differ between GCC's vectorised CPU loop and the
// scalar kernel, so parameters and moments are compared with fma_tol (1e-13 f32, 1e-29 f64) —
// in practice they are bitwise equal here. Guard values around every buffer.
#include "tests/sim_kernel_util.h"

#include "train/optim.h"

namespace {

using namespace uad;
using namespace uad::simtest;

template <class T> void check_adam(const std::vector<int64_t>& sizes, const train::AdamOptions& opt, int steps, uint64_t seed) {
  SCOPED_TRACE(std::to_string(sizes.size()) + " tensors, " + (sizeof(T) == 4 ? "f32" : "f64") + ", wd " + std::to_string(opt.weight_decay));
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  std::vector<Tensor> params;
  for (size_t k = 0; k < sizes.size(); ++k) params.push_back(random_tensor({sizes[k]}, dt, seed + k, -1, 1).requires_grad_());
  train::Adam cpu_adam(params, opt);
  std::vector<GuardedBuffer<T>> dp, dg, dm, dv;
  for (const Tensor& p : params) {
    dp.push_back(upload<T>(p));
    dg.emplace_back(p.numel());
    dm.emplace_back(p.numel(), T(0));
    dv.emplace_back(p.numel(), T(0));
  }
  for (int s = 1; s <= steps; ++s) {
    std::vector<cuda::AdamTensor> ts;
    for (size_t k = 0; k < params.size(); ++k) {
      Tensor g = random_tensor(params[k].shape(), dt, seed * 1000 + s * 100 + k, -2, 2);
      params[k].set_grad(g);
      cuda::copy_to_device(dg[k].data(), g.data<T>(), sizeof(T) * g.numel());
      ts.push_back({dp[k].data(), dg[k].data(), dm[k].data(), dv[k].data(), params[k].numel()});
    }
    cpu_adam.step();
    cuda::adam_step(dt, ts, {opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay, s});
  }
  for (size_t k = 0; k < params.size(); ++k) {
    SCOPED_TRACE("tensor " + std::to_string(k) + " of " + std::to_string(sizes[k]));
    for (auto* b : {&dp[k], &dm[k], &dv[k]}) EXPECT_TRUE(b->guards_intact());
    EXPECT_TRUE(close_values(dp[k].inside(), values_of<T>(params[k]), fma_tol<T>())) << "p";
    EXPECT_TRUE(close_values(dm[k].inside(), values_of<T>(cpu_adam.exp_avg()[k]), fma_tol<T>())) << "m";
    EXPECT_TRUE(close_values(dv[k].inside(), values_of<T>(cpu_adam.exp_avg_sq()[k]), fma_tol<T>())) << "v";
  }
}

TEST(SimAdam, MultiTensorStepMatchesTheCpuOptimiser) {
  train::AdamOptions opt;
  opt.lr = 2e-3;
  opt.beta1 = 0.5;
  std::vector<int64_t> sizes = {7, 4096, 8197, 1, 300};  // exact chunk, several chunks with a tail, scalars
  check_adam<float>(sizes, opt, 3, 1);
  opt.weight_decay = 1e-2;
  check_adam<double>(sizes, opt, 2, 2);
}

TEST(SimAdam, MoreTensorsThanOneLaunchHolds) {
  // 30 tensors > 24 per launch: the table is flushed and continued; a zero-size tensor is skipped.
  std::vector<int64_t> sizes;
  for (int k = 0; k < 30; ++k) sizes.push_back(k == 5 ? 0 : 1 + 37 * k);
  train::AdamOptions opt;
  check_adam<float>(sizes, opt, 2, 3);
}

TEST(SimAdam, MoreChunksThanOneLaunchHolds) {
  // 321 chunks of 4096 > 320 per launch: a tensor split across two launches.
  train::AdamOptions opt;
  opt.beta1 = 0.0;
  opt.beta2 = 0.9;  // WGAN-GP's betas
  check_adam<float>({3, 320 * 4096 + 5}, opt, 1, 4);
}

TEST(SimAdam, Errors) {
  DeviceArray<float> a(4);
  EXPECT_THROW(cuda::adam_step(DType::f32, {{a.data(), a.data(), a.data(), a.data(), 4}}, {1e-3, 0.9, 0.999, 1e-8, 0, 0}), Error);
  EXPECT_THROW(cuda::adam_step(DType::f32, {{a.data(), nullptr, a.data(), a.data(), 4}}, {1e-3, 0.9, 0.999, 1e-8, 0, 1}), Error);
  EXPECT_THROW(cuda::adam_step(DType::i32, {{a.data(), a.data(), a.data(), a.data(), 4}}, {1e-3, 0.9, 0.999, 1e-8, 0, 1}), Error);
}

}  // namespace
