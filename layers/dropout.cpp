#include "layers/dropout.h"

#include <sstream>

#include "tensor/ops.h"

namespace uad::nn {

Dropout::Dropout(double p, Generator* g) : p_(p), gen_(g) {
  check(p >= 0 && p <= 1, "Dropout: p must be in [0,1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!active()) return x;
  return dropout(x, p_, true, generator());
}

std::string Dropout::extra_repr() const {
  std::ostringstream o;
  o << "p=" << p_ << (mc_ ? ", mc=true" : "");
  return o.str();
}

int set_mc_dropout(Module& root, bool on) {
  int n = 0;
  root.apply([&](const std::string&, Module& m) {
    if (auto* d = dynamic_cast<Dropout*>(&m)) {
      d->set_mc(on);
      ++n;
    }
  });
  return n;
}

int set_dropout_generator(Module& root, Generator* g) {
  int n = 0;
  root.apply([&](const std::string&, Module& m) {
    if (auto* d = dynamic_cast<Dropout*>(&m)) {
      d->set_generator(g);
      ++n;
    }
  });
  return n;
}

}  // namespace uad::nn
