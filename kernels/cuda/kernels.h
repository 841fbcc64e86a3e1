// Host API of the hand-written CUDA kernels (issue 3), on raw device pointers. Plain C++17 with no
// CUDA types, so it is callable from g++-compiled code in the real CUDA build (uad_cuda) and in
// the simulator build (uad_sim). The tensor ops reach it through the table of tensor/backend.h
// (filled by kernels/cuda/backend.cu); kernel tests call it directly.
//
// Conventions: pointers are device pointers (cudaMalloc memory; host memory in the simulator);
// shapes and strides are in elements, at most 5 dimensions after merging contiguous ones;
// `stream` is a cudaStream_t (nullptr = the default stream). Every function checks its launch and
// throws uad::Error naming the op and the shapes; kernels run asynchronously on a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tensor/dtype.h"

namespace uad::cuda {

using Dims = std::vector<int64_t>;

// ---- device memory (thin, checked wrappers of the CUDA runtime; the caching allocator comes later) ----

/// cudaMalloc of `bytes`; throws uad::Error on failure.
void* device_alloc(size_t bytes);
/// cudaFree (nullptr is a no-op).
void device_free(void* p);
/// Host → device, device → host and device → device copies of `bytes` (synchronous).
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
/// cudaDeviceSynchronize, checked (surfaces asynchronous kernel faults on a GPU).
void synchronize();

/// Owning device buffer of `n` elements of T (move-only).
template <class T> class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) : p_(static_cast<T*>(device_alloc(n * sizeof(T)))), n_(n) {}
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { copy_to_device(p_, host.data(), n_ * sizeof(T)); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept { std::swap(p_, o.p_); std::swap(n_, o.n_); return *this; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { device_free(p_); }
  T* data() const { return p_; }
  size_t size() const { return n_; }
  std::vector<T> to_host() const {
    std::vector<T> h(n_);
    copy_to_host(h.data(), p_, n_ * sizeof(T));
    return h;
  }
 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// ---- elementwise (kernels/cuda/elementwise.cu); formulas: kernels/common/functors.h ----

/// Unary ops, each the functor of the same name in kernels/common/functors.h (the CPU's formula).
enum class UnaryOp : uint8_t { neg, abs, sign, exp, log, sqrt, square, tanh, sigmoid, softplus, relu, leaky_relu, elu, clamp, in_range, positive };
/// Binary ops: add, sub, mul, div, maximum (Max), minimum (Min), pow.
enum class BinaryOp : uint8_t { add, sub, mul, div, max, min, pow };
/// Scalar parameters: leaky_relu slope = a; elu alpha = a; clamp/in_range [lo, hi] = [a, b].
struct UnaryParams {
  double a = 0, b = 0;
};

/// out = op(x) for a contiguous `out` of shape `shape`; `x_strides` are x's element strides viewed
/// at `shape` (0 along broadcast dims). dtype f32 or f64. Throws uad::Error for other dtypes,
/// mismatched ranks, or more than 5 dims after merging.
void unary(UnaryOp op, DType dtype, const void* x, const Dims& x_strides, void* out, const Dims& shape,
           UnaryParams params = {}, void* stream = nullptr);
/// out = op(a, b) with NumPy broadcasting already resolved: `shape` is the output shape, `out`
/// contiguous, `a_strides`/`b_strides` the inputs' element strides at `shape` (0 = broadcast).
void binary(BinaryOp op, DType dtype, const void* a, const Dims& a_strides, const void* b, const Dims& b_strides,
            void* out, const Dims& shape, void* stream = nullptr);

// ---- mixed-dtype elementwise (kernels/cuda/elementwise_mixed.cu): the CPU's formulas ----

/// Comparisons of tensor/ops_elementwise.h (eq, ne, lt, le, gt, ge), each (uint8_t)(a OP b).
enum class CompareOp : uint8_t { eq, ne, lt, le, gt, ge };
/// out (u8, contiguous `shape`) = a OP b with broadcast strides as in binary(). Any dtype.
/// Throws uad::Error for mismatched ranks, negative strides, or more than 6 dims after merging.
void compare(CompareOp op, DType dtype, const void* a, const Dims& a_strides, const void* b, const Dims& b_strides, uint8_t* out,
             const Dims& shape, void* stream = nullptr);
/// out = cond ? a : b (torch.where), cond u8, a/b/out of `dtype`, broadcast strides as in binary().
void where(DType dtype, const uint8_t* cond, const Dims& c_strides, const void* a, const Dims& a_strides, const void* b,
           const Dims& b_strides, void* out, const Dims& shape, void* stream = nullptr);
/// out (dtype dst, written at `out_strides`) = (To)x for x of dtype src read at `x_strides`, both
/// over `shape`: a dtype conversion and, with src == dst, the strided copy that makes a view
/// contiguous or writes into a view. `out_strides` must not make two elements alias.
void cast(DType src, const void* x, const Dims& x_strides, DType dst, void* out, const Dims& out_strides, const Dims& shape,
          void* stream = nullptr);
/// out[0..n) = (T)value.
void fill(DType dtype, void* out, int64_t n, double value, void* stream = nullptr);

/// out = op(a, s) — op(s, a) when `scalar_first` — for a scalar s passed by value (cast to
/// `dtype`), a at `a_strides` over `shape` (0 = broadcast), out contiguous: binary() with a
/// one-element operand that needs no device copy. f32 or f64.
void binary_scalar(BinaryOp op, DType dtype, const void* a, const Dims& a_strides, double s, bool scalar_first, void* out,
                   const Dims& shape, void* stream = nullptr);

/// Strides of a contiguous (row-major) tensor of `shape` broadcast to `out_shape` (NumPy rules:
/// `shape` is right-aligned; size-1 dims get stride 0). Throws uad::Error if not broadcastable.
Dims broadcast_strides(const Dims& shape, const Dims& out_shape);

// ---- reductions (kernels/cuda/reduce.cu): deterministic, fixed order ----

/// *out = Σ x[0..n) for contiguous x (out: one device element). The summation order depends only
/// on n (not on the GPU), so results are bitwise reproducible. Accumulates in the input dtype.
void sum_all(DType dtype, const void* x, int64_t n, void* out, void* stream = nullptr);
/// out[o, i] = Σ_k x[o, k, i] for contiguous x of shape [outer, n, inner] and contiguous out of
/// shape [outer, inner] (sum over one dim, or a run of adjacent dims, of a contiguous tensor).
void sum_dim(DType dtype, const void* x, int64_t outer, int64_t n, int64_t inner, void* out, void* stream = nullptr);

// ---- random numbers (kernels/cuda/random.cu): the CPU's Philox stream (tensor/generator.h) ----

/// Fills out[0..n) exactly as uad::rand/randn/bernoulli do on the CPU for a Generator with this
/// `seed` whose offset is `first_block` (= Generator::reserve(n)): value i from word i%4 of Philox
/// block first_block + i/4. dtype f32 or f64; bernoulli's p in [0,1].
void fill_uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, void* stream = nullptr);
void fill_normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t first_block, void* stream = nullptr);
void fill_bernoulli(DType dtype, void* out, int64_t n, double p, uint64_t seed, uint64_t first_block, void* stream = nullptr);

