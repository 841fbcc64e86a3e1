// cuBLAS GEMM and cuDNN convolutions (kernels/cuda/dnn.h): the ONE file of the project that calls
// cuBLAS or cuDNN. The dispatch (argument checks, algorithm cache, workspace from the caching
// allocator) is shared by both builds; only the library calls differ:
// - nvcc / -DUAD_CUDA=ON: cublasGemmEx; cuDNN's legacy convolution API (cudnn_cnn.h — deprecated
//   in 9.x but shipped, see ../shared/reference/cuda_brief.md §1), algorithms found by
//   cudnnFind…AlgorithmEx (timed on the call's own buffers, as PyTorch's benchmark mode).
// - g++ / -DUAD_CUDA_SIM: the CPU kernels (kernels/cpu/gemm.h, conv.h) on the simulator's device
//   memory (= host memory); the "algorithm" is 0 and its workspace the im2col column buffer of one
//   sample, requested from the caching allocator like a cuDNN workspace.
#include "kernels/cuda/portable.cuh"  // first: the CUDA runtime or the simulator

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(UAD_CUDA_SIM)
#include "kernels/cpu/gemm.h"
#else
#include <cublas_v2.h>
#include <cudnn.h>
#endif

#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/device_runtime.h"
#include "kernels/cuda/dnn.h"
#include "tensor/dtype.h"
#include "tensor/error.h"

namespace uad::cuda {

namespace {

std::atomic<bool> g_tf32{false};
std::atomic<bool> g_deterministic{false};
std::atomic<size_t> g_ws_limit{size_t(1) << 30};

std::mutex g_mu;  // guards g_cache and g_stats
std::unordered_map<ConvKey, ConvAlgo, ConvKeyHash> g_cache;
DnnStats g_stats;

void* resolve(void* stream) { return stream ? stream : current_stream(); }

const char* dir_name(ConvDir d) {
  switch (d) {
    case ConvDir::forward: return "conv_forward";
    case ConvDir::backward_data: return "conv_backward_data";
    case ConvDir::backward_filter: return "conv_backward_filter";
  }
  return "conv";
}

/// "conv3d x[N,Cin,D,H,W] w[Cout,Cin,kD,kH,kW] y[N,Cout,oD,oH,oW] stride [..] pad [..] dilation [..]".
std::string geom_str(const cpu::ConvGeom& g) {
  const int o = 3 - g.nd;
  auto arr = [&](const int64_t* a) {
    std::vector<int64_t> v(a + o, a + 3);
    return shape_str(v);
  };
  std::vector<int64_t> x{g.N, g.Cin}, w{g.Cout, g.Cin}, y{g.N, g.Cout};
  for (int d = o; d < 3; ++d) {
    x.push_back(g.in[d]);
    w.push_back(g.k[d]);
    y.push_back(g.out[d]);
  }
  return "conv" + std::to_string(g.nd) + "d x" + shape_str(x) + " w" + shape_str(w) + " y" + shape_str(y) + " stride " +
         arr(g.stride) + " pad " + arr(g.pad) + " dilation " + arr(g.dil);
}

void check_geom(ConvDir dir, const cpu::ConvGeom& g) {
  bool ok = (g.nd == 2 || g.nd == 3) && g.N > 0 && g.Cin > 0 && g.Cout > 0;
  for (int d = 0; d < 3 && ok; ++d)
    ok = g.in[d] > 0 && g.k[d] > 0 && g.out[d] > 0 && g.stride[d] > 0 && g.pad[d] >= 0 && g.dil[d] > 0;
  if (!ok) fail(dir_name(dir), ": invalid geometry ", geom_str(g), " (nd must be 2 or 3, sizes positive, pad ≥ 0)");
  const int64_t big = INT_MAX;
  check(g.N * g.Cin * g.in_size() <= big && g.N * g.Cout * g.out_size() <= big && g.Cout * g.Cin * g.k_size() <= big,
        dir_name(dir), ": ", geom_str(g), " has a tensor of more than INT_MAX elements");
}

#if defined(UAD_CUDA_SIM)
std::once_flag g_cpu_note;
/// Says once per process that these ops run on the CPU, and counts the call.
void note_cpu_routing() {
  std::call_once(g_cpu_note, [] { std::fprintf(stderr, "[uad] cuDNN/cuBLAS ops run on the CPU under the simulator\n"); });
  std::lock_guard<std::mutex> lock(g_mu);
  ++g_stats.cpu_routed;
}
#endif

}  // namespace

// ---- flags, key, cache -----------------------------------------------------------------------

void set_allow_tf32(bool on) { g_tf32 = on; }
bool allow_tf32() { return g_tf32; }
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }
void set_conv_workspace_limit(size_t bytes) { g_ws_limit = bytes; }
size_t conv_workspace_limit() { return g_ws_limit; }
bool dnn_runs_on_cpu() {
#if defined(UAD_CUDA_SIM)
  return true;
#else
  return false;
#endif
}

