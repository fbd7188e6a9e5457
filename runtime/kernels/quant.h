// Block-quantized weight formats and the CPU kernels that multiply by them.
//
// Byte layout (all little-endian). A quantized weight is row-major [rows, cols]; every row is a
// sequence of cols / B blocks (B = block_cols(format): 32 for kQ8, 64 for kQ4), each block
// covering B consecutive input columns. A row holds nothing but its blocks, so column c lives in
// block c / B of its row and the leading k blocks of a row are exactly the row of the first B·k
// columns: a MatFormer prefix view (first_cols) keeps the row stride and just reads fewer
// blocks; first_rows reads fewer rows.
//
//   kQ8 (34 bytes / 32 weights, 8.5 bits):  f16 d | int8 q[32]
//       w[i] = d · q[i],  q in [-127, 127],  d = max|w| / 127 rounded to f16.
//   kQ4 (36 bytes / 64 weights, 4.5 bits):  f16 d | f16 m | uint8 qs[32]
//       w[i] = d · q[i] + m,  q in [0, 15],  m = min(w), d = (max(w) - m) / 15 (both f16).
//       qs[j] holds q[j] in its low nibble and q[j + 32] in its high nibble, so one 32-byte
//       load yields elements 0..31 (& 0xF) and 32..63 (>> 4) without shuffles.
//   kBF16 (2 bytes / weight): the checkpoint's own bfloat16, row stride = row_bytes.
//
// kQ4 weights read by whole-matrix products are stored with their rows interleaved in groups of
// 8 (WeightView::interleave, q4_interleave.h): the same blocks and bytes, regrouped so that one
// vpmaddubsw serves eight rows.
//
// Blocks are not aligned (34 and 36 bytes); the kernels use unaligned loads. kQ4 has the size of
// llama.cpp's Q4_0 (decode is bound by the bytes read). Its per-block minimum, rather than a
// symmetric scale, more than pays for the wider block: the asymmetric range of 64 Gaussian
// weights (~4.7 sigma) is narrower than the symmetric range of 32 (~4.9 sigma), and skewed
// blocks of real checkpoints gain more. (The first version, 32-weight blocks at 5 bits, read 11 %
// more bytes per decoded token for a ~12 % smaller step.)
//
// Activations: kBF16 keeps them float32, so the only numerical difference from an f32 matmul is
// the weight rounding; so does kQ8 for prefill (n > 32) and for rows that are not whole blocks
// of 64. kQ8 decode (n <= 32) quantizes activations to int8 like kQ4 (below): 7 vector uops per
// block and row instead of 16. kQ4 quantizes activations to int8 per block of 64, the weight
// block (scale max|x|/127, f32), and uses integer block dots, for decode and prefill alike: per
// core 1.3-2x faster than widening the weights to f32 for n <= 32, and ~1.25x faster than
// widened tiles + sgemm for prefill (measured single core, 8192x2048: 128 against 87-105
// GFLOP/s for n = 48-256). Its extra error (at most half an activation step per element, ~0.4%
// of a block's max|x|) is small next to the 4-bit weight rounding (~9% RMS). Machines without
// AVX2 run the scalar twin (slow, but the same numbers).
// The scalar reference follows the same rule, so optimised and reference kernels differ only in
// summation order; non-finite activations still give NaN outputs.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/matmul.h"

namespace gs::runtime {

inline constexpr int64_t kQuantBlock = 32;  // kQ8 weights
inline constexpr int64_t kQ4Block = 64;  // kQ4 weights, and the int8 activation blocks that meet them
inline constexpr size_t kQ8BlockBytes = 34;
inline constexpr size_t kQ4BlockBytes = 36;

// True for the formats that quantize_row/quant_matmul_rows accept as blocks (kQ8, kQ4).
inline bool is_block_quantized(WeightFormat f) { return f == WeightFormat::kQ8 || f == WeightFormat::kQ4; }

// Columns per block: a block-quantized row (or a column slice of one) must hold a whole number
// of blocks. 1 for the element formats.
inline int64_t block_cols(WeightFormat f) {
  return f == WeightFormat::kQ4 ? kQ4Block : f == WeightFormat::kQ8 ? kQuantBlock : 1;
}

// Bytes of one row of `cols` columns (kQ8/kQ4: cols % block_cols == 0; kBF16: 2·cols; kF32: 4·cols).
size_t quant_row_bytes(WeightFormat f, int64_t cols);

// Encodes src[cols] into dst[quant_row_bytes(f, cols)]. kQ8, kQ4, kBF16 (round to nearest even).
void quantize_row(WeightFormat f, const float* src, int64_t cols, uint8_t* dst);

// Decodes the first `cols` columns of a row into dst[cols]. kQ8, kQ4, kBF16, kF32.
void dequantize_row(WeightFormat f, const uint8_t* src, int64_t cols, float* dst);

// y[i, r] = sum_c x[i, c] · W[r, c] for r in [row_begin, row_end), i in [0, n); c < w.cols.
// x row stride x_stride, y row stride y_stride (elements); y is indexed by absolute row r.
// Formats kQ8, kQ4, kBF16. Single-threaded (callers split rows across threads); picks AVX2 or
// scalar code at run time. kQ4 always runs the int8 kernel (activations quantized into
// thread_local scratch). kQ8/kBF16: n <= 32 streams the weights once through fused kernels
// without heap allocation; larger n widens tiles of rows to f32 (thread_local scratch) and runs
// sgemm.
// Throws std::invalid_argument for a kQ8/kQ4 view whose cols is not a multiple of its block.
void quant_matmul_rows(WeightFormat f, const WeightView& w, int64_t row_begin, int64_t row_end, const float* x,
                       int64_t n, int64_t x_stride, float* y, int64_t y_stride);

// Same contract, portable scalar code (the reference the tests compare every path against).
void quant_matmul_rows_reference(WeightFormat f, const WeightView& w, int64_t row_begin, int64_t row_end,
                                 const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);

}  // namespace gs::runtime
