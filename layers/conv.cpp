#include "layers/conv.h"

#include "tensor/ops.h"

namespace uad::nn {

namespace {

/// One entry per spatial dim (a single entry is repeated); throws naming the layer otherwise.
Shape expand_to(const Shape& s, int rank, const char* what, const std::string& layer) {
  if (s.size() == 1) return Shape(rank, s[0]);
  check((int)s.size() == rank, layer, ": ", what, " ", s, " needs 1 or ", rank, " entries");
  return s;
}

}  // namespace

ConvNd::ConvNd(int rank, bool transposed, int64_t in_channels, int64_t out_channels, Shape kernel, ConvOptions o,
               Generator& g)
    : rank_(rank), transposed_(transposed), in_(in_channels), out_(out_channels), opt_(std::move(o)) {
  const std::string name = type_name();
  check(rank == 2 || rank == 3, "ConvNd: spatial rank must be 2 or 3, got ", rank);
  check(in_ > 0 && out_ > 0, name, ": channels must be positive, got in ", in_, " out ", out_);
  check(is_floating(opt_.dtype), name, ": dtype must be f32/f64");
  kernel_ = expand_to(kernel, rank, "kernel", name);
  for (int64_t k : kernel_) check(k > 0, name, ": kernel ", kernel_, " must be positive");
  opt_.stride = expand_to(opt_.stride, rank, "stride", name);
  opt_.padding = expand_to(opt_.padding, rank, "padding", name);
  opt_.output_padding = expand_to(opt_.output_padding, rank, "output_padding", name);
  opt_.dilation = expand_to(opt_.dilation, rank, "dilation", name);
  for (int i = 0; i < rank; ++i) {
    check(opt_.stride[i] > 0 && opt_.dilation[i] > 0 && opt_.padding[i] >= 0, name, ": stride ", opt_.stride,
          ", dilation ", opt_.dilation, " must be positive and padding ", opt_.padding, " non-negative");
    check(opt_.output_padding[i] == 0 || (transposed && opt_.output_padding[i] > 0 && opt_.output_padding[i] < opt_.stride[i]),
          name, ": output_padding ", opt_.output_padding, transposed ? " must be in [0, stride)" : " only applies to transposed convolutions");
  }
  Shape ws = transposed ? Shape{in_, out_} : Shape{out_, in_};
  ws.insert(ws.end(), kernel_.begin(), kernel_.end());
  weight_ = register_parameter("weight", empty(ws, opt_.dtype));
  if (opt_.bias) bias_ = register_parameter("bias", empty({out_}, opt_.dtype));
  reset_parameters(g);
}

void ConvNd::reset_parameters(Generator& g) { init::init_weight_bias(opt_.init, weight_, bias_, g); }

std::string ConvNd::type_name() const {
  return std::string(transposed_ ? "ConvTranspose" : "Conv") + (rank_ == 2 ? "2d" : "3d");
}

Tensor ConvNd::forward(const Tensor& x) {
  check(x.defined() && x.dim() == rank_ + 2 && x.size(1) == in_, type_name(), "(", in_, ", ", out_, "): expected input [N,", in_,
        rank_ == 2 ? ",H,W]" : ",D,H,W]", ", got ", x.defined() ? shape_str(x.shape()) : "undefined");
  const ConvOptions& o = opt_;
  if (!transposed_)
    return rank_ == 2 ? conv2d(x, weight_, bias_, o.stride, o.padding, o.dilation) : conv3d(x, weight_, bias_, o.stride, o.padding, o.dilation);
  return rank_ == 2 ? conv_transpose2d(x, weight_, bias_, o.stride, o.padding, o.output_padding, o.dilation)
                    : conv_transpose3d(x, weight_, bias_, o.stride, o.padding, o.output_padding, o.dilation);
}

std::string ConvNd::extra_repr() const {
  std::string s = std::to_string(in_) + ", " + std::to_string(out_) + ", kernel=" + shape_str(kernel_) +
                  ", stride=" + shape_str(opt_.stride) + ", padding=" + shape_str(opt_.padding);
  if (transposed_) s += ", output_padding=" + shape_str(opt_.output_padding);
  if (opt_.dilation != Shape(rank_, 1)) s += ", dilation=" + shape_str(opt_.dilation);
  if (!opt_.bias) s += ", bias=false";
  return s + ", init=" + init_name(opt_.init);
}

}  // namespace uad::nn
