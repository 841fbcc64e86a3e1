// cuda::loss_forward (kernels/cuda/loss.cu) under the CUDA simulator against the CPU loss ops
// (tensor/ops_loss.h) on the same inputs. Elementwise values use the CPU's functors: bitwise
// equal. Reductions sum in the input dtype in a block tree while the CPU sums f32 in f64, so they
// are compared within 1e-6 (f32) / 1e-13 (f64) of Σ|loss| (the rounding bound of a length-n
// f32 tree sum is ~log2(n)·ε·Σ|l| ≈ 1.2e-6 for n = 10^5; the values here are far inside it).
#include "tests/sim_kernel_util.h"

namespace {

using namespace uad;
using namespace uad::simtest;

struct LossCase {
  cuda::LossKind kind;
  const char* name;
  Tensor (*cpu)(const Tensor&, const Tensor&, Reduction);
};

const LossCase kLosses[] = {
    {cuda::LossKind::l1, "l1", [](const Tensor& x, const Tensor& y, Reduction r) { return l1_loss(x, y, r); }},
    {cuda::LossKind::mse, "mse", [](const Tensor& x, const Tensor& y, Reduction r) { return mse_loss(x, y, r); }},
    {cuda::LossKind::bce_with_logits, "bce_with_logits",
     [](const Tensor& x, const Tensor& y, Reduction r) { return bce_with_logits(x, y, r); }},
};

template <class T> void check_losses(const Shape& shape, uint64_t seed) {
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  const int64_t n = numel_of(shape), batch = shape[0];
  for (const LossCase& c : kLosses) {
    SCOPED_TRACE(std::string(c.name) + " " + shape_str(shape) + (sizeof(T) == 4 ? " f32" : " f64"));
    Tensor x = random_tensor(shape, dt, seed, -30, 30);  // large logits: bce's stable form matters
    Tensor y = c.kind == cuda::LossKind::bce_with_logits ? random_tensor(shape, dt, seed + 1, 0, 1) : random_tensor(shape, dt, seed + 1, -30, 30);
    if (n > 2) x.data<T>()[2] = y.data<T>()[2];  // l1 at x == y: 0
    GuardedBuffer<T> dx = upload<T>(x), dy = upload<T>(y), none(n), red(1);
    cuda::loss_forward(c.kind, cuda::LossReduction::none, dt, dx.data(), dy.data(), n, batch, none.data());
    EXPECT_TRUE(none.guards_intact());
    EXPECT_TRUE(same_values(none.inside(), values_of<T>(c.cpu(x, y, Reduction::none)))) << "none";
    const double abs_sum = sum(abs(c.cpu(x, y, Reduction::none).to(DType::f64))).item();
    const double tol = (sizeof(T) == 4 ? 1e-6 : 1e-13) * (1 + abs_sum);
    const std::pair<cuda::LossReduction, Reduction> reds[] = {
        {cuda::LossReduction::sum, Reduction::sum}, {cuda::LossReduction::mean, Reduction::mean}, {cuda::LossReduction::batch_mean, Reduction::batch_mean}};
    for (auto [gr, cr] : reds) {
      cuda::loss_forward(c.kind, gr, dt, dx.data(), dy.data(), n, batch, red.data());
      EXPECT_TRUE(red.guards_intact());
      const double want = c.cpu(x, y, cr).item();
      const double scale = cr == Reduction::mean ? 1.0 / n : cr == Reduction::batch_mean ? 1.0 / batch : 1.0;
      EXPECT_NEAR(red.inside()[0], want, tol * scale) << "reduction " << (int)gr;
    }
  }
}

TEST(SimLoss, ElementwiseAndReducedLossesMatchTheCpu) {
  check_losses<float>({4, 3, 7, 5}, 1);  // 420 elements: one block
  check_losses<float>({3, 1, 40, 41}, 2);   // 4 920 elements: several partial blocks + the final pass
  check_losses<double>({2, 1000}, 3);
  check_losses<float>({1}, 4);
}

TEST(SimLoss, ReductionsAreBitwiseReproducibleUnderShuffledThreadOrder) {
  Tensor x = random_tensor({5000}, DType::f32, 5), y = random_tensor({5000}, DType::f32, 6);
  GuardedBuffer<float> dx = upload<float>(x), dy = upload<float>(y), out(1);
  cuda::loss_forward(cuda::LossKind::mse, cuda::LossReduction::mean, DType::f32, dx.data(), dy.data(), 5000, 1, out.data());
  const float ref = out.inside()[0];
  with_shuffles([&] {
    cuda::loss_forward(cuda::LossKind::mse, cuda::LossReduction::mean, DType::f32, dx.data(), dy.data(), 5000, 1, out.data());
    EXPECT_EQ(out.inside()[0], ref);
  });
}

TEST(SimLoss, Errors) {
  DeviceArray<float> a(4), b(4), o(4);
  EXPECT_THROW(cuda::loss_forward(cuda::LossKind::l1, cuda::LossReduction::mean, DType::f32, a.data(), b.data(), 0, 1, o.data()), Error);
  EXPECT_THROW(cuda::loss_forward(cuda::LossKind::l1, cuda::LossReduction::batch_mean, DType::f32, a.data(), b.data(), 4, 0, o.data()),
               Error);
  EXPECT_THROW(cuda::loss_forward(cuda::LossKind::l1, cuda::LossReduction::sum, DType::i32, a.data(), b.data(), 4, 1, o.data()), Error);
}

}  // namespace
