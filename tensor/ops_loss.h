// Ops: losses.
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
