// AVX2 + FMA + F16C kernels for the formats of quant.h: the block codecs, activation
// quantization, and the fused f32-activation products (kQ8/bf16), where each weight block is
// widened to 4 x 8 floats once and reused for every activation row from registers. The int8
// products live in int8_matmul_avx2.cpp. Only called after has_avx2_fma_f16c().
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/core/dtype.h"

#include "runtime/kernels/avx2_util.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"

namespace gs::runtime::quant_detail {
namespace {

using avx2::hsum;
using avx2::load_f16;

inline __m256 bf16x8_to_f32(const uint8_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline __m256 i8x8_to_f32(const uint8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// Each format widens a block of kCols weights in chunks of 8 (columns 8j .. 8j+7). The
// per-block constants are broadcast once (params) and each chunk costs 2-4 uops straight from
// memory, so several weight rows can be decoded side by side without running out of registers.
struct Q8Block {
  static constexpr size_t kBytes = kQ8BlockBytes;
  static constexpr int kCols = kQuantBlock;
  struct Params { __m256 d; };
  static Params params(const uint8_t* blk) { return {_mm256_set1_ps(load_f16(blk))}; }
  static __m256 chunk(const uint8_t* blk, int j, const Params& p) { return _mm256_mul_ps(p.d, i8x8_to_f32(blk + 2 + 8 * j)); }
};

struct Q4Block {
  static constexpr size_t kBytes = kQ4BlockBytes;
  static constexpr int kCols = kQ4Block;
  struct Params { __m256 d, m; };
  static Params params(const uint8_t* blk) {
    return {_mm256_set1_ps(load_f16(blk)), _mm256_set1_ps(load_f16(blk + 2))};
  }
  // Chunks 0-3 are the low nibbles of bytes 0-7, 8-15, 16-23, 24-31; chunks 4-7 their high nibbles.
  static __m256 chunk(const uint8_t* blk, int j, const Params& p) {
    const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 4 + 8 * (j & 3))));
    const __m256i q = j < 4 ? _mm256_and_si256(b, _mm256_set1_epi32(0x0F)) : _mm256_srli_epi32(b, 4);
    return _mm256_fmadd_ps(p.d, _mm256_cvtepi32_ps(q), p.m);
  }
};

struct BF16Block {
  static constexpr size_t kBytes = 64;
  static constexpr int kCols = kQuantBlock;
  struct Params {};
  static Params params(const uint8_t*) { return {}; }
  static __m256 chunk(const uint8_t* blk, int j, const Params&) { return bf16x8_to_f32(blk + 16 * j); }
};

// Dot products of NR consecutive weight rows with NA activation rows: each activation chunk is
// loaded once for NR rows (for cols = 8192 the activations no longer fit L1 next to the weight
// stream) and each decoded weight chunk is used for NA activation rows.
template <class Block, int NR, int NA, int KA>
inline void dot_rows(const uint8_t* row, size_t row_bytes, int64_t blocks, const float* x, int64_t xs, float* y,
                     int64_t ys) {
  static_assert(Block::kCols == kQuantBlock, "the f32 fused kernels walk blocks of 32 (kQ8, bf16)");
  __m256 acc[NR][NA][KA];
  for (int r = 0; r < NR; ++r)
    for (int a = 0; a < NA; ++a)
      for (int k = 0; k < KA; ++k) acc[r][a][k] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + b * Block::kBytes;
    typename Block::Params p[NR];
    for (int r = 0; r < NR; ++r) p[r] = Block::params(blk + r * row_bytes);
    const float* xb = x + b * kQuantBlock;
    for (int j = 0; j < 4; ++j) {
      __m256 xv[NA];
      for (int a = 0; a < NA; ++a) xv[a] = _mm256_loadu_ps(xb + a * xs + 8 * j);
      for (int r = 0; r < NR; ++r) {
        const __m256 w = Block::chunk(blk + r * row_bytes, j, p[r]);
        for (int a = 0; a < NA; ++a) acc[r][a][j % KA] = _mm256_fmadd_ps(w, xv[a], acc[r][a][j % KA]);
      }
    }
  }
  for (int r = 0; r < NR; ++r)
    for (int a = 0; a < NA; ++a) {
      __m256 t = acc[r][a][0];
      for (int k = 1; k < KA; ++k) t = _mm256_add_ps(t, acc[r][a][k]);
      y[a * ys + r] = hsum(t);
    }
}

