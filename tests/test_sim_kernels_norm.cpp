// cuda::{layer,group,batch}_norm_{forward,backward} (kernels/cuda/norm.cu) under the CUDA
// simulator against the CPU ops (tensor/ops_norm.h: layer_norm, group_norm, instance_norm via
// groups == C, batch_norm) and their gradients (uad::grad) on the same inputs.
// Tolerances: the GPU accumulates statistics in the storage dtype by Welford + a block tree, the
// CPU in double by chunked two-pass + Chan merges, so f32 results agree to rounding only:
// normalised MSE ≤ order_tol (1e-11 f32, 1e-26 f64). Eval batch norm uses the CPU's exact
// expression: equal up to FMA contraction (fma_tol). Guard values surround every output buffer.
#include "tests/sim_kernel_util.h"

#include "tensor/autograd.h"

namespace {

using namespace uad;
using namespace uad::simtest;

template <class T> DType dtype_of() { return sizeof(T) == 4 ? DType::f32 : DType::f64; }

/// CPU reference of one normalisation: y and the gradients of Σ y·g.
struct Reference {
  Tensor y, dx, dw, db;
};

template <class Op> Reference cpu_reference(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& g, Op op) {
  Tensor x = x0.detach().requires_grad_(), w = w0.defined() ? w0.detach().requires_grad_() : Tensor(),
         b = b0.defined() ? b0.detach().requires_grad_() : Tensor();
  Tensor y = op(x, w, b);
  std::vector<Tensor> inputs = {x};
  if (w.defined()) inputs.push_back(w);
  if (b.defined()) inputs.push_back(b);
  std::vector<Tensor> gr = grad({y}, inputs, {g});
  Reference r{y.detach(), gr[0], Tensor(), Tensor()};
  size_t k = 1;
  if (w.defined()) r.dw = gr[k++];
  if (b.defined()) r.db = gr[k++];
  return r;
}

template <class T> void expect_close(const GuardedBuffer<T>& got, const Tensor& want, double tol, const char* what) {
  EXPECT_TRUE(got.guards_intact()) << what;
  EXPECT_TRUE(close_values(got.inside(), values_of<T>(want), tol)) << what;
}

// ---- layer norm ----------------------------------------------------------------------------------

template <class T> void check_layer_norm(int64_t R, int64_t K, bool affine, uint64_t seed, double offset = 0, double tol = order_tol<T>()) {
  SCOPED_TRACE("layer_norm [" + std::to_string(R) + "," + std::to_string(K) + "]" + (affine ? " affine" : "") +
               (sizeof(T) == 4 ? " f32" : " f64") + " offset " + std::to_string(offset));
  const DType dt = dtype_of<T>();
  Tensor x = random_tensor({R, K}, dt, seed) + offset;
  Tensor w = affine ? random_tensor({K}, dt, seed + 1, 0.5, 1.5) : Tensor();
  Tensor b = affine ? random_tensor({K}, dt, seed + 2) : Tensor();
  Tensor g = random_tensor({R, K}, dt, seed + 3);
  Reference ref = cpu_reference(x, w, b, g, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) { return layer_norm(xx, 1, ww, bb); });

  GuardedBuffer<T> dxin = upload<T>(x), dg = upload<T>(g), dy(R * K), mean(R), rstd(R), ddx(R * K), ddw(K), ddb(K);
  GuardedBuffer<T> dw = affine ? upload<T>(w) : GuardedBuffer<T>(0), db = affine ? upload<T>(b) : GuardedBuffer<T>(0);
  const T* wp = affine ? dw.data() : nullptr;
  const T* bp = affine ? db.data() : nullptr;
  cuda::layer_norm_forward(dt, dxin.data(), wp, bp, dy.data(), mean.data(), rstd.data(), R, K);
  expect_close(dy, ref.y, tol, "y");
  // The saved statistics against the definition (in double).
  Tensor x64 = x.to(DType::f64);
  Tensor m_want = uad::mean(x64, {1}), r_want = 1.0 / sqrt(uad::mean(square(x64 - uad::mean(x64, {1}, true)), {1}) + 1e-5);
  expect_close(mean, m_want.to(dt), tol, "mean");
  expect_close(rstd, r_want.to(dt), tol, "rstd");
  cuda::layer_norm_backward(dt, dg.data(), dxin.data(), mean.data(), rstd.data(), wp, R, K, ddx.data(), affine ? ddw.data() : nullptr,
                            affine ? ddb.data() : nullptr);
  expect_close(ddx, ref.dx, tol, "dx");
  if (affine) {
    expect_close(ddw, ref.dw, tol, "dw");
    expect_close(ddb, ref.db, tol, "db");
  } else {
    EXPECT_TRUE(same_values(ddw.inside(), std::vector<T>((size_t)K, GuardedBuffer<T>::sentinel()))) << "dw not requested";
  }
}

