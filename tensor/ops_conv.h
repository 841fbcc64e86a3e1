// Ops: convolution as three ops closed under differentiation.
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
