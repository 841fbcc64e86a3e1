// cuda::pad_zero, cuda::concat and cuda::split (kernels/cuda/shape.cu) under the CUDA simulator
// against the CPU kernels (kernels/cpu/pad.h pad_zero_forward, cat_forward) and the Tensor
// slice op. Pure copies: bitwise equal. Guard values around every output buffer.
#include "tests/sim_kernel_util.h"

#include "kernels/cpu/pad.h"

namespace {

using namespace uad;
using namespace uad::simtest;

template <class T> void check_pad(const Tensor& x, const Shape& lo, const Shape& hi) {
  SCOPED_TRACE("pad " + shape_str(x.shape()) + " strides " + shape_str(x.strides()) + " lo " + shape_str(lo) + " hi " + shape_str(hi));
  Shape out_shape(x.dim());
  for (int64_t d = 0; d < x.dim(); ++d) out_shape[d] = x.shape()[d] + lo[d] + hi[d];
  Tensor want = cpu::pad_zero_forward(x, out_shape, lo);
  // Upload the storage x views (its span), keep x's strides.
  int64_t span = 1;
  for (int64_t d = 0; d < x.dim(); ++d) span += (x.shape()[d] - 1) * x.strides()[d];
  std::vector<T> host(x.data<T>(), x.data<T>() + span);
  GuardedBuffer<T> dx(host), dout(want.numel());
  cuda::pad_zero(x.dtype(), dx.data(), x.shape(), x.strides(), dout.data(), out_shape, lo);
  EXPECT_TRUE(dout.guards_intact());
  EXPECT_TRUE(same_values(dout.inside(), values_of<T>(want)));
}

TEST(SimShape, ZeroPadEqualsTheCpu) {
  Tensor a = random_tensor({2, 3, 5, 7}, DType::f32, 1);
  check_pad<float>(a, {0, 0, 1, 2}, {0, 0, 3, 1});    // 2-D spatial pads
  check_pad<float>(a, {0, 0, -1, 1}, {0, 0, 2, -3});  // negative pads crop
  check_pad<float>(a.permute({0, 2, 1, 3}), {1, 0, 2, 0}, {0, 1, 0, 2});  // a strided (permuted) input
  Tensor b = random_tensor({3, 4, 5, 6, 7}, DType::f64, 2);
  check_pad<double>(b, {0, 1, 1, 1, 1}, {0, 1, 1, 1, 1});  // 3-D, 2 940 output cells
  Tensor c = random_tensor({300}, DType::f32, 3);
  check_pad<float>(c, {17}, {5});
  Tensor i = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::i32);
  check_pad<int32_t>(i, {1, 0}, {0, 2});
}

TEST(SimShape, ZeroPadHandComputed) {
  std::vector<float> x = {1, 2, 3};
  GuardedBuffer<float> dx(x), out(6);
  cuda::pad_zero(DType::f32, dx.data(), {3}, {1}, out.data(), {6}, {2});
  EXPECT_EQ(out.inside(), (std::vector<float>{0, 0, 1, 2, 3, 0}));
  EXPECT_THROW(cuda::pad_zero(DType::f32, dx.data(), {3}, {1}, out.data(), {6, 1}, {2}), Error);
}

TEST(SimShape, TheGuardsCatchAWriteOneElementPastTheEnd) {
  // The harness itself: a 6-element result written into a 5-element buffer is detected.
  std::vector<float> x = {1, 2, 3};
  GuardedBuffer<float> dx(x), small(5);
  cuda::pad_zero(DType::f32, dx.data(), {3}, {1}, small.data(), {6}, {2});
  EXPECT_FALSE(small.guards_intact());
}

template <class T> void check_cat(const std::vector<Shape>& shapes, int64_t dim, uint64_t seed) {
  SCOPED_TRACE("cat along " + std::to_string(dim) + " of " + shape_str(shapes[0]) + " ...");
  const DType dt = sizeof(T) == 4 ? DType::f32 : DType::f64;
  std::vector<Tensor> xs;
  std::vector<GuardedBuffer<T>> dxs;
  std::vector<const void*> ptrs;
  Shape sizes;
  Shape out_shape = shapes[0];
  out_shape[dim] = 0;
  for (size_t k = 0; k < shapes.size(); ++k) {
    xs.push_back(random_tensor(shapes[k], dt, seed + k));
    dxs.push_back(upload<T>(xs.back()));
    sizes.push_back(shapes[k][dim]);
    out_shape[dim] += shapes[k][dim];
  }
  for (auto& d : dxs) ptrs.push_back(d.data());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= out_shape[d];
  for (int64_t d = dim + 1; d < (int64_t)out_shape.size(); ++d) inner *= out_shape[d];
  Tensor want = cpu::cat_forward(xs, dim, out_shape);
  GuardedBuffer<T> dout(want.numel());
  cuda::concat(dt, ptrs, sizes, outer, inner, dout.data());
  EXPECT_TRUE(dout.guards_intact());
  EXPECT_TRUE(same_values(dout.inside(), values_of<T>(want))) << "concat";
  // split (the adjoint) gives the inputs back; a null output is skipped.
  std::vector<GuardedBuffer<T>> parts;
  std::vector<void*> outs;
  for (size_t k = 0; k < shapes.size(); ++k) parts.emplace_back(xs[k].numel());
  for (size_t k = 0; k < shapes.size(); ++k) outs.push_back(k == 1 ? nullptr : parts[k].data());
  cuda::split(dt, dout.data(), sizes, outer, inner, outs);
  int64_t off = 0;
  for (size_t k = 0; k < shapes.size(); ++k) {
    EXPECT_TRUE(parts[k].guards_intact()) << "part " << k;
    if (k == 1) {
      EXPECT_TRUE(same_values(parts[k].inside(), std::vector<T>((size_t)xs[k].numel(), GuardedBuffer<T>::sentinel())));
    } else {
      EXPECT_TRUE(same_values(parts[k].inside(), values_of<T>(want.slice(dim, off, off + sizes[k])))) << "split part " << k;
    }
    off += sizes[k];
  }
}

TEST(SimShape, ConcatAndSplitEqualTheCpu) {
  check_cat<float>({{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 4, 4, 5}}, 1, 10);  // channels (U-Net skip)
  check_cat<float>({{3, 7}, {3, 300}}, 1, 20);                         // last dim, > one block
  check_cat<double>({{2, 3}, {5, 3}, {1, 3}}, 0, 30);                  // first dim
  check_cat<float>({{2, 0, 3}, {2, 2, 3}}, 1, 40);                     // an empty input
}

}  // namespace