TEST(SimNorm, LayerNormMatchesTheCpu) {
  check_layer_norm<float>(6, 1000, true, 1);   // rows longer than a 256-thread block
  check_layer_norm<float>(9, 40, false, 2);    // 32-thread blocks
  check_layer_norm<float>(300, 3, true, 3);    // many short rows; dw/db over 300 rows
  check_layer_norm<double>(5, 513, true, 4);
  check_layer_norm<double>(2, 1, true, 5);     // one element per row: x̂ = 0
  check_layer_norm<float>(2, 20000, true, 7);  // version 2: each row split over 5 blocks
}

TEST(SimNorm, WelfordHasNoCatastrophicCancellationInF32) {
  // x = 1000 + U(−2, 2): a naive Σx² − (Σx)²/n in f32 would lose every digit of the variance.
  // Welford's f32 mean carries ~1000·ε absolute error, so the tolerance is 1e-7 (not 1e-11).
  check_layer_norm<float>(4, 2000, true, 6, 1000.0, 1e-7);
}

// ---- group / instance norm -----------------------------------------------------------------------

template <class T> void check_group_norm(int64_t N, int64_t C, int64_t S, int64_t groups, bool affine, uint64_t seed) {
  SCOPED_TRACE("group_norm N=" + std::to_string(N) + " C=" + std::to_string(C) + " S=" + std::to_string(S) +
               " groups=" + std::to_string(groups) + (affine ? " affine" : "") + (sizeof(T) == 4 ? " f32" : " f64"));
  const DType dt = dtype_of<T>();
  Tensor x = random_tensor({N, C, S}, dt, seed);
  Tensor w = affine ? random_tensor({C}, dt, seed + 1, 0.5, 1.5) : Tensor();
  Tensor b = affine ? random_tensor({C}, dt, seed + 2) : Tensor();
  Tensor g = random_tensor({N, C, S}, dt, seed + 3);
  Reference ref = cpu_reference(x, w, b, g, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return groups == C ? instance_norm(xx, ww, bb) : group_norm(xx, groups, ww, bb);
  });
  const int64_t n = N * C * S;
  GuardedBuffer<T> dxin = upload<T>(x), dg = upload<T>(g), dy(n), mean(N * groups), rstd(N * groups), ddx(n), ddw(C), ddb(C);
  GuardedBuffer<T> dw = affine ? upload<T>(w) : GuardedBuffer<T>(0), db = affine ? upload<T>(b) : GuardedBuffer<T>(0);
  const T* wp = affine ? dw.data() : nullptr;
  const T* bp = affine ? db.data() : nullptr;
  cuda::group_norm_forward(dt, dxin.data(), wp, bp, dy.data(), mean.data(), rstd.data(), N, C, S, groups);
  expect_close(dy, ref.y, order_tol<T>(), "y");
  EXPECT_TRUE(mean.guards_intact());
  EXPECT_TRUE(rstd.guards_intact());
  cuda::group_norm_backward(dt, dg.data(), dxin.data(), mean.data(), rstd.data(), wp, N, C, S, groups, ddx.data(),
                            affine ? ddw.data() : nullptr, affine ? ddb.data() : nullptr);
  expect_close(ddx, ref.dx, order_tol<T>(), "dx");
  if (affine) {
    expect_close(ddw, ref.dw, order_tol<T>(), "dw");
    expect_close(ddb, ref.db, order_tol<T>(), "db");
  }
}

TEST(SimNorm, GroupAndInstanceNormMatchTheCpu) {
  check_group_norm<float>(2, 6, 50, 3, true, 10);   // 3 groups of 100 elements
  check_group_norm<float>(2, 4, 300, 4, true, 11);  // instance norm, rows > 256
  check_group_norm<float>(3, 4, 7, 1, false, 12);   // one group over (C, S)
  check_group_norm<double>(2, 6, 33, 2, true, 13);
  check_group_norm<float>(1, 2, 9000, 1, true, 14);  // version 2: one 18 000-element row split 5 ways
}

// ---- batch norm -----------------------------------------------------------------------------------

