// AVX2 + FMA + F16C kernels for the formats of quant.h. Only called after has_avx2_fma_f16c().
// Activations stay f32: each weight block is widened to 4 x 8 floats once and reused for every
// activation row from registers, so decode (n = 1) streams the weights at memory speed.
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

// kQ4 weights times int8 activations: one 32-byte load holds a block's 64 nibbles; & 0xF gives
// elements 0-31 and >> 4 elements 32-63 as unsigned bytes. vpmaddubsw (u8 x s8 -> s16 pairs, at
// most 2·15·127 = 3810) on each half, one 16-bit add of the halves (at most 7620: no saturation)
// and vpmaddwd give the exact integer block dot in 8 lanes; one FMA applies d_w·d_x (activation
// blocks are 64 wide, so the halves share a scale). The minimum adds m_w · sum(x_block). 9 vector
// uops per block and activation row where widening to f32 takes 16.
// One weight row against NA activation rows, blocks in U interleaved accumulator sets: NA·U
// independent FMA chains hide the 4-cycle FMA latency. With one chain (decode: n = 1) the loop
// ran at latency speed, ~15 GB/s of weights per core. The row is still read as one sequential
// stream (several rows at once, 1280-byte streams each, defeat the hardware prefetcher: measured
// 4.8 GB/s out of cache against 11.5 for one stream).
template <int NA, int U>
void q4_dot_i8(const uint8_t* row, int64_t blocks, const ActBlocks& a, int64_t cols, float* y, int64_t ys) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[U][NA];
  float macc[U][NA];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < NA; ++i) {
      acc[u][i] = _mm256_setzero_ps();
      macc[u][i] = 0.f;
    }
  auto step = [&](int64_t b, __m256* accu, float* maccu) {
    const uint8_t* blk = row + b * kQ4BlockBytes;
    const float d = load_f16(blk), m = load_f16(blk + 2);
    const __m256i qs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 4));
    const __m256i lo = _mm256_and_si256(qs, mask), hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), mask);
    for (int i = 0; i < NA; ++i) {
      const int8_t* qx = a.q + i * cols + b * kQ4Block;
      const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx)));
      const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + 32)));
      const __m256i dot = _mm256_madd_epi16(_mm256_add_epi16(plo, phi), ones);
      accu[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * a.d[i * blocks + b]), _mm256_cvtepi32_ps(dot), accu[i]);
      maccu[i] += m * a.s[i * blocks + b];
    }
  };
  int64_t b = 0;
  for (; b + U <= blocks; b += U)
    for (int u = 0; u < U; ++u) step(b + u, acc[u], macc[u]);
  for (; b < blocks; ++b) step(b, acc[0], macc[0]);
  for (int i = 0; i < NA; ++i) {
    __m256 t = acc[0][i];
    float mt = macc[0][i];
    for (int u = 1; u < U; ++u) {
      t = _mm256_add_ps(t, acc[u][i]);
      mt += macc[u][i];
    }
    y[i * ys] = hsum(t) + mt;
  }
}

// q4_dot_i8 for one activation row (decode), U blocks in flight. A block's f16 (d_w, m_w) pair
// is widened with one convert and multiplied by the activation block's (d_x, s_x) pair (one
// 64-bit load from a.ds) in one go: lane 0 scales the integer dot, lane 1 is the minimum term,
// summed in a vector. q4_dot_i8 spends two scalar converts, a scalar multiply and a scalar FMA
// there; this loop streamed weights from DRAM at 24 GB/s per core instead of 19.
template <int U>
float q4_dot_i8_row(const uint8_t* row, int64_t blocks, const ActBlocks& a) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[U];
  __m128 macc = _mm_setzero_ps();
  for (int u = 0; u < U; ++u) acc[u] = _mm256_setzero_ps();
  auto step = [&](int64_t b, __m256& accu) {
    const uint8_t* blk = row + b * kQ4BlockBytes;
    int dm_bits;
    std::memcpy(&dm_bits, blk, 4);
    const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128(dm_bits));  // [d_w, m_w, 0, 0]
    const __m128 ds = _mm_mul_ps(dm, _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(a.ds + 2 * b))));
    const __m256i qs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 4));
    const __m256i lo = _mm256_and_si256(qs, mask), hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), mask);
    const int8_t* qx = a.q + b * kQ4Block;
    const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx)));
    const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + 32)));
    const __m256i dot = _mm256_madd_epi16(_mm256_add_epi16(plo, phi), ones);
    accu = _mm256_fmadd_ps(_mm256_broadcastss_ps(ds), _mm256_cvtepi32_ps(dot), accu);
    macc = _mm_add_ps(macc, ds);
  };
  int64_t b = 0;
  for (; b + U <= blocks; b += U)
    for (int u = 0; u < U; ++u) step(b + u, acc[u]);
  for (; b < blocks; ++b) step(b, acc[0]);
  __m256 t = acc[0];
  for (int u = 1; u < U; ++u) t = _mm256_add_ps(t, acc[u]);
  return hsum(t) + _mm_cvtss_f32(_mm_movehdup_ps(macc));
}

