// Ops: pad, concat, stack, split.
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
