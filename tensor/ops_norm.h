// Ops: batch/layer/instance/group norm, dropout.
#pragma once
#include "tensor/tensor.h"

namespace uad {}  // namespace uad
