// Internal to runtime/kernels/quant*.cpp: the per-ISA entry points behind quant.h's dispatch.
// The AVX2 versions are defined in quant_avx2.cpp, int8_matmul_avx2.cpp, q4x8_matmul_avx2.cpp and sparse_avx2.cpp (compiled
// with -mavx2 -mfma -mf16c) and must only be called when has_avx2_fma_f16c() holds.
#pragma once
#include <cstdint>
#include <span>

#include "runtime/kernels/matmul.h"
#include "runtime/kernels/quant.h"

namespace gs::runtime {
class ComputeContext;
}

namespace gs::runtime::quant_detail {

// Largest n served by the fused f32-activation kernels (kQ8, kBF16; kQ4 always takes the int8
// kernel); above it rows are widened to f32 tiles and
// multiplied with sgemm (compute-bound regime, widening amortised over n). Measured single-core
// crossover (4096x2048, GFLOP/s fused vs tiled): n = 24: 53-60 vs 38-40, n = 33: 40-50 vs 44-47,
// n = 64: 42-50 vs 62-64.
inline constexpr int64_t kFusedMaxN = 32;

// Activations of the kQ4 fused kernels, quantized per block of 64 (kQ4Block: one weight block
// meets one activation block, so both halves of its integer dot share one scale) with an f32
// scale: q[i][c] int8, d[i][b] = max|x| / 127 (NaN when the block holds NaN or infinity, so
// bad activations still poison the output), s[i][b] = exact f32 sum of the block (for the
// per-block minimum term). Row i of q starts at q + i * cols, of d and s at i * blocks.
// ds holds the same d and s interleaved, (d, s) per block from ds + 2 * i * blocks: the
// one-row q4 kernel reads both with one 64-bit load and scales the block's (d_w, m_w) pair
// with one multiply (measured on one core, weights from DRAM: 19 -> 24 GB/s).
struct ActBlocks {
  int8_t* q;
  float* d;
  float* s;
  float* ds;
  // The view starting at activation row i (rows of `cols` columns).
  ActBlocks from_row(int64_t i, int64_t cols) const {
    const int64_t blocks = cols / kQ4Block;
    return {q + i * cols, d + i * blocks, s + i * blocks, ds + 2 * i * blocks};
  }
};
void quantize_acts_scalar(const float* x, int64_t n, int64_t x_stride, int64_t cols, const ActBlocks& out);
void quantize_acts_avx2(const float* x, int64_t n, int64_t x_stride, int64_t cols, const ActBlocks& out);
// Thread-local scratch for n rows of `cols` activations (grows, never shrinks: no allocation in
// steady state). matmul() and matmul_gather_rows() fill it on the calling thread and share it
// with their parallel tasks, so code that runs inside a parallel task must never call it.
ActBlocks act_scratch(int64_t n, int64_t cols);
// act_scratch filled with the n rows of x quantized (AVX2), the rows split across ctx's threads:
// what matmul() and matmul_gather_rows() hand to their row tasks.
ActBlocks quantize_acts_shared(const ComputeContext& ctx, const float* x, int64_t n, int64_t x_stride, int64_t cols);
void q4_matmul_rows_i8_avx2(const WeightView& w, int64_t row_begin, int64_t row_end, const ActBlocks& acts,
                            int64_t n, float* y, int64_t y_stride);
// The same for interleaved kQ4 weights (w.interleave == 8, q4_interleave.h); rows [row_begin,
// row_end) need not be whole groups. Defined in q4x8_matmul_avx2.cpp.
void q4x8_matmul_rows_i8_avx2(const WeightView& w, int64_t row_begin, int64_t row_end, const ActBlocks& acts,
                              int64_t n, float* y, int64_t y_stride);
// Plain kQ4 rows rows[k0..k1) times the activations, into y[i * y_stride + k] (the sparse FFN's
// gathered up_proj rows): the per-call setup of q4_matmul_rows_i8_avx2 done once for all.
void q4_gather_rows_i8_avx2(const WeightView& w, std::span<const int32_t> rows, int64_t k0, int64_t k1,
                            const ActBlocks& acts, int64_t n, float* y, int64_t y_stride);
// kQ8 weights (blocks of 32) times the same int8 activations (blocks of 64: each weight block
// lies in one activation block). Needs cols % 64 == 0.
void q8_matmul_rows_i8_avx2(const WeightView& w, int64_t row_begin, int64_t row_end, const ActBlocks& acts,
                            int64_t n, float* y, int64_t y_stride);

// Which products multiply int8-quantized activations: kQ4 always; kQ8 for decode-sized batches
// (n <= kFusedMaxN) whose rows hold whole activation blocks. Everything else keeps f32
// activations. The optimised and the reference kernels follow the same rule.
inline bool uses_int8_acts(WeightFormat f, int64_t cols, int64_t n) {
  return f == WeightFormat::kQ4 || (f == WeightFormat::kQ8 && n <= kFusedMaxN && cols % kQ4Block == 0);
}
// The int8 kernel of w.format (kQ4 or kQ8).
inline void int8_matmul_rows_avx2(const WeightView& w, int64_t r0, int64_t r1, const ActBlocks& acts, int64_t n,
                                  float* y, int64_t ys) {
  if (w.format == WeightFormat::kQ4 && w.interleave != 1) q4x8_matmul_rows_i8_avx2(w, r0, r1, acts, n, y, ys);
  else if (w.format == WeightFormat::kQ4) q4_matmul_rows_i8_avx2(w, r0, r1, acts, n, y, ys);
  else q8_matmul_rows_i8_avx2(w, r0, r1, acts, n, y, ys);
}

// y[c0, c1) = sum_k h[k] · Wt[rows[k], c0:c1) for a kQ4 or kQ8 weight stored transposed, one
// activation row; c0 and c1 are whole blocks (sparse down projection, decode).
void transposed_rows_avx2(const WeightView& wt, std::span<const int32_t> rows, const float* h, int64_t c0, int64_t c1,
                          float* y);

void quantize_row_scalar(WeightFormat f, const float* src, int64_t cols, uint8_t* dst);
void dequantize_row_scalar(WeightFormat f, const uint8_t* src, int64_t cols, float* dst);

void dequantize_row_avx2(WeightFormat f, const uint8_t* src, int64_t cols, float* dst);
void quantize_row_avx2(WeightFormat f, const float* src, int64_t cols, uint8_t* dst);
// Fused f32-activation kernel for kQ8 and kBF16, any n (efficient for n <= kFusedMaxN): each
// slab of weight rows is read from memory once and reused from L1/L2 for all n activation rows.
void matmul_rows_fused_avx2(WeightFormat f, const WeightView& w, int64_t row_begin, int64_t row_end,
                            const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);

}  // namespace gs::runtime::quant_detail
