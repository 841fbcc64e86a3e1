// Element types and devices of uad tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace uad {

/// Element type. f32 is the default; f64 exists for trustworthy finite-difference gradient
/// checks; i32 and u8 hold labels and masks (comparisons return u8 0/1).
enum class DType : uint8_t { f32, f64, i32, u8 };

/// Where a tensor's storage lives. Only cpu is implemented in this engine core; cuda is the tag
/// the CUDA backend (issue 3) dispatches on.
enum class Device : uint8_t { cpu, cuda };

/// Size of one element in bytes.
inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::u8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
  }
  return "?";
}

inline const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

inline bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

/// Maps a C++ type to its DType.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };

}  // namespace uad
