// kQ4 rows interleaved in groups of 8: the layout the dense q4 products read.
//
// A plain kQ4 row is a run of 36-byte blocks (f16 d | f16 m | 32 nibble bytes, quant.h). With
// interleave 8, rows 8g..8g+7 form group g (8 · row_bytes bytes from data + 8g · row_bytes) and
// block b of the group's eight rows is one 288-byte unit at b · 288:
//
//   f16 d[8] | f16 m[8] | chunk[8] of 32 bytes, chunk j = row 0 qs[4j..4j+3], row 1 qs[4j..4j+3], ...
//
// so one 32-byte load holds 4 nibble bytes (elements 4j..4j+3 low, 32+4j.. high) of each of the
// eight rows, and one vpmaddubsw against a broadcast 4-byte activation chunk yields partial dots
// for eight rows in eight lanes. Each lane stays one output row: no horizontal reduction per
// block, and one convert/FMA per block serves eight rows. Row-major blocks fold four activation
// rows' dots across lanes with 9 shuffle/add uops per block (q4_dot_i8_rows4); measured on one
// core, weights from DRAM, 4 activation rows x 2048 columns: 9.5-10 -> 11.3-11.5 GB/s.
//
// Same bytes as the plain layout (row_bytes unchanged, 36 per block and row), so byte counts,
// first_cols (fewer blocks per group, same stride) and first_rows (fewer rows; a partial last
// group is computed whole and cut) keep working. A single row is no longer contiguous: weights
// read one row at a time (the sparse FFN's gathered up_proj rows, transposed down_proj) stay
// plain; a lone row is read back through q4x8_row_block.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/matmul.h"
#include "runtime/kernels/quant.h"

namespace gs::runtime {

inline constexpr int32_t kQ4RowGroup = 8;
inline constexpr size_t kQ4GroupBlockBytes = kQ4RowGroup * kQ4BlockBytes;  // 288

// Whether a kQ4 weight of this shape can take the interleaved layout.
inline bool can_interleave_q4(int64_t rows, int64_t cols) {
  return rows > 0 && rows % kQ4RowGroup == 0 && cols % kQ4Block == 0;
}

// The row group a converted weight gets: kQ4RowGroup when `asked` is that, the format is kQ4 and
// the shape takes it; else 1 (plain rows).
inline int32_t q4_row_group_for(WeightFormat f, int64_t rows, int64_t cols, int32_t asked) {
  return asked == kQ4RowGroup && f == WeightFormat::kQ4 && can_interleave_q4(rows, cols) ? kQ4RowGroup : 1;
}

// Rewrites 8 plain kQ4 rows (src, row stride src_row_bytes, `blocks` blocks each) as one
// interleaved group at dst (blocks · 288 bytes).
void interleave_q4_group(const uint8_t* src, size_t src_row_bytes, int64_t blocks, uint8_t* dst);

// Block b of row r of an interleaved kQ4 view, gathered back into the plain 36-byte block.
void q4x8_row_block(const WeightView& w, int64_t r, int64_t b, uint8_t* out);

// Row r of any kQ4 view (plain or interleaved), first w.cols columns, as a plain kQ4 row
// (out: w.cols / 64 · 36 bytes).
void q4_plain_row(const WeightView& w, int64_t r, uint8_t* out);

}  // namespace gs::runtime