// bf16 rows may end in a partial block (cols % 32 != 0): those columns are added here.
void add_bf16_tail(const uint8_t* row, int64_t c0, int64_t cols, const float* x, int64_t n, int64_t xs, float* y,
                   int64_t ys) {
  for (int64_t i = 0; i < n; ++i) {
    float s = 0.f;
    for (int64_t c = c0; c < cols; ++c) {
      uint16_t h;
      std::memcpy(&h, row + 2 * c, 2);
      s += x[i * xs + c] * _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(h) << 16)));
    }
    y[i * ys] += s;
  }
}

// Activation rows [i, i + NA) against weight rows [r0, r1). Measured on Zen (2048-col rows from
// DRAM): one row at a time keeps a single sequential weight stream that the hardware prefetcher
// serves at full speed, while interleaving several rows ran 2-3x slower. Rows longer than 4096
// cols are the exception: their f32 activations (32 KB) no longer stay in L1 beside the stream,
// and sharing each activation load among 4 rows wins (1.5x). 4 accumulators per dot product
// hide the FMA latency when there are few of them.
template <class Block, int NA>
void fused_rows_na(const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t xs, float* y, int64_t ys) {
  // Rows left over after the groups use the groups' accumulator count (KA): a row's sum order
  // must not depend on whether a slab or task boundary put it in a group.
  const int64_t blocks = w.cols / kQuantBlock;
  auto at = [&](int64_t r) { return w.data + static_cast<size_t>(r) * w.row_bytes; };
  int64_t r = r0;
  if (NA == 1 && w.cols > 4096) {
    for (; r + 4 <= r1; r += 4) dot_rows<Block, 4, 1, 2>(at(r), w.row_bytes, blocks, x, xs, y + r, ys);
    for (; r < r1; ++r) dot_rows<Block, 1, 1, 2>(at(r), w.row_bytes, blocks, x, xs, y + r, ys);
  } else if (NA >= 2) {
    for (; r + 2 <= r1; r += 2) dot_rows<Block, 2, NA, 1>(at(r), w.row_bytes, blocks, x, xs, y + r, ys);
    for (; r < r1; ++r) dot_rows<Block, 1, NA, 1>(at(r), w.row_bytes, blocks, x, xs, y + r, ys);
  } else {
    for (; r < r1; ++r) dot_rows<Block, 1, 1, 4>(at(r), w.row_bytes, blocks, x, xs, y + r, ys);
  }
}

// Rows are walked in slabs small enough to stay in L1/L2 while every group of up to 4
// activation rows passes over them, so the weights come from memory once for all n.
template <class Block>
void fused_rows(const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n, int64_t xs, float* y,
                int64_t ys) {
  const int64_t blocks = w.cols / kQuantBlock;
  const bool tail = blocks * kQuantBlock < w.cols;  // bf16 only; block formats have cols % 32 == 0
  const int64_t slab = std::max<int64_t>(4, static_cast<int64_t>((64 << 10) / std::max<size_t>(w.row_bytes, 1)));
  for (int64_t s0 = r0; s0 < r1; s0 += slab) {
    const int64_t s1 = std::min(r1, s0 + slab);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) fused_rows_na<Block, 4>(w, s0, s1, x + i * xs, xs, y + i * ys, ys);
    switch (n - i) {
      case 3: fused_rows_na<Block, 3>(w, s0, s1, x + i * xs, xs, y + i * ys, ys); break;
      case 2: fused_rows_na<Block, 2>(w, s0, s1, x + i * xs, xs, y + i * ys, ys); break;
      case 1: fused_rows_na<Block, 1>(w, s0, s1, x + i * xs, xs, y + i * ys, ys); break;
      default: break;
    }
    if (tail)
      for (int64_t r = s0; r < s1; ++r)
        add_bf16_tail(w.data + static_cast<size_t>(r) * w.row_bytes, blocks * kQuantBlock, w.cols, x, n, xs, y + r, ys);
  }
}