bool ConvKey::operator==(const ConvKey& o) const {
  auto eq3 = [](const int64_t* a, const int64_t* b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; };
  return dir == o.dir && dtype == o.dtype && nd == o.nd && deterministic == o.deterministic && tf32 == o.tf32 &&
         device == o.device && groups == o.groups && N == o.N && Cin == o.Cin && Cout == o.Cout && eq3(in, o.in) &&
         eq3(k, o.k) && eq3(out, o.out) && eq3(stride, o.stride) && eq3(pad, o.pad) && eq3(dil, o.dil);
}

size_t ConvKeyHash::operator()(const ConvKey& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields
  auto mix = [&](uint64_t v) {
    h ^= v;
    h *= 1099511628211ull;
  };
  mix((uint64_t)k.dir | (uint64_t)k.dtype << 8 | (uint64_t)k.nd << 16 | (uint64_t)k.deterministic << 24 | (uint64_t)k.tf32 << 25);
  mix((uint64_t)k.device << 32 | (uint32_t)k.groups);
  for (int64_t v : {k.N, k.Cin, k.Cout}) mix((uint64_t)v);
  for (const int64_t* a : {k.in, k.k, k.out, k.stride, k.pad, k.dil})
    for (int d = 0; d < 3; ++d) mix((uint64_t)a[d]);
  return (size_t)h;
}

ConvKey conv_key(ConvDir dir, const cpu::ConvGeom& g) {
  ConvKey k;
  k.dir = dir;
  k.dtype = (uint8_t)DType::f32;
  k.nd = (uint8_t)g.nd;
  k.deterministic = deterministic();
  k.tf32 = allow_tf32();
  k.device = current_device();
  k.N = g.N;
  k.Cin = g.Cin;
  k.Cout = g.Cout;
  for (int d = 0; d < 3; ++d) {
    k.in[d] = g.in[d];
    k.k[d] = g.k[d];
    k.out[d] = g.out[d];
    k.stride[d] = g.stride[d];
    k.pad[d] = g.pad[d];
    k.dil[d] = g.dil[d];
  }
  return k;
}

bool cached_conv_algo(const ConvKey& key, ConvAlgo* out) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_cache.find(key);
  if (it == g_cache.end()) return false;
  if (out) *out = it->second;
  return true;
}

size_t conv_algo_cache_size() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_cache.size();
}

void clear_conv_algo_cache() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_cache.clear();
}

DnnStats dnn_stats() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_stats;
}

void reset_dnn_stats() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_stats = DnnStats{};
}

namespace {

/// The cached algorithm of `key`, or search() it once and cache it. Two threads missing the same
/// key at once both search; the first result stays.
template <class Search> ConvAlgo choose_algo(const ConvKey& key, Search&& search) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ++g_stats.conv_calls;
    auto it = g_cache.find(key);
    if (it != g_cache.end()) {
      ++g_stats.algo_cache_hits;
      return it->second;
    }
  }
  const ConvAlgo a = search();
  std::lock_guard<std::mutex> lock(g_mu);
  ++g_stats.algo_searches;
  return g_cache.emplace(key, a).first->second;
}