// One weight row against four activation rows, batched decode. The rows' integer block dots
// (8 lanes each) are folded into one vector holding every row's partial sums in lanes i and
// i + 4 (unpack/add, shuffle pipes), so one convert and one FMA with the block's scales for all
// rows ([d_w·d_x0..3] twice) replace one convert, scalar multiply, broadcast, FMA and scalar
// minimum FMA per row; the minimum terms of all rows take one 128-bit FMA. d4/s4: the rows'
// activation scales and sums block-major (4 per block). Measured on one core, weights from DRAM:
// 2048 columns 8.6 -> 10.2 GB/s, 8192 columns 5.5 -> 6.0; E2B 4-stream decode 45.6 -> 48.7
// tok/s. With 2 or 3 rows (zero lanes) it lost to q4_dot_i8 (-11 %, -2 %).
void q4_dot_i8_rows4(const uint8_t* row, int64_t blocks, const ActBlocks& a, int64_t cols, const float* d4,
                     const float* s4, float* y, int64_t ys) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  __m128 macc = _mm_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + b * kQ4BlockBytes;
    int dm_bits;
    std::memcpy(&dm_bits, blk, 4);
    const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128(dm_bits));  // [d_w, m_w, 0, 0]
    const __m256i qs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 4));
    const __m256i lo = _mm256_and_si256(qs, mask), hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), mask);
    __m256i p[4];
    for (int i = 0; i < 4; ++i) {
      const int8_t* qx = a.q + i * cols + b * kQ4Block;
      const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx)));
      const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + 32)));
      p[i] = _mm256_madd_epi16(_mm256_add_epi16(plo, phi), ones);
    }
    // Per 128-bit half: [p0 p1 p2 p3 partial sums].
    const __m256i t01 = _mm256_add_epi32(_mm256_unpacklo_epi32(p[0], p[1]), _mm256_unpackhi_epi32(p[0], p[1]));
    const __m256i t23 = _mm256_add_epi32(_mm256_unpacklo_epi32(p[2], p[3]), _mm256_unpackhi_epi32(p[2], p[3]));
    const __m256i r = _mm256_add_epi32(_mm256_unpacklo_epi64(t01, t23), _mm256_unpackhi_epi64(t01, t23));
    const __m256 sc = _mm256_mul_ps(_mm256_broadcastss_ps(dm), _mm256_broadcast_ps(reinterpret_cast<const __m128*>(d4 + 4 * b)));
    acc[b & 1] = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(r), acc[b & 1]);
    macc = _mm_fmadd_ps(_mm_shuffle_ps(dm, dm, 0x55), _mm_loadu_ps(s4 + 4 * b), macc);
  }
  const __m256 t = _mm256_add_ps(acc[0], acc[1]);
  alignas(16) float out[4];
  _mm_store_ps(out, _mm_add_ps(_mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)), macc));
  for (int i = 0; i < 4; ++i) y[i * ys] = out[i];
}

// kQ8 weights times int8 activations, one weight row against NA activation rows. vpmaddubsw
// wants one unsigned operand: |w| against x carrying w's sign (vpsignb; w in [-127, 127], so
// pairs stay within 2·127·127 < 2^15). Then vpmaddwd, and one FMA applies d_w·d_x. 7 vector uops
// per block and row where widening to f32 takes 16 (q8 decode was compute-bound on 2 cores).
template <int NA, int U>
void q8_dot_i8(const uint8_t* row, int64_t blocks, const ActBlocks& a, int64_t cols, float* y, int64_t ys) {
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t ablocks = cols / kQ4Block;
  __m256 acc[U][NA];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < NA; ++i) acc[u][i] = _mm256_setzero_ps();
  auto step = [&](int64_t b, __m256* accu) {
    const uint8_t* blk = row + b * kQ8BlockBytes;
    const float d = load_f16(blk);
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    const __m256i aw = _mm256_sign_epi8(w, w);
    for (int i = 0; i < NA; ++i) {
      const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + i * cols + b * kQuantBlock));
      const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(qx, w)), ones);
      accu[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * a.d[i * ablocks + b / 2]), _mm256_cvtepi32_ps(dot), accu[i]);
    }
  };
  int64_t b = 0;
  for (; b + U <= blocks; b += U)
    for (int u = 0; u < U; ++u) step(b + u, acc[u]);
  for (; b < blocks; ++b) step(b, acc[0]);
  for (int i = 0; i < NA; ++i) {
    __m256 t = acc[0][i];
    for (int u = 1; u < U; ++u) t = _mm256_add_ps(t, acc[u][i]);
    y[i * ys] = hsum(t);
  }
}

