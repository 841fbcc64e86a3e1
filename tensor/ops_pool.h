// Ops: pooling and upsampling.
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