/// A workspace block of `bytes` from the current device's caching allocator, on `stream`.
DeviceBlock workspace(size_t bytes, void* stream) {
  if (bytes == 0) return DeviceBlock();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ++g_stats.workspace_requests;
    g_stats.max_workspace = std::max(g_stats.max_workspace, bytes);
  }
  return DeviceBlock(device_allocator(current_device()), bytes, stream);
}

void check_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  const int64_t a_cols = ta ? M : K, b_cols = tb ? K : N;
  check(M >= 0 && N >= 0 && K >= 0, "cuda::gemm: negative size M=", M, " N=", N, " K=", K);
  check(lda >= std::max<int64_t>(1, a_cols) && ldb >= std::max<int64_t>(1, b_cols) && ldc >= std::max<int64_t>(1, N),
        "cuda::gemm: leading dimensions lda=", lda, " ldb=", ldb, " ldc=", ldc, " too small for M=", M, " N=", N, " K=", K,
        " trans_a=", ta, " trans_b=", tb);
  check(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
        "cuda::gemm: M=", M, " N=", N, " K=", K, " or a leading dimension exceeds INT_MAX (cuBLAS int arguments)");
}

}  // namespace

#if defined(UAD_CUDA_SIM)
// =============================== simulator: the CPU kernels ===================================

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc, void* stream) {
  check_gemm(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ++g_stats.gemm_calls;
  }
  note_cpu_routing();
  cpu::gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

namespace {
/// The simulated search: algorithm 0 with the workspace of the CPU's im2col path (one sample's
/// column buffer, Cin·k·out floats; none for a pointwise convolution, which is a plain GEMM).
ConvAlgo sim_algo(const cpu::ConvGeom& g) {
  ConvAlgo a;
  a.workspace = g.pointwise() ? 0 : size_t(g.Cin * g.k_size() * g.out_size()) * sizeof(float);
  return a;
}
}  // namespace

void check_conv_descriptors(const cpu::ConvGeom& g) { check_geom(ConvDir::forward, g); }

void conv_forward(const cpu::ConvGeom& g, const float* x, const float* w, const float* bias, float* y, void* stream) {
  check_geom(ConvDir::forward, g);
  stream = resolve(stream);
  const ConvAlgo a = choose_algo(conv_key(ConvDir::forward, g), [&] { return sim_algo(g); });
  DeviceBlock ws = workspace(a.workspace, stream);
  note_cpu_routing();
  cpu::conv_forward(g, x, w, bias, y);
}

void conv_backward_data(const cpu::ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx, void* stream) {
  check_geom(ConvDir::backward_data, g);
  stream = resolve(stream);
  const ConvAlgo a = choose_algo(conv_key(ConvDir::backward_data, g), [&] { return sim_algo(g); });
  DeviceBlock ws = workspace(a.workspace, stream);
  note_cpu_routing();
  cpu::conv_backward_input(g, gy, w, bias, gx);
}

void conv_backward_filter(const cpu::ConvGeom& g, const float* x, const float* gy, float* gw, void* stream) {
  check_geom(ConvDir::backward_filter, g);
  stream = resolve(stream);
  const ConvAlgo a = choose_algo(conv_key(ConvDir::backward_filter, g), [&] { return sim_algo(g); });
  DeviceBlock ws = workspace(a.workspace, stream);
  note_cpu_routing();
  cpu::conv_backward_weight(g, x, gy, gw);
}

#else
// =============================== CUDA: cuBLAS and cuDNN =======================================

namespace {

#define UAD_CUBLAS_CHECK(expr)                                                                              \
  do {                                                                                                      \
    const cublasStatus_t st_ = (expr);                                                                      \
    if (st_ != CUBLAS_STATUS_SUCCESS) ::uad::fail(#expr, " failed: ", cublasGetStatusString(st_), " (", (int)st_, ")"); \
  } while (0)

[[noreturn]] void cudnn_failed(cudnnStatus_t st, const char* expr, const std::string& context) {
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  fail(context, context.empty() ? "" : ": ", expr, " failed: ", cudnnGetErrorString(st), " (", (int)st, ")",
       detail[0] ? std::string(": ") + detail : std::string());
}
#define UAD_CUDNN_CHECK(expr, context)                           \
  do {                                                           \
    const cudnnStatus_t st_ = (expr);                            \
    if (st_ != CUDNN_STATUS_SUCCESS) cudnn_failed(st_, #expr, context); \
  } while (0)

/// The calling thread's library handles, one per device, created on first use; destroyed when the
/// thread exits (the main thread's before the CUDA runtime's own exit handlers run).
struct Handles {
  std::unordered_map<int, cublasHandle_t> blas;
  std::unordered_map<int, cudnnHandle_t> dnn;
  ~Handles() {
    for (auto& kv : blas) (void)cublasDestroy(kv.second);
    for (auto& kv : dnn) (void)cudnnDestroy(kv.second);
  }
};
thread_local Handles t_handles;

cublasHandle_t cublas_handle(void* stream) {
  cublasHandle_t& h = t_handles.blas[current_device()];
  if (!h) UAD_CUBLAS_CHECK(cublasCreate(&h));
  UAD_CUBLAS_CHECK(cublasSetStream(h, static_cast<cudaStream_t>(stream)));
  return h;
}

cudnnHandle_t cudnn_handle(void* stream) {
  cudnnHandle_t& h = t_handles.dnn[current_device()];
  if (!h) UAD_CUDNN_CHECK(cudnnCreate(&h), "cuDNN handle");
  UAD_CUDNN_CHECK(cudnnSetStream(h, static_cast<cudaStream_t>(stream)), "cuDNN handle");
  return h;
}

/// The descriptors of one convolution: x [N,Cin,*in], w [Cout,Cin,*k], y [N,Cout,*out], contiguous
/// f32; convolution with the geometry's padding/stride/dilation, cross-correlation, f32 compute,
/// FMA math (CUDNN_DEFAULT_MATH, which admits TF32 on Ampere+, only when allow_tf32()).
struct ConvDescs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias_x = nullptr, bias_y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  std::string ctx;
  int nb = 4;

  static void set_tensor(cudnnTensorDescriptor_t d, int nb, const int* dims, const std::string& ctx) {
    int strides[5];
    strides[nb - 1] = 1;
    for (int i = nb - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
    UAD_CUDNN_CHECK(cudnnSetTensorNdDescriptor(d, CUDNN_DATA_FLOAT, nb, dims, strides), ctx);
  }

  ConvDescs(ConvDir dir, const cpu::ConvGeom& g, bool tf32) : ctx(std::string(dir_name(dir)) + " " + geom_str(g)) {
    nb = g.nd + 2;
    const int o = 3 - g.nd;
    int xd[5] = {(int)g.N, (int)g.Cin}, wd[5] = {(int)g.Cout, (int)g.Cin}, yd[5] = {(int)g.N, (int)g.Cout};
    int bx[5] = {1, (int)g.Cin}, by[5] = {1, (int)g.Cout};
    int pad[3], stride[3], dil[3];
    for (int d = o; d < 3; ++d) {
      xd[2 + d - o] = (int)g.in[d];
      wd[2 + d - o] = (int)g.k[d];
      yd[2 + d - o] = (int)g.out[d];
      bx[2 + d - o] = by[2 + d - o] = 1;
      pad[d - o] = (int)g.pad[d];
      stride[d - o] = (int)g.stride[d];
      dil[d - o] = (int)g.dil[d];
    }
    UAD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x), ctx);
    UAD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y), ctx);
    UAD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias_x), ctx);
    UAD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias_y), ctx);
    UAD_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), ctx);
    UAD_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), ctx);
    set_tensor(x, nb, xd, ctx);
    set_tensor(y, nb, yd, ctx);
    set_tensor(bias_x, nb, bx, ctx);
    set_tensor(bias_y, nb, by, ctx);
    UAD_CUDNN_CHECK(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, nb, wd), ctx);
    UAD_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(conv, g.nd, pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), ctx);
    UAD_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH), ctx);
    // The caller's `out` must be cuDNN's output size (the geometry's formula is PyTorch's).
    int od[5] = {0};
    UAD_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(conv, x, w, nb, od), ctx);
    for (int i = 0; i < nb; ++i)
      check(od[i] == yd[i], ctx, ": y disagrees with cuDNN's output size (dim ", i, ": ", yd[i], " vs ", od[i], ")");
  }
  ~ConvDescs() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (w) cudnnDestroyFilterDescriptor(w);
    for (auto d : {x, y, bias_x, bias_y})
      if (d) cudnnDestroyTensorDescriptor(d);
  }
  ConvDescs(const ConvDescs&) = delete;
  ConvDescs& operator=(const ConvDescs&) = delete;
};

