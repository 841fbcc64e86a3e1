// Run-time device selection (DESIGN.md §4): CUDA when a device is found, the CPU otherwise.
#pragma once
#include <string>

#include "tensor/dtype.h"

namespace uad {

/// What the CUDA runtime reports. `reason` explains unavailability in one line, e.g.
/// "cudaGetDeviceCount failed: CUDA driver version is insufficient for CUDA runtime version".
struct CudaProbe {
  bool built = false;      // this binary has the CUDA backend
  int device_count = 0;    // devices visible to the runtime
  std::string name;        // name of device 0 when present
  std::string reason;      // why no device is usable (empty when one is)
  bool available() const { return built && device_count > 0; }
};

/// Probes the CUDA runtime once (cached). Never throws.
const CudaProbe& probe_cuda();

/// Resolves a --device request: "auto" → cuda when available, else cpu (and `note` gets the one
/// line saying why); "cpu" → cpu; "cuda" → cuda or throws uad::Error with the probe's reason.
/// Throws uad::Error for any other string.
Device select_device(const std::string& request, std::string* note = nullptr);

}  // namespace uad
