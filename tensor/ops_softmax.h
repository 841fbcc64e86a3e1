// Ops: softmax, log_softmax.
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
