// The public functional API of uad: every differentiable op. Each family lives in its own header.
#pragma once
#include "tensor/autograd.h"
#include "tensor/generator.h"
#include "tensor/ops_elementwise.h"
#include "tensor/ops_reduce.h"
#include "tensor/ops_view.h"
#include "tensor/ops_linalg.h"
#include "tensor/ops_conv.h"
#include "tensor/ops_pool.h"
#include "tensor/ops_shape.h"
#include "tensor/ops_norm.h"
#include "tensor/ops_softmax.h"
#include "tensor/ops_loss.h"
