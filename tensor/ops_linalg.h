// Ops: matmul, linear (OpenBLAS GEMM).
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
