#include "runtime/kernels/q4_interleave.h"

#include <cstring>

namespace gs::runtime {

void interleave_q4_group(const uint8_t* src, size_t src_row_bytes, int64_t blocks, uint8_t* dst) {
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* unit = dst + static_cast<size_t>(b) * kQ4GroupBlockBytes;
    for (int r = 0; r < kQ4RowGroup; ++r) {
      const uint8_t* blk = src + static_cast<size_t>(r) * src_row_bytes + static_cast<size_t>(b) * kQ4BlockBytes;
      std::memcpy(unit + 2 * r, blk, 2);            // d
      std::memcpy(unit + 16 + 2 * r, blk + 2, 2);   // m
      for (int j = 0; j < 8; ++j) std::memcpy(unit + 32 + 32 * j + 4 * r, blk + 4 + 4 * j, 4);
    }
  }
}

void q4x8_row_block(const WeightView& w, int64_t r, int64_t b, uint8_t* out) {
  const int64_t g = r / kQ4RowGroup, k = r % kQ4RowGroup;
  const uint8_t* unit = w.data + static_cast<size_t>(g) * kQ4RowGroup * w.row_bytes + static_cast<size_t>(b) * kQ4GroupBlockBytes;
  std::memcpy(out, unit + 2 * k, 2);
  std::memcpy(out + 2, unit + 16 + 2 * k, 2);
  for (int j = 0; j < 8; ++j) std::memcpy(out + 4 + 4 * j, unit + 32 + 32 * j + 4 * k, 4);
}

void q4_plain_row(const WeightView& w, int64_t r, uint8_t* out) {
  const int64_t blocks = w.cols / kQ4Block;
  if (w.interleave == 1) {
    std::memcpy(out, w.data + static_cast<size_t>(r) * w.row_bytes, static_cast<size_t>(blocks) * kQ4BlockBytes);
    return;
  }
  for (int64_t b = 0; b < blocks; ++b) q4x8_row_block(w, r, b, out + static_cast<size_t>(b) * kQ4BlockBytes);
}

}  // namespace gs::runtime