// m_w · sum(x_block) summed over the blocks of one row: a plain dot of two float arrays.
inline float min_term(const float* mw, const float* s, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(mw + b), _mm256_loadu_ps(s + b), acc);
  float t = hsum(acc);
  for (; b < blocks; ++b) t += mw[b] * s[b];
  return t;
}

// q4_dot_i8 for several activation rows with the row's block scales already widened to f32
// (dw, mw: one per block, from the slab table). Per group of 8 blocks, one vector multiply gives
// the 8 products d_w·d_x of an activation row and each block takes its lane with one permute,
// where q4_dot_i8 spends a scalar multiply, a broadcast and a scalar FMA (the minimum term) per
// block and row; the minimum term becomes one float dot per row (min_term). 7 vector uops per
// block and row instead of 9, for prefill, which is compute-bound (q4_matmul_rows_i8_avx2 says
// why batched decode keeps q4_dot_i8).
template <int NA>
void q4_dot_i8_tabled(const uint8_t* row, const float* dw, const float* mw, int64_t blocks, const ActBlocks& a,
                      int64_t cols, float* y, int64_t ys) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[NA];
  for (int i = 0; i < NA; ++i) acc[i] = _mm256_setzero_ps();
  auto block_dot = [&](int64_t b, int i, __m256i lo, __m256i hi) {
    const int8_t* qx = a.q + i * cols + b * kQ4Block;
    const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx)));
    const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + 32)));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_add_epi16(plo, phi), ones));
  };
  auto nibbles = [&](int64_t b, __m256i& lo, __m256i& hi) {
    const __m256i qs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * kQ4BlockBytes + 4));
    lo = _mm256_and_si256(qs, mask);
    hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), mask);
  };
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    __m256 sv[NA];
    const __m256 dv = _mm256_loadu_ps(dw + b);
    for (int i = 0; i < NA; ++i) sv[i] = _mm256_mul_ps(dv, _mm256_loadu_ps(a.d + i * blocks + b));
    for (int k = 0; k < 8; ++k) {
      __m256i lo, hi;
      nibbles(b + k, lo, hi);
      const __m256i lane = _mm256_set1_epi32(k);
      for (int i = 0; i < NA; ++i)
        acc[i] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(sv[i], lane), block_dot(b + k, i, lo, hi), acc[i]);
    }
  }
  for (; b < blocks; ++b) {
    __m256i lo, hi;
    nibbles(b, lo, hi);
    for (int i = 0; i < NA; ++i)
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(dw[b] * a.d[i * blocks + b]), block_dot(b, i, lo, hi), acc[i]);
  }
  for (int i = 0; i < NA; ++i) y[i * ys] = hsum(acc[i]) + min_term(mw, a.s + i * blocks, blocks);
}

