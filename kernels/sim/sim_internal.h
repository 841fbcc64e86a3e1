// Shared between the simulator's runtime files (not for kernels or tests).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "kernels/sim/sim.h"

namespace uad::sim::internal {

/// Records `e` as the last error (cudaGetLastError) and, for launch failures, its full text.
cudaError_t set_error(cudaError_t e, const std::string& text = {});

/// One static __shared__ variable found in the executable (address, size in bytes).
struct SharedRange {
  unsigned char* ptr;
  size_t bytes;
};
/// Every static __shared__ variable of the executable (found once, by ABI tag, in .symtab).
const std::vector<SharedRange>& static_shared_ranges();

/// Largest dynamic shared memory a launch of `kernel` may request (48 KiB unless raised).
size_t dynamic_shared_limit(const void* kernel);

}  // namespace uad::sim::internal
