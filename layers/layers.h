// Everything of layers/ in one include: Module, initialisers, Linear, convolutions, norms,
// Dropout, activations, Sequential/Reshape/Flatten (namespace uad::nn).
#pragma once
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/norm.h"
#include "layers/sequential.h"