template <class T> void check_batch_norm(int64_t N, int64_t C, int64_t S, bool affine, uint64_t seed) {
  SCOPED_TRACE("batch_norm N=" + std::to_string(N) + " C=" + std::to_string(C) + " S=" + std::to_string(S) + (affine ? " affine" : "") +
               (sizeof(T) == 4 ? " f32" : " f64"));
  const DType dt = dtype_of<T>();
  Shape shape = S == 1 ? Shape{N, C} : Shape{N, C, S};
  Tensor x = random_tensor(shape, dt, seed, -1, 3);
  Tensor w = affine ? random_tensor({C}, dt, seed + 1, 0.5, 1.5) : Tensor();
  Tensor b = affine ? random_tensor({C}, dt, seed + 2) : Tensor();
  Tensor g = random_tensor(shape, dt, seed + 3);
  Tensor rm0 = random_tensor({C}, dt, seed + 4), rv0 = random_tensor({C}, dt, seed + 5, 0.5, 2);
  const int64_t n = N * C * S;

  // Training: batch statistics, running buffers updated.
  Tensor rm = rm0.clone(), rv = rv0.clone();
  Reference ref = cpu_reference(x, w, b, g, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return batch_norm(xx, ww, bb, rm, rv, true, 0.1, 1e-5);
  });
  GuardedBuffer<T> dxin = upload<T>(x), dg = upload<T>(g), dy(n), mean(C), rstd(C), ddx(n), ddw(C), ddb(C);
  GuardedBuffer<T> drm = upload<T>(rm0), drv = upload<T>(rv0);
  GuardedBuffer<T> dw = affine ? upload<T>(w) : GuardedBuffer<T>(0), db = affine ? upload<T>(b) : GuardedBuffer<T>(0);
  const T* wp = affine ? dw.data() : nullptr;
  const T* bp = affine ? db.data() : nullptr;
  cuda::batch_norm_forward_train(dt, dxin.data(), wp, bp, dy.data(), mean.data(), rstd.data(), drm.data(), drv.data(), N, C, S, 0.1,
                                 1e-5);
  expect_close(dy, ref.y, order_tol<T>(), "train y");
  expect_close(drm, rm, order_tol<T>(), "running_mean");
  expect_close(drv, rv, order_tol<T>(), "running_var");
  cuda::batch_norm_backward(dt, dg.data(), dxin.data(), wp, mean.data(), rstd.data(), N, C, S, true, ddx.data(),
                            affine ? ddw.data() : nullptr, affine ? ddb.data() : nullptr);
  expect_close(ddx, ref.dx, order_tol<T>(), "train dx");
  if (affine) {
    expect_close(ddw, ref.dw, order_tol<T>(), "train dw");
    expect_close(ddb, ref.db, order_tol<T>(), "train db");
  }

  // Eval: running statistics (bitwise: the CPU's expression), then the backward pass.
  Reference ev = cpu_reference(x, w, b, g, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return batch_norm(xx, ww, bb, rm0, rv0, false, 0.1, 1e-5);
  });
  GuardedBuffer<T> rm_e = upload<T>(rm0), rv_e = upload<T>(rv0), ey(n), erstd(C), edx(n), edw(C), edb(C);
  cuda::batch_norm_forward_eval(dt, dxin.data(), wp, bp, rm_e.data(), rv_e.data(), ey.data(), erstd.data(), N, C, S, 1e-5);
  EXPECT_TRUE(ey.guards_intact());
  EXPECT_TRUE(close_values(ey.inside(), values_of<T>(ev.y), fma_tol<T>())) << "eval y";
  cuda::batch_norm_backward(dt, dg.data(), dxin.data(), wp, rm_e.data(), erstd.data(), N, C, S, false, edx.data(),
                            affine ? edw.data() : nullptr, affine ? edb.data() : nullptr);
  expect_close(edx, ev.dx, order_tol<T>(), "eval dx");
  if (affine) {
    expect_close(edw, ev.dw, order_tol<T>(), "eval dw");
    expect_close(edb, ev.db, order_tol<T>(), "eval db");
  }
}

TEST(SimNorm, BatchNormMatchesTheCpu) {
  check_batch_norm<float>(3, 4, 100, true, 20);  // 300 values per channel: > one block
  check_batch_norm<float>(5, 3, 1, true, 21);    // [N, C] (BatchNorm1d)
  check_batch_norm<float>(2, 2, 9, false, 22);
  check_batch_norm<double>(2, 3, 130, true, 23);
  check_batch_norm<float>(2, 2, 5000, true, 24);  // version 2: S ≥ 1024, rows (n, c) split in 2
}

TEST(SimNorm, StatisticsAreBitwiseReproducibleUnderShuffledThreadOrder) {
  const int64_t R = 3, K = 999;
  std::vector<float> x = values_of<float>(random_tensor({R * K}, DType::f32, 30));
  GuardedBuffer<float> dx(x), y(R * K), mean(R), rstd(R);
  cuda::layer_norm_forward(DType::f32, dx.data(), nullptr, nullptr, y.data(), mean.data(), rstd.data(), R, K);
  const std::vector<float> y0 = y.inside(), r0 = rstd.inside();
  with_shuffles([&] {
    cuda::layer_norm_forward(DType::f32, dx.data(), nullptr, nullptr, y.data(), mean.data(), rstd.data(), R, K);
    EXPECT_TRUE(same_values(y.inside(), y0));
    EXPECT_TRUE(same_values(rstd.inside(), r0));
  });
}

TEST(SimNorm, RejectsBadShapesAndDtypes) {
  DeviceArray<float> a(12), b(12), m(4), r(4);
  EXPECT_THROW(cuda::group_norm_forward(DType::f32, a.data(), nullptr, nullptr, b.data(), m.data(), r.data(), 1, 6, 2, 4), Error);
  EXPECT_THROW(cuda::layer_norm_forward(DType::i32, a.data(), nullptr, nullptr, b.data(), m.data(), r.data(), 3, 4), Error);
  EXPECT_THROW(cuda::batch_norm_forward_train(DType::f32, a.data(), nullptr, nullptr, b.data(), m.data(), r.data(), nullptr, nullptr, 1,
                                              4, 1),
               Error);  // one value per channel
}

}  // namespace