template <class Block>
void dequantize_blocks(const uint8_t* src, int64_t blocks, float* dst) {
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* blk = src + b * Block::kBytes;
    const typename Block::Params p = Block::params(blk);
    for (int j = 0; j < Block::kCols / 8; ++j) _mm256_storeu_ps(dst + b * Block::kCols + 8 * j, Block::chunk(blk, j, p));
  }
}

// The encoders must produce the scalar encoder's bytes exactly (tests compare them): same
// operations in the same order, and blocks holding NaN or infinity go to the scalar code.
inline bool block_is_finite(const __m256 v[4]) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity()), sign = _mm256_set1_ps(-0.f);
  __m256 bad = _mm256_setzero_ps();
  for (int j = 0; j < 4; ++j) bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_andnot_ps(sign, v[j]), inf, _CMP_NLT_UQ));
  return _mm256_movemask_ps(bad) == 0;
}

inline float hmax(__m256 v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

inline float hmin(__m256 v) {
  __m128 h = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_min_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_min_ss(h, _mm_movehdup_ps(h)));
}

// q[j] = round_half_even(clamp(v[j], lo, hi)) packed to 32 bytes in element order.
inline __m256i round_pack(const __m256 v[4], float lo, float hi) {
  __m256i q[4];
  for (int j = 0; j < 4; ++j) {
    const __m256 c = _mm256_min_ps(_mm256_max_ps(v[j], _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
    q[j] = _mm256_cvtps_epi32(_mm256_round_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void quantize_q8_block(const float* x, uint8_t* blk) {
  __m256 v[4];
  for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(x + 8 * j);
  if (!block_is_finite(v)) return quantize_row_scalar(WeightFormat::kQ8, x, kQuantBlock, blk);
  const __m256 sign = _mm256_set1_ps(-0.f);
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < 4; ++j) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[j]));
  const uint16_t dh = f32_to_f16(std::min(hmax(m) / 127.f, 65504.f));
  const float d = _cvtsh_ss(dh);
  const __m256 inv = _mm256_set1_ps(d > 0.f ? 1.f / d : 0.f);
  std::memcpy(blk, &dh, 2);
  for (int j = 0; j < 4; ++j) v[j] = _mm256_mul_ps(v[j], inv);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(blk + 2), round_pack(v, -127.f, 127.f));
}

void quantize_q4_block(const float* x, uint8_t* blk) {
  __m256 v[8];
  for (int j = 0; j < 8; ++j) v[j] = _mm256_loadu_ps(x + 8 * j);
  if (!block_is_finite(v) || !block_is_finite(v + 4)) return quantize_row_scalar(WeightFormat::kQ4, x, kQ4Block, blk);
  __m256 vmin = v[0], vmax = v[0];
  for (int j = 1; j < 8; ++j) {
    vmin = _mm256_min_ps(vmin, v[j]);
    vmax = _mm256_max_ps(vmax, v[j]);
  }
  const float lo = hmin(vmin), hi = hmax(vmax);
  const uint16_t mh = f32_to_f16(std::clamp(lo, -65504.f, 65504.f));
  const float m = _cvtsh_ss(mh);
  const uint16_t dh = f32_to_f16(std::min(std::max(hi - m, 0.f) / 15.f, 65504.f));
  const float d = _cvtsh_ss(dh);
  const __m256 inv = _mm256_set1_ps(d > 0.f ? 1.f / d : 0.f), mv = _mm256_set1_ps(m);
  std::memcpy(blk, &dh, 2);
  std::memcpy(blk + 2, &mh, 2);
  for (int j = 0; j < 8; ++j) v[j] = _mm256_mul_ps(_mm256_sub_ps(v[j], mv), inv);
  const __m256i q0 = round_pack(v, 0.f, 15.f), q1 = round_pack(v + 4, 0.f, 15.f);  // q[0..31], q[32..63], each < 16
  // Each byte of q1 is < 16, so a 16-bit shift moves it into its own byte's high nibble.
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(blk + 4), _mm256_or_si256(q0, _mm256_slli_epi16(q1, 4)));
}

}  // namespace

