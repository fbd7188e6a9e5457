// Storage dtypes of checkpoint tensors and exact conversions to float32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace gs::runtime {

enum class DType { kF32, kBF16, kF16, kF64, kI64, kI32, kI8, kU8, kBool };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);  // safetensors spelling: "F32", "BF16", ...
bool parse_safetensors_dtype(std::string_view s, DType* out);

inline float bf16_to_f32(uint16_t h) {
  uint32_t b = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
// Round-to-nearest-even, as torch and the recipe format do (finite inputs; NaN stays NaN).
inline uint16_t f32_to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu)) return static_cast<uint16_t>((b >> 16) | 0x40);
  return static_cast<uint16_t>((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Widen `n` elements of `src` (stored as `t`) to float32. Supports F32, BF16, F16, F64.
void convert_to_f32(DType t, const void* src, size_t n, float* dst);

}  // namespace gs::runtime