// ---- softmax (kernels/cuda/softmax.cu): the CPU's kernels/cpu/softmax.h on the GPU ----

/// y = softmax(x) (log_softmax when `log`) along D of contiguous x, y viewed as [outer, dim, inner]
/// (PyTorch F.softmax / F.log_softmax; the max along D is subtracted first; an all −inf slice
/// gives NaN). exp is fn::fast_exp (kernels/common/softmax_exp.h), as on the CPU. dtype f32/f64.
/// inner > 1 reproduces the CPU's summation order (equal up to FMA contraction); inner == 1
/// sums in a fixed tree (deterministic, equal to rounding). Throws for other dtypes or negative sizes.
void softmax_forward(DType dtype, const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, bool log, void* stream = nullptr);
/// First-order vjp from the saved output y (all contiguous [outer, dim, inner]):
/// softmax dx = y·(g − Σ_D g·y); log_softmax dx = g − e^y·Σ_D g.
void softmax_backward(DType dtype, const void* g, const void* y, void* dx, int64_t outer, int64_t dim, int64_t inner, bool log,
                      void* stream = nullptr);

// ---- normalisations (kernels/cuda/norm.cu): tensor/ops_norm.h's algebra on contiguous buffers ----
// x̂ = (x − μ)·rstd, rstd = 1/sqrt(σ² + eps) with the biased σ² (Ba et al. 2016, Wu & He 2018,
// Ioffe & Szegedy 2015; PyTorch semantics); y = x̂·w + b; backward dx = rstd·(g·w − mean(g·w) −
// x̂·mean(g·w·x̂)), dw = Σ g·x̂, db = Σ g. Statistics by Welford + Chan merge in the storage dtype
// (f32 or f64), deterministic. Every buffer has the input's dtype; weight/bias (and their
// gradients) may be null (= 1 / 0 / not computed). Throws uad::Error for other dtypes or bad shapes.