/// Search shared by the three directions: the workspace for the search is the largest any
/// algorithm needs within the limit; cudnnFind…Ex times them on the call's buffers (it writes the
/// output, which the call overwrites anyway); the first successful result (fastest first) that
/// fits and, when required, is deterministic wins.
template <class Perf, class WsSize, class Find>
ConvAlgo search_algo(const ConvDescs& D, int algo_count, bool det, void* stream, WsSize&& ws_size, Find&& find) {
  const size_t limit = conv_workspace_limit();
  size_t ws_max = 0;
  for (int a = 0; a < algo_count; ++a) {
    size_t s = 0;
    if (ws_size(a, &s) == CUDNN_STATUS_SUCCESS && s <= limit) ws_max = std::max(ws_max, s);
  }
  DeviceBlock ws;
  try {
    ws = workspace(ws_max, stream);
  } catch (const Error&) {  // out of memory even after releasing the cache: search the algorithms needing none
    ws_max = 0;
  }
  std::vector<Perf> perf(algo_count);
  int returned = 0;
  UAD_CUDNN_CHECK(find(algo_count, &returned, perf.data(), ws.get(), ws_max), D.ctx);
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > ws_max) continue;
    if (det && p.determinism != CUDNN_DETERMINISTIC) continue;
    ConvAlgo c;
    c.algo = (int)p.algo;
    c.math_type = (int)p.mathType;
    c.workspace = p.memory;
    return c;
  }
  fail(D.ctx, ": cuDNN found no ", det ? "deterministic " : "", "algorithm within the workspace limit of ", limit, " bytes");
}

