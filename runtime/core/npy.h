// NumPy .npy files (little-endian, C order): read into a typed array, write float32/int64/bool/uint8.
// Used by the CLI (dump, greedy) and the tests; inputs are untrusted, so every header is checked.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/status.h"

namespace gs::runtime {

struct NpyArray {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian elements, C order

  int64_t numel() const;
  std::vector<float> to_f32() const;      // F32/F64/BF16/F16/ints widened
  std::vector<int64_t> to_i64() const;    // integer or bool arrays
};

Expected<NpyArray> read_npy(const std::string& path);
Expected<NpyArray> parse_npy(const uint8_t* bytes, size_t size);
Status write_npy(const std::string& path, DType dtype, const std::vector<int64_t>& shape, const void* data);
inline Status write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  return write_npy(path, DType::kF32, shape, data);
}

}  // namespace gs::runtime