/// Layer norm over the last K elements of x: [R, K]; weight, bias: [K]; outputs y: [R, K] and
/// the saved statistics mean, rstd: [R] (required).
void layer_norm_forward(DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean, void* rstd, int64_t R,
                        int64_t K, double eps = 1e-5, void* stream = nullptr);
/// Layer norm backward from layer_norm_forward's mean/rstd: dx: [R, K], dweight, dbias: [K]
/// (each may be null).
void layer_norm_backward(DType dtype, const void* g, const void* x, const void* mean, const void* rstd, const void* weight, int64_t R,
                         int64_t K, void* dx, void* dweight, void* dbias, void* stream = nullptr);
/// Group norm of x: [N, C, S] (S = spatial size) in `groups` consecutive channel groups
/// (instance norm: groups == C); weight, bias: [C]; mean, rstd: [N·groups] (required).
void group_norm_forward(DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean, void* rstd, int64_t N,
                        int64_t C, int64_t S, int64_t groups, double eps = 1e-5, void* stream = nullptr);
/// Group norm backward: dx: [N, C, S], dweight, dbias: [C] (each may be null). Synchronises the
/// stream when dweight/dbias are requested (temporary buffers).
void group_norm_backward(DType dtype, const void* g, const void* x, const void* mean, const void* rstd, const void* weight, int64_t N,
                         int64_t C, int64_t S, int64_t groups, void* dx, void* dweight, void* dbias, void* stream = nullptr);
/// Batch norm, training: statistics per channel over (N, S) of x: [N, C, S]; saves mean, rstd:
/// [C] (required) and, when non-null, updates running_mean/running_var: [C] (input dtype) as
/// r ← (1−momentum)·r + momentum·stat with the unbiased variance (PyTorch). Needs N·S > 1.
void batch_norm_forward_train(DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean, void* rstd,
                              void* running_mean, void* running_var, int64_t N, int64_t C, int64_t S, double momentum = 0.1,
                              double eps = 1e-5, void* stream = nullptr);
/// Batch norm, eval: y = x·scale + shift with scale = w/sqrt(running_var + eps), shift =
/// b − running_mean·scale (the CPU's expression). Writes rstd = 1/sqrt(running_var + eps): [C]
/// when non-null (for batch_norm_backward with training = false).
void batch_norm_forward_eval(DType dtype, const void* x, const void* weight, const void* bias, const void* running_mean,
                             const void* running_var, void* y, void* rstd, int64_t N, int64_t C, int64_t S, double eps = 1e-5,
                             void* stream = nullptr);
/// Batch norm backward. training: mean/rstd are batch_norm_forward_train's, dx has the
/// statistics' terms; eval: mean = running_mean, rstd from batch_norm_forward_eval, dx = g·w·rstd.
/// dweight = Σ g·x̂, dbias = Σ g per channel. Synchronises the stream (temporary buffers).
void batch_norm_backward(DType dtype, const void* g, const void* x, const void* weight, const void* mean, const void* rstd, int64_t N,
                         int64_t C, int64_t S, bool training, void* dx, void* dweight, void* dbias, void* stream = nullptr);

// ---- pooling (kernels/cuda/pool.cu) and nearest upsampling (kernels/cuda/upsample.cu) ----
// Contiguous [P, D, H, W] planes (P = N·C; 2-D is D = 1 with a unit window along D), the layout of
// kernels/cpu/pool.h and upsample.h. Backward passes are gathers (one thread per input cell
// visiting the outputs that read it in ascending order), so no atomics and the CPU's scatter
// order: bitwise equal to the CPU under the simulator. dtype f32/f64.

