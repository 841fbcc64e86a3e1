// The backend test suite, spatial family (issue 3): convolutions (2-D, 3-D, transposed, the raw
// backward ops), matmul / linear, average and max pooling (and their backward / gather ops),
// nearest and linear upsampling, zero and replicate padding, cat / stack / split — each on the
// CUDA backend (simulated here; a real GPU when present) against the CPU from the same inputs,
// with guard bytes, NaN/Inf checks, normalised MSE and gradients (tests/backend_ops.h), plus one
// second-order case: the WGAN-GP gradient penalty through a conv3d + leaky_relu critic.
#include "tests/backend_ops.h"

#include <string>

#include "tensor/ops.h"

using namespace uad;
using namespace uad::backendtest;

namespace {

using In = std::vector<Tensor>;
constexpr double kConvTol = 1e-10;  // f32 convolutions/GEMMs: cuDNN/cuBLAS sum in another order

std::string suffix(DType dt) { return dt == DType::f32 ? " f32" : " f64"; }

// ---- convolutions ----------------------------------------------------------------------------

TEST_F(BackendOps, Conv2d) {
  run_case({"conv2d 3x3 pad 1 + bias", {{2, 3, 9, 11}, {4, 3, 3, 3}, {4}},
            [](const In& x) { return conv2d(x[0], x[1], x[2], {1}, {1}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv2d stride 2 dilation 2, odd sizes", {{2, 3, 13, 10}, {5, 3, 3, 2}},
            [](const In& x) { return conv2d(x[0], x[1], Tensor(), {2}, {0}, {2}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv2d stride (2,1) pad (0,2) + bias", {{1, 4, 8, 7}, {3, 4, 4, 3}, {3}},
            [](const In& x) { return conv2d(x[0], x[1], x[2], {2, 1}, {0, 2}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv2d 1x1 (pointwise)", {{2, 6, 5, 5}, {3, 6, 1, 1}},
            [](const In& x) { return conv2d(x[0], x[1]); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv2d of a permuted (non-contiguous) input", {{2, 9, 3, 8}, {4, 3, 3, 3}},
            [](const In& x) { return conv2d(x[0].permute({0, 2, 1, 3}), x[1], Tensor(), {1}, {1}); }, DType::f32, -1, 1, kConvTol});
}

TEST_F(BackendOps, Conv3d) {
  run_case({"conv3d 3x3x3 stride 2 pad 1 + bias", {{2, 2, 7, 8, 9}, {3, 2, 3, 3, 3}, {3}},
            [](const In& x) { return conv3d(x[0], x[1], x[2], {2}, {1}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv3d anisotropic stride/pad/dilation", {{1, 3, 9, 7, 8}, {2, 3, 2, 3, 2}},
            [](const In& x) { return conv3d(x[0], x[1], Tensor(), {1, 2, 1}, {0, 1, 1}, {2, 1, 1}); }, DType::f32, -1, 1,
            kConvTol});
  run_case({"conv3d 4x4x4 stride 2 pad 1 (DCGAN critic block)", {{2, 4, 8, 8, 8}, {6, 4, 4, 4, 4}, {6}},
            [](const In& x) { return conv3d(x[0], x[1], x[2], {2}, {1}); }, DType::f32, -1, 1, kConvTol});
}

TEST_F(BackendOps, ConvTransposed) {
  run_case({"conv_transpose2d stride 2 pad 1 output_padding 1 + bias", {{2, 4, 5, 6}, {4, 3, 3, 3}, {3}},
            [](const In& x) { return conv_transpose2d(x[0], x[1], x[2], {2}, {1}, {1}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv_transpose2d 4x4 stride 2 pad 1", {{1, 3, 6, 7}, {3, 2, 4, 4}},
            [](const In& x) { return conv_transpose2d(x[0], x[1], Tensor(), {2}, {1}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv_transpose3d 4x4x4 stride 2 pad 1 + bias", {{1, 3, 4, 5, 3}, {3, 2, 4, 4, 4}, {2}},
            [](const In& x) { return conv_transpose3d(x[0], x[1], x[2], {2}, {1}); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv_transpose3d stride (2,2,3) output_padding (1,0,2) dilation 2", {{2, 2, 3, 4, 3}, {2, 3, 3, 2, 3}},
            [](const In& x) { return conv_transpose3d(x[0], x[1], Tensor(), {2, 2, 3}, {1, 0, 1}, {1, 0, 2}, {2}); },
            DType::f32, -1, 1, kConvTol});
}

TEST_F(BackendOps, ConvRawBackwardOps) {
  const ConvParams p2{{2}, {1}, {1}};
  run_case({"conv_backward_input 2-D (stride 2: uncovered cells)", {{2, 4, 5, 5}, {4, 3, 3, 3}},
            [p2](const In& x) { return conv_backward_input(x[0], x[1], {2, 3, 10, 10}, p2); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv_backward_weight 2-D", {{2, 3, 10, 10}, {2, 4, 5, 5}},
            [p2](const In& x) { return conv_backward_weight(x[0], x[1], {4, 3, 3, 3}, p2); }, DType::f32, -1, 1, kConvTol});
  const ConvParams p3{{1, 2, 2}, {1}, {1, 1, 2}};
  run_case({"conv_backward_weight 3-D", {{1, 2, 6, 7, 9}, {1, 3, 6, 4, 4}},
            [p3](const In& x) { return conv_backward_weight(x[0], x[1], {3, 2, 3, 3, 3}, p3); }, DType::f32, -1, 1, kConvTol});
  run_case({"conv generic 3-D", {{1, 2, 6, 7, 9}, {3, 2, 3, 3, 3}},
            [p3](const In& x) { return conv(x[0], x[1], p3); }, DType::f32, -1, 1, kConvTol});
}

TEST_F(BackendOps, ConvErrors) {
  Tensor x = zeros({1, 2, 5, 5}, DType::f64, Device::cuda), w = zeros({3, 2, 3, 3}, DType::f64, Device::cuda);
  try {
    conv2d(x, w);
    ADD_FAILURE() << "no error for an f64 device convolution";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("conv2d"), std::string::npos) << m;
    EXPECT_NE(m.find("f32 only"), std::string::npos) << m;
  }
  try {
    conv2d(zeros({1, 2, 5, 5}, DType::f32, Device::cuda), zeros({3, 2, 3, 3}));
    ADD_FAILURE() << "no error for a device mix";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device mix"), std::string::npos) << e.what();
  }
}

// ---- matmul / linear -------------------------------------------------------------------------

TEST_F(BackendOps, MatmulAndLinear) {
  const double t = kConvTol;
  run_case({"matmul 2-D", {{7, 5}, {5, 9}}, [](const In& x) { return matmul(x[0], x[1]); }, DType::f32, -1, 1, t});
  run_case({"matmul of transposed views", {{5, 7}, {9, 5}},
            [](const In& x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); }, DType::f32, -1, 1, t});
  run_case({"matmul batched 3-D × 3-D", {{3, 4, 5}, {3, 5, 6}}, [](const In& x) { return matmul(x[0], x[1]); }, DType::f32, -1, 1, t});
  run_case({"matmul 3-D × 2-D (folded)", {{3, 4, 5}, {5, 6}}, [](const In& x) { return matmul(x[0], x[1]); }, DType::f32, -1, 1, t});
  run_case({"matmul 2-D × 3-D (broadcast a)", {{4, 5}, {3, 5, 6}}, [](const In& x) { return matmul(x[0], x[1]); }, DType::f32, -1, 1, t});
  run_case({"matmul of a row slice (leading dimension)", {{9, 8}, {6, 4}},
            [](const In& x) { return matmul(x[0].slice(1, 1, 7), x[1]); }, DType::f32, -1, 1, t});
  run_case({"matmul with an expanded operand (copied)", {{1, 5}, {5, 3}},
            [](const In& x) { return matmul(x[0].expand({4, 5}), x[1]); }, DType::f32, -1, 1, t});
  run_case({"linear + bias", {{6, 10}, {7, 10}, {7}}, [](const In& x) { return linear(x[0], x[1], x[2]); }, DType::f32, -1, 1, t});
  run_case({"linear 3-D input", {{2, 3, 10}, {4, 10}}, [](const In& x) { return linear(x[0], x[1]); }, DType::f32, -1, 1, t});
  try {
    matmul(zeros({2, 3}, DType::f64, Device::cuda), zeros({3, 2}, DType::f64, Device::cuda));
    ADD_FAILURE() << "no error for an f64 device matmul";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32 only"), std::string::npos) << e.what();
  }
}

// ---- pooling ---------------------------------------------------------------------------------

TEST_F(BackendOps, AvgPool) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    run_case({"avg_pool2d 2" + s, {{2, 3, 9, 10}}, [](const In& x) { return avg_pool2d(x[0], {2}); }, dt});
    run_case({"avg_pool2d 3 stride 2 pad 1" + s, {{2, 3, 9, 10}}, [](const In& x) { return avg_pool2d(x[0], {3}, {2}, {1}); }, dt});
    run_case({"avg_pool3d 2" + s, {{2, 2, 8, 7, 9}}, [](const In& x) { return avg_pool3d(x[0], {2}); }, dt});
    run_case({"avg_pool3d 3 stride (1,2,2) pad 1" + s, {{1, 2, 5, 7, 9}},
              [](const In& x) { return avg_pool3d(x[0], {3}, {1, 2, 2}, {1}); }, dt});
    run_case({"avg_pool_backward 2-D" + s, {{2, 3, 5, 5}},
              [](const In& x) { return avg_pool_backward(x[0], {2, 3, 9, 10}, {3}, {2}, {1}); }, dt});
  }
}

TEST_F(BackendOps, MaxPool) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    run_case({"max_pool2d 2" + s, {{2, 3, 9, 10}}, [](const In& x) { return max_pool2d(x[0], {2}); }, dt});
    run_case({"max_pool2d 3 stride 2 pad 1 (overlapping)" + s, {{2, 3, 9, 10}},
              [](const In& x) { return max_pool2d(x[0], {3}, {2}, {1}); }, dt});
    run_case({"max_pool3d 2" + s, {{2, 2, 8, 7, 9}}, [](const In& x) { return max_pool3d(x[0], {2}); }, dt});
    run_case({"max_pool3d 3 stride (2,1,2) pad 1" + s, {{1, 2, 7, 6, 9}},
              [](const In& x) { return max_pool3d(x[0], {3}, {2, 1, 2}, {1}); }, dt});
  }
  run_case({"max_pool2d_with_indices: indices", {{2, 3, 9, 10}},
            [](const In& x) { return max_pool2d_with_indices(x[0], {3}, {2}, {1}).second; }, DType::f32, -1, 1, 0.0, false});
  run_case({"max_pool3d_with_indices: indices", {{1, 2, 7, 6, 9}},
            [](const In& x) { return max_pool3d_with_indices(x[0], {2}, {2}, {1}).second; }, DType::f32, -1, 1, 0.0, false});
  run_case({"max_pool2d with ties and NaN", {{2, 2, 6, 6}}, [](const In& x) {
              Tensor q = clamp(x[0], -0.5, 0.5);  // ties within windows
              Tensor nan_mask = gt(x[0].detach(), full({}, 0.9));
              return max_pool2d(where(nan_mask, full({}, NAN, DType::f32, x[0].device()), q), {2});
            }, DType::f32, -1, 1, -1, false});
}

TEST_F(BackendOps, MaxPoolBackwardAndGather) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    run_case({"max_pool_backward 2-D (explicit, overlapping windows)" + s, {{2, 3, 5, 5}, {2, 3, 9, 10}}, [](const In& x) {
                Tensor idx = max_pool2d_with_indices(x[1].detach(), {3}, {2}, {1}).second;
                return max_pool_backward(x[0], idx, x[1].shape());
              }, dt});
    run_case({"max_pool_backward 3-D (explicit, several scatter chunks per plane)" + s, {{1, 2, 4, 3, 5}, {1, 2, 8, 7, 10}},
              [](const In& x) {
                Tensor idx = max_pool3d_with_indices(x[1].detach(), {2}).second;
                return max_pool_backward(x[0], idx, x[1].shape());
              }, dt});
    run_case({"max_pool_gather 3-D" + s, {{1, 2, 7, 6, 9}}, [](const In& x) {
                Tensor idx = max_pool3d_with_indices(x[0].detach(), {2}).second;
                return max_pool_gather(x[0], idx);
              }, dt});
  }
  // Second order through max pooling: the vjp's vjp is max_pool_gather.
  run_case({"grad of grad through max_pool2d", {{2, 2, 6, 6}}, [](const In& x) {
              Tensor y = sum(square(max_pool2d(x[0], {2})));
              Tensor g = grad({y}, {x[0]}, {}, /*create_graph=*/true)[0];
              return sum(square(g), {1});
            }});
}

// ---- upsampling ------------------------------------------------------------------------------

TEST_F(BackendOps, UpsampleNearest) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    run_case({"upsample_nearest 2-D ×2" + s, {{2, 3, 5, 6}}, [](const In& x) { return upsample_nearest(x[0], {10, 12}); }, dt});
    run_case({"upsample_nearest 2-D fractional" + s, {{2, 3, 5, 6}}, [](const In& x) { return upsample_nearest(x[0], {7, 9}); }, dt});
    run_case({"upsample_nearest 3-D ×2" + s, {{1, 2, 3, 4, 5}}, [](const In& x) { return upsample_nearest(x[0], {6, 8, 10}); }, dt});
    run_case({"upsample_nearest 3-D mixed (down along W)" + s, {{1, 2, 3, 4, 5}},
              [](const In& x) { return upsample_nearest(x[0], {4, 5, 3}); }, dt});
    run_case({"upsample_nearest_backward 2-D" + s, {{2, 3, 7, 9}},
              [](const In& x) { return upsample_nearest_backward(x[0], {2, 3, 5, 6}); }, dt});
  }
}

TEST_F(BackendOps, UpsampleLinear) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    for (bool ac : {false, true}) {
      const std::string a = ac ? " align_corners" + s : s;
      run_case({"upsample_linear 1-D" + a, {{2, 3, 7}}, [ac](const In& x) { return upsample_linear(x[0], {13}, ac); }, dt});
      run_case({"upsample_linear 2-D ×2" + a, {{2, 3, 5, 6}}, [ac](const In& x) { return upsample_linear(x[0], {10, 12}, ac); }, dt});
      run_case({"upsample_linear 2-D down/fractional" + a, {{2, 3, 7, 9}},
                [ac](const In& x) { return upsample_linear(x[0], {3, 13}, ac); }, dt});
      run_case({"upsample_linear 3-D ×2" + a, {{1, 2, 3, 4, 5}},
                [ac](const In& x) { return upsample_linear(x[0], {6, 8, 10}, ac); }, dt});
      run_case({"upsample_linear 3-D mixed" + a, {{2, 1, 4, 3, 6}},
                [ac](const In& x) { return upsample_linear(x[0], {7, 3, 4}, ac); }, dt});
      run_case({"upsample_linear_backward 2-D" + a, {{2, 3, 11, 9}},
                [ac](const In& x) { return upsample_linear_backward(x[0], {2, 3, 5, 6}, ac); }, dt});
      run_case({"upsample_linear to size 1" + a, {{1, 2, 4, 5}}, [ac](const In& x) { return upsample_linear(x[0], {1, 3}, ac); }, dt});
    }
  }
}

// ---- padding, cat, stack, split --------------------------------------------------------------

TEST_F(BackendOps, Pad) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    run_case({"pad zero 2-D" + s, {{2, 3, 5, 6}}, [](const In& x) { return pad(x[0], {1, 2, 0, 3}); }, dt});
    run_case({"pad zero with crops" + s, {{2, 3, 5, 6}}, [](const In& x) { return pad(x[0], {-1, 2, 1, -2}); }, dt});
    run_case({"pad zero 3-D of a permuted view" + s, {{2, 5, 3, 4, 6}},
              [](const In& x) { return pad(x[0].permute({0, 2, 1, 3, 4}), {1, 1, 2, 0, 0, 3}); }, dt});
    run_case({"pad replicate 1-D" + s, {{3, 8}}, [](const In& x) { return pad(x[0], {2, 3}, PadMode::replicate); }, dt});
    run_case({"pad replicate 2-D" + s, {{2, 3, 5, 6}}, [](const In& x) { return pad(x[0], {2, 1, 1, 3}, PadMode::replicate); }, dt});
    run_case({"pad replicate 3-D" + s, {{1, 2, 4, 5, 3}},
              [](const In& x) { return pad(x[0], {1, 1, 2, 0, 1, 2}, PadMode::replicate); }, dt});
    run_case({"pad replicate of a size-1 dim" + s, {{2, 1, 4}}, [](const In& x) { return pad(x[0], {1, 0, 2, 3}, PadMode::replicate); }, dt});
    run_case({"pad_replicate_backward 2-D" + s, {{2, 3, 9, 10}},
              [](const In& x) { return pad_replicate_backward(x[0], {2, 3, 5, 6}, {2, 2, 1, 3}); }, dt});
  }
  run_case({"pad zero of an i32 tensor", {{3, 4}}, [](const In& x) { return pad(cast(x[0] * 10.0, DType::i32), {1, 1}); },
            DType::f32, -1, 1, 0.0, false});
}

TEST_F(BackendOps, CatStackSplit) {
  for (DType dt : {DType::f32, DType::f64}) {
    const std::string s = suffix(dt);
    run_case({"cat dim 1 (U-Net skip)" + s, {{2, 3, 4, 5}, {2, 2, 4, 5}, {2, 1, 4, 5}},
              [](const In& x) { return cat({x[0], x[1], x[2]}, 1); }, dt});
    run_case({"cat dim 0" + s, {{2, 3, 4}, {5, 3, 4}}, [](const In& x) { return cat({x[0], x[1]}, 0); }, dt});
    run_case({"cat dim -1 with a transposed view" + s, {{4, 3}, {2, 4}},
              [](const In& x) { return cat({x[0], x[1].transpose(0, 1)}, -1); }, dt});
    run_case({"stack dim 0" + s, {{3, 4}, {3, 4}, {3, 4}}, [](const In& x) { return stack({x[0], x[1], x[2]}, 0); }, dt});
    run_case({"stack dim 2" + s, {{3, 4}, {3, 4}}, [](const In& x) { return stack({x[0], x[1]}, 2); }, dt});
    run_case({"split dim 1" + s, {{2, 6, 3}}, [](const In& x) {
                std::vector<Tensor> p = split(x[0], {2, 3, 1}, 1);
                return cat({p[2] * 3.0, p[0], p[1] * -1.0}, 1);
              }, dt});
  }
  run_case({"cat of i32 tensors", {{3, 4}, {2, 4}},
            [](const In& x) { return cat({cast(x[0] * 10.0, DType::i32), cast(x[1] * 10.0, DType::i32)}, 0); }, DType::f32, -1, 1, 0.0,
            false});
  run_case({"cat with an empty input", {{2, 3}, {2, 0}}, [](const In& x) { return cat({x[0], x[1]}, 1); }});
}

// ---- second order: the WGAN-GP critic's gradient penalty -----------------------------------

TEST_F(BackendOps, GradientPenaltyThroughConv3dLeakyRelu) {
  // ‖∂critic(x)/∂x‖² per sample for a two-layer conv3d + leaky_relu critic, then its gradient
  // with respect to x and every parameter: grad with create_graph, then backward (WGAN-GP,
  // Gulrajani et al. 2017) — conv_backward_input/weight differentiated on the device.
  run_case({"gradient penalty: conv3d + leaky_relu", {{2, 1, 8, 8, 8}, {4, 1, 4, 4, 4}, {4}, {1, 4, 3, 3, 3}, {1}},
            [](const In& x) {
              Tensor h = leaky_relu(conv3d(x[0], x[1], x[2], {2}, {1}), 0.2);
              Tensor o = conv3d(h, x[3], x[4], {2}, {1});
              Tensor g = grad({sum(o)}, {x[0]}, {}, /*create_graph=*/true)[0];
              return square(sub(sqrt(sum(square(g), {1, 2, 3, 4})), scalar_tensor(1.0)));
            },
            DType::f32, -1, 1, kConvTol});
}

}  // namespace