// Rows [r, r1) against activation rows [0, na) of `a`. `dw`, `mw`: the f32 block scales of row
// r onwards (blocks per row), or null: then the scales are read in passing (q4_dot_i8).
// Without tables (dw null), four rows go through q4_dot_i8_rows4 with d4/s4 (block-major
// activation scales of these rows).
void q4_rows_pass(const WeightView& w, int64_t r, int64_t r1, const ActBlocks& a, int64_t na, float* y, int64_t ys,
                  const float* dw, const float* mw, const float* d4, const float* s4) {
  const int64_t blocks = w.cols / kQ4Block;
  for (int64_t k = 0; r < r1; ++r, ++k) {
    const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes;
    float* yr = y + r;
    if (dw && na > 1) {
      const float* d = dw + k * blocks;
      const float* m = mw + k * blocks;
      switch (na) {
        case 4: q4_dot_i8_tabled<4>(row, d, m, blocks, a, w.cols, yr, ys); break;
        case 3: q4_dot_i8_tabled<3>(row, d, m, blocks, a, w.cols, yr, ys); break;
        default: q4_dot_i8_tabled<2>(row, d, m, blocks, a, w.cols, yr, ys); break;
      }
      continue;
    }
    switch (na) {
      case 4: q4_dot_i8_rows4(row, blocks, a, w.cols, d4, s4, yr, ys); break;
      case 3: q4_dot_i8<3, 1>(row, blocks, a, w.cols, yr, ys); break;
      case 2: q4_dot_i8<2, 2>(row, blocks, a, w.cols, yr, ys); break;  // rows4 measured 11 % slower here
      default: *yr = q4_dot_i8_row<4>(row, blocks, a); break;
    }
  }
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

void q4_matmul_rows_i8_avx2(const WeightView& w, int64_t r0, int64_t r1, const ActBlocks& a, int64_t n, float* y,
                            int64_t ys) {
  const int64_t blocks = w.cols / kQ4Block;  // activation blocks per row
  // Slabs of rows stay in L1/L2 while every group of up to 4 activation rows passes over them.
  // When two or more groups pass (prefill), the slab's block scales are first widened to f32
  // (thread_local table, grows only) and shared by all of them. Measured on E2B: pp512 49.4 ->
  // 56.3 tok/s; with a single group (4 streams decoding) filling the table cost more than it
  // saved (44.6 -> 36.5 tok/s), so that case keeps reading the scales in passing.
  const int64_t slab = std::max<int64_t>(4, static_cast<int64_t>((64 << 10) / std::max<size_t>(w.row_bytes, 1)));
  const bool tabled = n > 4;
  thread_local std::vector<float> table;
  if (tabled && table.size() < static_cast<size_t>(2 * slab * blocks)) table.resize(static_cast<size_t>(2 * slab * blocks));
  float* dw = tabled ? table.data() : nullptr;
  float* mw = tabled ? dw + slab * blocks : nullptr;
  // Batched decode (one group of 4 rows): the rows' scales block-major for q4_dot_i8_rows4.
  thread_local std::vector<float> scales4;
  float *d4 = nullptr, *s4 = nullptr;
  if (n == 4) {
    if (scales4.size() < static_cast<size_t>(8 * blocks)) scales4.resize(static_cast<size_t>(8 * blocks));
    d4 = scales4.data();
    s4 = d4 + 4 * blocks;
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t i = 0; i < 4; ++i) {
        d4[4 * b + i] = a.d[i * blocks + b];
        s4[4 * b + i] = a.s[i * blocks + b];
      }
  }
  for (int64_t s0 = r0; s0 < r1; s0 += slab) {
    const int64_t s1 = std::min(r1, s0 + slab);
    if (tabled)
      for (int64_t r = s0; r < s1; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes;
        for (int64_t b = 0; b < blocks; ++b) {
          dw[(r - s0) * blocks + b] = load_f16(row + b * kQ4BlockBytes);
          mw[(r - s0) * blocks + b] = load_f16(row + b * kQ4BlockBytes + 2);
        }
      }
    for (int64_t i = 0; i < n; i += 4) {
      const ActBlocks ai = a.from_row(i, w.cols);
      q4_rows_pass(w, s0, s1, ai, std::min<int64_t>(4, n - i), y + i * ys, ys, dw, mw, d4, s4);
    }
  }
}

void q8_matmul_rows_i8_avx2(const WeightView& w, int64_t r0, int64_t r1, const ActBlocks& a, int64_t n, float* y,
                            int64_t ys) {
  const int64_t blocks = w.cols / kQuantBlock;
  const int64_t slab = std::max<int64_t>(4, static_cast<int64_t>((64 << 10) / std::max<size_t>(w.row_bytes, 1)));
  for (int64_t s0 = r0; s0 < r1; s0 += slab) {
    const int64_t s1 = std::min(r1, s0 + slab);
    for (int64_t i = 0; i < n; i += 4) {
      const ActBlocks ai = a.from_row(i, w.cols);
      for (int64_t r = s0; r < s1; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes;
        float* yr = y + i * ys + r;
        switch (std::min<int64_t>(4, n - i)) {
          case 4: q8_dot_i8<4, 1>(row, blocks, ai, w.cols, yr, ys); break;
          case 3: q8_dot_i8<3, 1>(row, blocks, ai, w.cols, yr, ys); break;
          case 2: q8_dot_i8<2, 2>(row, blocks, ai, w.cols, yr, ys); break;
          default: q8_dot_i8<1, 4>(row, blocks, ai, w.cols, yr, ys); break;
        }
      }
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