/// Input extent and window (kernel k, stride s, padding p per D, H, W, in voxels) of a pooling.
struct PoolGeometry {
  int64_t P = 0, D = 1, H = 1, W = 1;
  int64_t k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, p[3] = {0, 0, 0};
  /// Output extent along dim i (0 = D): ⌊(n + 2p − k)/s⌋ + 1 (PyTorch, ceil_mode = False).
  int64_t out(int i) const {
    const int64_t n = i == 0 ? D : i == 1 ? H : W;
    return (n + 2 * p[i] - k[i]) / s[i] + 1;
  }
  int64_t in_numel() const { return P * D * H * W; }
  int64_t out_numel() const { return P * out(0) * out(1) * out(2); }
};

/// Average pooling with count_include_pad (divisor kD·kH·kW): x [P,D,H,W] → y [P,OD,OH,OW].
/// Throws for k < 1, s < 1, p < 0, 2p > k (PyTorch's rule) or an empty output.
void avg_pool_forward(DType dtype, const void* x, void* y, const PoolGeometry& geo, void* stream = nullptr);
/// Its adjoint: dx [P,D,H,W] = Σ over the windows containing each cell of g/(kD·kH·kW).
void avg_pool_backward(DType dtype, const void* g, void* dx, const PoolGeometry& geo, void* stream = nullptr);
/// Max pooling (padding is −∞; NaN propagates): y and argmax [P,OD,OH,OW], argmax = flat index
/// d·H·W + h·W + w within the plane of the window's first maximum (PyTorch's indices).
void max_pool_forward(DType dtype, const void* x, void* y, int32_t* argmax, const PoolGeometry& geo, void* stream = nullptr);
/// Its adjoint: dx[cell] = Σ g[o] over the outputs o whose window contains the cell and whose
/// argmax is the cell (argmax from max_pool_forward with the same geometry).
void max_pool_backward(DType dtype, const void* g, const int32_t* argmax, void* dx, const PoolGeometry& geo, void* stream = nullptr);

/// Nearest upsampling (PyTorch F.interpolate mode='nearest', fn::nearest_source):
/// x [P,D,H,W] → y [P,out[0],out[1],out[2]].
void upsample_nearest_forward(DType dtype, const void* x, void* y, int64_t P, const int64_t in[3], const int64_t out[3],
                              void* stream = nullptr);
/// Its adjoint: g [P,out…] summed into dx [P,in…] (the CPU's accumulation order).
void upsample_nearest_backward(DType dtype, const void* g, void* dx, int64_t P, const int64_t in[3], const int64_t out[3],
                               void* stream = nullptr);

// ---- padding and concatenation (kernels/cuda/shape.cu): bit copies, any dtype ----

/// Constant-zero padding (PyTorch F.pad(mode='constant', value=0)) with possibly negative pads
/// (cropping), rank ≤ 6: out (contiguous, `out_shape`) holds x's cell i at i + lo per dim where
/// that lies inside out, 0 elsewhere. x: any non-negative `x_strides` for `x_shape`. The vjp of a
/// pad is the pad of g with −lo. Throws for mismatched ranks, negative sizes/strides, rank > 6.
void pad_zero(DType dtype, const void* x, const Dims& x_shape, const Dims& x_strides, void* out, const Dims& out_shape, const Dims& lo,
              void* stream = nullptr);
/// Concatenation along one dim of contiguous inputs viewed as [outer, sizes[k], inner] into the
/// contiguous out [outer, Σ sizes, inner] (torch.cat). Throws for mismatched counts or negative sizes.
void concat(DType dtype, const std::vector<const void*>& xs, const Dims& sizes, int64_t outer, int64_t inner, void* out,
            void* stream = nullptr);
/// The adjoint of concat: x [outer, Σ sizes, inner] split into contiguous outs[k] [outer, sizes[k],
/// inner]; a null outs[k] is skipped.
void split(DType dtype, const void* x, const Dims& sizes, int64_t outer, int64_t inner, const std::vector<void*>& outs,
           void* stream = nullptr);

// ---- losses (kernels/cuda/loss.cu): formulas of kernels/common/functors.h and loss_functors.h ----

/// l1: |x − y| (fn::Abs∘fn::Sub); mse: (x − y)² (fn::Square∘fn::Sub); bce_with_logits:
/// fn::BceWithLogits(x = logit, y = target) — the CPU ops' formulas (tensor/ops_loss.h).
enum class LossKind : uint8_t { l1, mse, bce_with_logits };
/// none: `out` holds n elementwise losses; sum / mean (÷ n) / batch_mean (÷ batch, the leading
/// dim: tensor/ops_loss.h Reduction::batch_mean): `out` is one element.
enum class LossReduction : uint8_t { none, sum, mean, batch_mean };
/// Elementwise loss of contiguous x, y (n elements each) and its reduction. Sums accumulate in the
/// input dtype in a fixed order (deterministic; the CPU accumulates f32 in f64). Throws for other
/// dtypes, mean of n == 0, batch_mean with batch < 1.
void loss_forward(LossKind kind, LossReduction reduction, DType dtype, const void* x, const void* y, int64_t n, int64_t batch, void* out,
                  void* stream = nullptr);