/// Sets the math type of the chosen algorithm (FMA stays FMA when TF32 is off).
void apply_math(const ConvDescs& D, const ConvAlgo& a, bool tf32) {
  if (tf32) UAD_CUDNN_CHECK(cudnnSetConvolutionMathType(D.conv, (cudnnMathType_t)a.math_type), D.ctx);
}

}  // namespace

void check_conv_descriptors(const cpu::ConvGeom& g) {
  check_geom(ConvDir::forward, g);
  ConvDescs D(ConvDir::forward, g, allow_tf32());
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc, void* stream) {
  check_gemm(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ++g_stats.gemm_calls;
  }
  if (M == 0 || N == 0) return;
  NvtxRange r("cuda::gemm");
  cublasHandle_t h = cublas_handle(resolve(stream));
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ (cuda_brief.md §4, "row-major trick").
  const cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  UAD_CUBLAS_CHECK(cublasGemmEx(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N, (int)M,
                                (int)K, &alpha, B, CUDA_R_32F, (int)ldb, A, CUDA_R_32F, (int)lda, &beta, C, CUDA_R_32F, (int)ldc,
                                compute, CUBLAS_GEMM_DEFAULT));
}

void conv_forward(const cpu::ConvGeom& g, const float* x, const float* w, const float* bias, float* y, void* stream) {
  check_geom(ConvDir::forward, g);
  stream = resolve(stream);
  NvtxRange r("cuda::conv_forward");
  const bool tf32 = allow_tf32(), det = deterministic();
  ConvDescs D(ConvDir::forward, g, tf32);
  cudnnHandle_t h = cudnn_handle(stream);
  const ConvAlgo a = choose_algo(conv_key(ConvDir::forward, g), [&] {
    return search_algo<cudnnConvolutionFwdAlgoPerf_t>(
        D, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, det, stream,
        [&](int al, size_t* s) { return cudnnGetConvolutionForwardWorkspaceSize(h, D.x, D.w, D.conv, D.y, (cudnnConvolutionFwdAlgo_t)al, s); },
        [&](int n, int* ret, cudnnConvolutionFwdAlgoPerf_t* p, void* ws, size_t wsb) {
          return cudnnFindConvolutionForwardAlgorithmEx(h, D.x, x, D.w, w, D.conv, D.y, y, n, ret, p, ws, wsb);
        });
  });
  apply_math(D, a, tf32);
  DeviceBlock ws = workspace(a.workspace, stream);
  const float one = 1.f, zero = 0.f;
  UAD_CUDNN_CHECK(cudnnConvolutionForward(h, &one, D.x, x, D.w, w, D.conv, (cudnnConvolutionFwdAlgo_t)a.algo, ws.get(), a.workspace,
                                          &zero, D.y, y),
                  D.ctx);
  if (bias) UAD_CUDNN_CHECK(cudnnAddTensor(h, &one, D.bias_y, bias, &one, D.y, y), D.ctx);
}

