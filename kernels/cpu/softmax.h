// Fused CPU kernels of softmax and log_softmax along one dim of a contiguous tensor viewed as
// [O, D, I] (outer, reduced dim, inner). Numerically stable: the max along D is subtracted
// before exponentiating. Parallel over (outer, inner chunk); the inner == 1 case (softmax over
// the last dim) runs one row per task.
#pragma once
#include <cstdint>

namespace uad::cpu {

/// y = softmax(x) (or log_softmax when `log`) along D of contiguous [O, D, I].
template <class T> void softmax_forward(const T* x, T* y, int64_t O, int64_t D, int64_t I, bool log);

/// The first-order vjp from the saved output y: softmax dx = y·(g − Σ_D g·y);
/// log_softmax dx = g − e^y·Σ_D g. All contiguous [O, D, I].
template <class T> void softmax_backward(const T* g, const T* y, T* dx, int64_t O, int64_t D, int64_t I, bool log);

}  // namespace uad::cpu