// ---- optimiser (kernels/cuda/adam.cu) ----

/// One parameter tensor of a multi-tensor Adam step: contiguous p, g, m, v of n elements.
struct AdamTensor {
  void* p;
  const void* g;
  void* m;
  void* v;
  int64_t n;
};
/// Adam hyper-parameters of one step (train/optim.h AdamOptions) and the step number t ≥ 1.
struct AdamStepParams {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t t;
};
/// A fused multi-tensor Adam step (Kingma & Ba 2015, Algorithm 1; train/optim.cpp's formula,
/// fn::AdamUpdate in kernels/common/optim_functors.h): one launch covers up to 24 tensors (more
/// are processed in further launches). All tensors share `dtype` (f32/f64); n == 0 is skipped.
void adam_step(DType dtype, const std::vector<AdamTensor>& tensors, const AdamStepParams& params, void* stream = nullptr);

// ---- amax / amin (kernels/cuda/reduce_minmax.cu) ----

/// out[o, i] = max (or min when `min`) over k of x[o, k, i], x contiguous [outer, n, inner],
/// out contiguous [outer, inner]; NaN propagates (the CPU's reduce). n ≥ 1. f32/f64.
void amax_dim(DType dtype, const void* x, int64_t outer, int64_t n, int64_t inner, bool min, void* out, void* stream = nullptr);

// ---- convolution / linear / pooling / resampling / padding / concat family (kernels/cuda/spatial.cu) ----
// Contiguous [P, D, H, W] planes as in pool.cu / upsample.cu; dtype f32/f64. Backward passes are
// gathers (no atomics, deterministic).

/// (Bi/tri)linear upsampling, PyTorch F.interpolate(mode='linear'/'bilinear'/'trilinear') with
/// align_corners as given; the coefficients of cpu::linear_coeffs (kernels/cpu/upsample.h):
/// x [P,in…] → y [P,out…]. The 3-D formula is used when in[0] > 1 or out[0] > 1 (as the CPU).
void upsample_linear_forward(DType dtype, const void* x, void* y, int64_t P, const int64_t in[3], const int64_t out[3], bool align_corners,
                             void* stream = nullptr);
/// Its adjoint: dx [P,in…] = Σ over the outputs reading each cell of g·(product of the weights).
void upsample_linear_backward(DType dtype, const void* g, void* dx, int64_t P, const int64_t in[3], const int64_t out[3],
                              bool align_corners, void* stream = nullptr);
/// Replicate padding (PyTorch F.pad(mode='replicate')): y [P, in + lo + hi] (per D, H, W) =
/// x at the clamped index. lo, hi ≥ 0. Throws for negative pads or empty input extents.
void pad_replicate_forward(DType dtype, const void* x, void* y, int64_t P, const int64_t in[3], const int64_t lo[3], const int64_t hi[3],
                           void* stream = nullptr);
/// Its adjoint: dx [P, in…] = Σ of g over the output cells copied from each input cell.
void pad_replicate_backward(DType dtype, const void* g, void* dx, int64_t P, const int64_t in[3], const int64_t lo[3], const int64_t hi[3],
                            void* stream = nullptr);
/// y[p,q] = x[p, idx[p,q]] for x [P, plane], idx/y [P, Q] (cpu::index_gather; an index outside
/// [0, plane) gives 0).
void index_gather(DType dtype, const void* x, const int32_t* idx, void* y, int64_t P, int64_t plane, int64_t Q, void* stream = nullptr);
/// dx [P, plane] = 0, then dx[p, idx[p,q]] += g[p,q] in ascending q (cpu::index_scatter_add's
/// order, deterministic; out-of-range indices are skipped).
void index_scatter_add(DType dtype, const void* g, const int32_t* idx, void* dx, int64_t P, int64_t Q, int64_t plane,
                       void* stream = nullptr);

}  // namespace uad::cuda