void quantize_acts_avx2(const float* x, int64_t n, int64_t xs, int64_t cols, const ActBlocks& out) {
  const int64_t blocks = cols / kQ4Block;
  const __m256 sign = _mm256_set1_ps(-0.f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + i * xs + b * kQ4Block;
      __m256 v[8];
      for (int j = 0; j < 8; ++j) v[j] = _mm256_loadu_ps(xb + 8 * j);
      float d = std::numeric_limits<float>::quiet_NaN(), inv = 0.f;
      if (block_is_finite(v) && block_is_finite(v + 4)) {
        __m256 mx = _mm256_setzero_ps();
        for (int j = 0; j < 8; ++j) mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[j]));
        d = hmax(mx) / 127.f;
        inv = d > 0.f ? 1.f / d : 0.f;
      }
      __m256 sum = v[0];
      for (int j = 1; j < 8; ++j) sum = _mm256_add_ps(sum, v[j]);
      out.s[i * blocks + b] = hsum(sum);
      out.d[i * blocks + b] = d;
      out.ds[2 * (i * blocks + b)] = d;
      out.ds[2 * (i * blocks + b) + 1] = out.s[i * blocks + b];
      for (int j = 0; j < 8; ++j) v[j] = _mm256_mul_ps(v[j], _mm256_set1_ps(inv));
      if (inv == 0.f)
        for (int j = 0; j < 8; ++j) v[j] = _mm256_setzero_ps();  // inf * 0 would be NaN
      int8_t* q = out.q + i * cols + b * kQ4Block;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), round_pack(v, -127.f, 127.f));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32), round_pack(v + 4, -127.f, 127.f));
    }
  }
}

void dequantize_row_avx2(WeightFormat f, const uint8_t* src, int64_t cols, float* dst) {
  switch (f) {
    case WeightFormat::kQ8: dequantize_blocks<Q8Block>(src, cols / kQuantBlock, dst); return;
    case WeightFormat::kQ4: dequantize_blocks<Q4Block>(src, cols / kQ4Block, dst); return;
    case WeightFormat::kBF16: {
      const int64_t full = cols / kQuantBlock;
      dequantize_blocks<BF16Block>(src, full, dst);
      if (full * kQuantBlock < cols)
        dequantize_row_scalar(f, src + full * BF16Block::kBytes, cols - full * kQuantBlock, dst + full * kQuantBlock);
      return;
    }
    case WeightFormat::kF32: std::memcpy(dst, src, static_cast<size_t>(cols) * 4); return;
  }
}

void quantize_row_avx2(WeightFormat f, const float* src, int64_t cols, uint8_t* dst) {
  const int64_t blocks = cols / kQuantBlock;
  switch (f) {
    case WeightFormat::kQ8:
      for (int64_t b = 0; b < blocks; ++b) quantize_q8_block(src + b * kQuantBlock, dst + b * kQ8BlockBytes);
      return;
    case WeightFormat::kQ4:
      for (int64_t b = 0; b < cols / kQ4Block; ++b) quantize_q4_block(src + b * kQ4Block, dst + b * kQ4BlockBytes);
      return;
    default: quantize_row_scalar(f, src, cols, dst); return;
  }
}

void matmul_rows_fused_avx2(WeightFormat f, const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n,
                            int64_t xs, float* y, int64_t ys) {
  switch (f) {
    case WeightFormat::kQ8: fused_rows<Q8Block>(w, r0, r1, x, n, xs, y, ys); return;
    case WeightFormat::kQ4: break;  // served by q4_matmul_rows_i8_avx2
    case WeightFormat::kBF16: fused_rows<BF16Block>(w, r0, r1, x, n, xs, y, ys); return;
    case WeightFormat::kF32: break;
  }
  quant_matmul_rows_reference(f, w, r0, r1, x, n, xs, y, ys);
}

}  // namespace gs::runtime::quant_detail
