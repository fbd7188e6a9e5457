// Dispatch, scalar codecs and the scalar reference for the block-quantized formats (layout in
// quant.h). The AVX2 kernels live in quant_avx2.cpp.
#include "runtime/kernels/quant.h"
#include "runtime/kernels/q4_interleave.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/kernels/isa.h"
#include "runtime/kernels/quant_kernels.h"

namespace gs::runtime {
namespace quant_detail {
namespace {

constexpr float kF16Max = 65504.f;

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// Clamps to [lo, hi] (integers, |.| < 2^22) and rounds half to even; NaN encodes as 0. Adding
// and subtracting 1.5·2^23 rounds in the FPU's default mode without a libm call (nearbyint is
// one without SSE4.1), which made quantizing a checkpoint 4x faster.
float round_clamped(float v, float lo, float hi) {
  if (!(v == v)) return 0.f;
  constexpr float kMagic = 12582912.f;
  const float t = std::min(hi, std::max(lo, v)) + kMagic;  // exact IEEE: never folded without -ffast-math
  return t - kMagic;
}

void quantize_q8_block(const float* x, uint8_t* blk) {
  float amax = 0.f;
  for (int i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
  const uint16_t dh = f32_to_f16(std::min(amax / 127.f, kF16Max));
  const float d = f16_to_f32(dh);
  const float inv = d > 0.f ? 1.f / d : 0.f;
  store_u16(blk, dh);
  for (int i = 0; i < kQuantBlock; ++i)
    blk[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(round_clamped(x[i] * inv, -127.f, 127.f)));
}

void quantize_q4_block(const float* x, uint8_t* blk) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < kQ4Block; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!(lo == lo) || !(hi == hi)) lo = hi = 0.f;
  // Round m first so that d spans what the decoder will actually add back.
  const uint16_t mh = f32_to_f16(std::clamp(lo, -kF16Max, kF16Max));
  const float m = f16_to_f32(mh);
  const uint16_t dh = f32_to_f16(std::min(std::max(hi - m, 0.f) / 15.f, kF16Max));
  const float d = f16_to_f32(dh);
  const float inv = d > 0.f ? 1.f / d : 0.f;
  store_u16(blk, dh);
  store_u16(blk + 2, mh);
  for (int j = 0; j < 32; ++j) {
    const auto q0 = static_cast<uint8_t>(round_clamped((x[j] - m) * inv, 0.f, 15.f));
    const auto q1 = static_cast<uint8_t>(round_clamped((x[j + 32] - m) * inv, 0.f, 15.f));
    blk[4 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

void dequantize_q8_block(const uint8_t* blk, float* y) {
  const float d = f16_to_f32(load_u16(blk));
  for (int i = 0; i < kQuantBlock; ++i) y[i] = d * static_cast<float>(static_cast<int8_t>(blk[2 + i]));
}

void dequantize_q4_block(const uint8_t* blk, float* y) {
  const float d = f16_to_f32(load_u16(blk));
  const float m = f16_to_f32(load_u16(blk + 2));
  for (int j = 0; j < 32; ++j) {
    y[j] = d * static_cast<float>(blk[4 + j] & 0xF) + m;
    y[j + 32] = d * static_cast<float>(blk[4 + j] >> 4) + m;
  }
}

// Large n: widen a tile of rows to f32 once, then one sgemm over all n activation rows.
void matmul_rows_tiled(WeightFormat f, const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n,
                       int64_t xs, float* y, int64_t ys) {
  // sgemm's efficiency grows with the tile's row count (measured single-core, K = 8192, n = 512:
  // 32 rows 57, 64 rows 69, 128 rows 78, 256 rows 84 GFLOP/s); 8 MB of scratch at most.
  constexpr int64_t kTileRows = 256, kMaxTileFloats = int64_t{2} << 20;
  const int64_t tile_rows = std::clamp<int64_t>(kMaxTileFloats / std::max<int64_t>(w.cols, 1), 16, kTileRows);
  thread_local std::vector<float> tile;
  tile.resize(static_cast<size_t>(tile_rows * w.cols));
  for (int64_t t0 = r0; t0 < r1; t0 += tile_rows) {
    const int64_t t1 = std::min(r1, t0 + tile_rows);
    for (int64_t r = t0; r < t1; ++r)
      dequantize_row(f, w.data + static_cast<size_t>(r) * w.row_bytes, w.cols, tile.data() + (r - t0) * w.cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(t1 - t0),
                static_cast<int>(w.cols), 1.f, x, static_cast<int>(xs), tile.data(), static_cast<int>(w.cols), 0.f,
                y + t0, static_cast<int>(ys));
  }
}

bool is_finite_block(const float* x) {
  for (int i = 0; i < kQ4Block; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// y[i, r] = sum over the row's weight blocks of term(row, i, b), summed in double: the loop that
// the scalar twins of the int8 kernels share.
// Interleaved kQ4 rows are first gathered back into plain blocks (q4_plain_row).
template <class Term>
void i8_reference_rows(const WeightView& w, int64_t r0, int64_t r1, int64_t n, int64_t blocks, float* y, int64_t ys,
                       Term term) {
  std::vector<uint8_t> plain(w.interleave != 1 ? w.row_bytes : 0);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes;
    if (w.interleave != 1) {
      q4_plain_row(w, r, plain.data());
      row = plain.data();
    }
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0.0;
      for (int64_t b = 0; b < blocks; ++b) acc += term(row, i, b);
      y[i * ys + r] = static_cast<float>(acc);
    }
  }
}

// Scalar twin of q4_matmul_rows_i8_avx2: same quantized activations, exact integer block dots.
void q4_matmul_rows_i8_reference(const WeightView& w, int64_t r0, int64_t r1, const ActBlocks& a, int64_t n,
                                 float* y, int64_t ys) {
  const int64_t blocks = w.cols / kQ4Block;
  i8_reference_rows(w, r0, r1, n, blocks, y, ys, [&](const uint8_t* row, int64_t i, int64_t b) {
    const uint8_t* blk = row + b * kQ4BlockBytes;
    const int8_t* qx = a.q + i * w.cols + b * kQ4Block;
    int32_t dot = 0;
    for (int j = 0; j < 32; ++j) dot += (blk[4 + j] & 0xF) * qx[j] + (blk[4 + j] >> 4) * qx[j + 32];
    const float d = f16_to_f32(load_u16(blk)), m = f16_to_f32(load_u16(blk + 2));
    return static_cast<double>(d * a.d[i * blocks + b]) * dot + static_cast<double>(m) * a.s[i * blocks + b];
  });
}

// Scalar twin of q8_matmul_rows_i8_avx2 (weight block b lies in activation block b / 2).
void q8_matmul_rows_i8_reference(const WeightView& w, int64_t r0, int64_t r1, const ActBlocks& a, int64_t n,
                                 float* y, int64_t ys) {
  const int64_t ablocks = w.cols / kQ4Block;
  i8_reference_rows(w, r0, r1, n, w.cols / kQuantBlock, y, ys, [&](const uint8_t* row, int64_t i, int64_t b) {
    const uint8_t* blk = row + b * kQ8BlockBytes;
    const int8_t* qx = a.q + i * w.cols + b * kQuantBlock;
    int32_t dot = 0;
    for (int j = 0; j < kQuantBlock; ++j) dot += static_cast<int8_t>(blk[2 + j]) * qx[j];
    return static_cast<double>(f16_to_f32(load_u16(blk)) * a.d[i * ablocks + b / 2]) * dot;
  });
}

}  // namespace

ActBlocks act_scratch(int64_t n, int64_t cols) {
  thread_local std::vector<int8_t> q;
  thread_local std::vector<float> ds;
  const auto nq = static_cast<size_t>(n * cols), nb = static_cast<size_t>(n * (cols / kQ4Block));
  if (q.size() < nq) q.resize(nq);
  if (ds.size() < 4 * nb) ds.resize(4 * nb);
  return {q.data(), ds.data(), ds.data() + nb, ds.data() + 2 * nb};
}

void quantize_acts_scalar(const float* x, int64_t n, int64_t xs, int64_t cols, const ActBlocks& out) {
  const int64_t blocks = cols / kQ4Block;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + i * xs + b * kQ4Block;
      int8_t* q = out.q + i * cols + b * kQ4Block;
      float amax = 0.f, sum = 0.f;
      for (int k = 0; k < kQ4Block; ++k) {
        amax = std::max(amax, std::fabs(xb[k]));
        sum += xb[k];
      }
      const bool finite = is_finite_block(xb);
      const float d = finite ? amax / 127.f : std::numeric_limits<float>::quiet_NaN();
      const float inv = finite && d > 0.f ? 1.f / d : 0.f;
      for (int k = 0; k < kQ4Block; ++k) q[k] = static_cast<int8_t>(round_clamped(xb[k] * inv, -127.f, 127.f));
      out.d[i * blocks + b] = d;
      out.s[i * blocks + b] = sum;
      out.ds[2 * (i * blocks + b)] = d;
      out.ds[2 * (i * blocks + b) + 1] = sum;
    }
  }
}

void quantize_row_scalar(WeightFormat f, const float* src, int64_t cols, uint8_t* dst) {
  switch (f) {
    case WeightFormat::kQ8:
      for (int64_t b = 0; b < cols / kQuantBlock; ++b) quantize_q8_block(src + b * kQuantBlock, dst + b * kQ8BlockBytes);
      return;
    case WeightFormat::kQ4:
      for (int64_t b = 0; b < cols / kQ4Block; ++b) quantize_q4_block(src + b * kQ4Block, dst + b * kQ4BlockBytes);
      return;
    case WeightFormat::kBF16:
      for (int64_t c = 0; c < cols; ++c) store_u16(dst + 2 * c, f32_to_bf16(src[c]));
      return;
    case WeightFormat::kF32: std::memcpy(dst, src, static_cast<size_t>(cols) * 4); return;
  }
}

void dequantize_row_scalar(WeightFormat f, const uint8_t* src, int64_t cols, float* dst) {
  switch (f) {
    case WeightFormat::kQ8:
      for (int64_t b = 0; b < cols / kQuantBlock; ++b) dequantize_q8_block(src + b * kQ8BlockBytes, dst + b * kQuantBlock);
      return;
    case WeightFormat::kQ4:
      for (int64_t b = 0; b < cols / kQ4Block; ++b) dequantize_q4_block(src + b * kQ4BlockBytes, dst + b * kQ4Block);
      return;
    case WeightFormat::kBF16:
      for (int64_t c = 0; c < cols; ++c) dst[c] = bf16_to_f32(load_u16(src + 2 * c));
      return;
    case WeightFormat::kF32: std::memcpy(dst, src, static_cast<size_t>(cols) * 4); return;
  }
}

}  // namespace quant_detail

size_t quant_row_bytes(WeightFormat f, int64_t cols) {
  const auto c = static_cast<size_t>(cols);
  switch (f) {
    case WeightFormat::kF32: return c * 4;
    case WeightFormat::kBF16: return c * 2;
    case WeightFormat::kQ8: return c / kQuantBlock * kQ8BlockBytes;
    case WeightFormat::kQ4: return c / kQ4Block * kQ4BlockBytes;
  }
  return 0;
}

void quantize_row(WeightFormat f, const float* src, int64_t cols, uint8_t* dst) {
  if (is_block_quantized(f) && cols % block_cols(f) != 0)
    throw std::invalid_argument("quantize_row: cols must be a multiple of the block");
  if (has_avx2_fma_f16c()) quant_detail::quantize_row_avx2(f, src, cols, dst);
  else quant_detail::quantize_row_scalar(f, src, cols, dst);
}

void dequantize_row(WeightFormat f, const uint8_t* src, int64_t cols, float* dst) {
  if (is_block_quantized(f) && cols % block_cols(f) != 0)
    throw std::invalid_argument("dequantize_row: cols must be a multiple of the block");
  if (has_avx2_fma_f16c()) quant_detail::dequantize_row_avx2(f, src, cols, dst);
  else quant_detail::dequantize_row_scalar(f, src, cols, dst);
}

void quant_matmul_rows(WeightFormat f, const WeightView& w, int64_t row_begin, int64_t row_end, const float* x,
                       int64_t n, int64_t x_stride, float* y, int64_t y_stride) {
  if (n <= 0 || row_end <= row_begin) return;
  if (is_block_quantized(f) && w.cols % block_cols(f) != 0)
    throw std::invalid_argument("quant_matmul_rows: cols must be a multiple of the block");
  if (quant_detail::uses_int8_acts(f, w.cols, n)) {
    if (!has_avx2_fma_f16c()) return quant_matmul_rows_reference(f, w, row_begin, row_end, x, n, x_stride, y, y_stride);
    const quant_detail::ActBlocks acts = quant_detail::act_scratch(n, w.cols);
    quant_detail::quantize_acts_avx2(x, n, x_stride, w.cols, acts);
    quant_detail::int8_matmul_rows_avx2(w, row_begin, row_end, acts, n, y, y_stride);
  } else if (n > quant_detail::kFusedMaxN) {
    quant_detail::matmul_rows_tiled(f, w, row_begin, row_end, x, n, x_stride, y, y_stride);
  } else if (has_avx2_fma_f16c() && f != WeightFormat::kF32) {
    quant_detail::matmul_rows_fused_avx2(f, w, row_begin, row_end, x, n, x_stride, y, y_stride);
  } else {
    quant_matmul_rows_reference(f, w, row_begin, row_end, x, n, x_stride, y, y_stride);
  }
}

void quant_matmul_rows_reference(WeightFormat f, const WeightView& w, int64_t row_begin, int64_t row_end,
                                 const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) {
  if (is_block_quantized(f) && w.cols % block_cols(f) != 0)
    throw std::invalid_argument("quant_matmul_rows: cols must be a multiple of the block");
  if (quant_detail::uses_int8_acts(f, w.cols, n)) {
    const quant_detail::ActBlocks acts = quant_detail::act_scratch(n, w.cols);
    quant_detail::quantize_acts_scalar(x, n, x_stride, w.cols, acts);
    if (f == WeightFormat::kQ4) quant_detail::q4_matmul_rows_i8_reference(w, row_begin, row_end, acts, n, y, y_stride);
    else quant_detail::q8_matmul_rows_i8_reference(w, row_begin, row_end, acts, n, y, y_stride);
    return;
  }
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(w.cols));
  for (int64_t r = row_begin; r < row_end; ++r) {
    quant_detail::dequantize_row_scalar(f, w.data + static_cast<size_t>(r) * w.row_bytes, w.cols, row.data());
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * x_stride;
      double acc = 0.0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(xi[c]) * row[c];
      y[i * y_stride + r] = static_cast<float>(acc);
    }
  }
}

}  // namespace gs::runtime