void conv_backward_data(const cpu::ConvGeom& g, const float* gy, const float* w, const float* bias, float* gx, void* stream) {
  check_geom(ConvDir::backward_data, g);
  stream = resolve(stream);
  NvtxRange r("cuda::conv_backward_data");
  const bool tf32 = allow_tf32(), det = deterministic();
  ConvDescs D(ConvDir::backward_data, g, tf32);
  cudnnHandle_t h = cudnn_handle(stream);
  const ConvAlgo a = choose_algo(conv_key(ConvDir::backward_data, g), [&] {
    return search_algo<cudnnConvolutionBwdDataAlgoPerf_t>(
        D, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, det, stream,
        [&](int al, size_t* s) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(h, D.w, D.y, D.conv, D.x, (cudnnConvolutionBwdDataAlgo_t)al, s);
        },
        [&](int n, int* ret, cudnnConvolutionBwdDataAlgoPerf_t* p, void* ws, size_t wsb) {
          return cudnnFindConvolutionBackwardDataAlgorithmEx(h, D.w, w, D.y, gy, D.conv, D.x, gx, n, ret, p, ws, wsb);
        });
  });
  apply_math(D, a, tf32);
  DeviceBlock ws = workspace(a.workspace, stream);
  const float one = 1.f, zero = 0.f;
  UAD_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, D.w, w, D.y, gy, D.conv, (cudnnConvolutionBwdDataAlgo_t)a.algo, ws.get(),
                                               a.workspace, &zero, D.x, gx),
                  D.ctx);
  if (bias) UAD_CUDNN_CHECK(cudnnAddTensor(h, &one, D.bias_x, bias, &one, D.x, gx), D.ctx);
}

void conv_backward_filter(const cpu::ConvGeom& g, const float* x, const float* gy, float* gw, void* stream) {
  check_geom(ConvDir::backward_filter, g);
  stream = resolve(stream);
  NvtxRange r("cuda::conv_backward_filter");
  const bool tf32 = allow_tf32(), det = deterministic();
  ConvDescs D(ConvDir::backward_filter, g, tf32);
  cudnnHandle_t h = cudnn_handle(stream);
  const ConvAlgo a = choose_algo(conv_key(ConvDir::backward_filter, g), [&] {
    return search_algo<cudnnConvolutionBwdFilterAlgoPerf_t>(
        D, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, det, stream,
        [&](int al, size_t* s) {
          return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, D.x, D.y, D.conv, D.w, (cudnnConvolutionBwdFilterAlgo_t)al, s);
        },
        [&](int n, int* ret, cudnnConvolutionBwdFilterAlgoPerf_t* p, void* ws, size_t wsb) {
          return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, D.x, x, D.y, gy, D.conv, D.w, gw, n, ret, p, ws, wsb);
        });
  });
  apply_math(D, a, tf32);
  DeviceBlock ws = workspace(a.workspace, stream);
  const float one = 1.f, zero = 0.f;
  UAD_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, D.x, x, D.y, gy, D.conv, (cudnnConvolutionBwdFilterAlgo_t)a.algo, ws.get(),
                                                 a.workspace, &zero, D.w, gw),
                  D.ctx);
}

#endif

}  // namespace uad::cuda
