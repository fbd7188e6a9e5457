// AVX2 int8 matmul kernels: kQ4 and kQ8 weights times int8-quantized activations (ActBlocks),
// for decode (one to four activation rows) and prefill (slabs of rows shared by groups of four).
// Only called after has_avx2_fma_f16c().
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/avx2_util.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"

namespace gs::runtime::quant_detail {
namespace {

using avx2::hsum;
using avx2::load_f16;

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
// block and row instead of 9, for prefill, which is compute-bound (batched decode reads the
// scales in passing: q4_matmul_rows_i8_avx2 says why).
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

// One weight row against na (1-4) activation rows, without scale tables; d4/s4 (fill_scales4)
// only when the activations are exactly these 4 rows, else null.
void q4_one_row(const uint8_t* row, int64_t blocks, const ActBlocks& a, int64_t cols, int64_t na, float* yr,
                int64_t ys, const float* d4, const float* s4) {
  switch (na) {
    case 4:
      if (d4) q4_dot_i8_rows4(row, blocks, a, cols, d4, s4, yr, ys);
      else q4_dot_i8<4, 1>(row, blocks, a, cols, yr, ys);
      break;
    case 3: q4_dot_i8<3, 1>(row, blocks, a, cols, yr, ys); break;
    case 2: q4_dot_i8<2, 2>(row, blocks, a, cols, yr, ys); break;  // rows4 measured 11 % slower here
    default: *yr = q4_dot_i8_row<4>(row, blocks, a); break;
  }
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
    q4_one_row(row, blocks, a, w.cols, na, yr, ys, d4, s4);
  }
}

// The rows' activation scales and sums block-major (4 per block) for q4_dot_i8_rows4, in
// thread_local scratch (grows only).
void fill_scales4(const ActBlocks& a, int64_t blocks, float** d4, float** s4) {
  thread_local std::vector<float> scales4;
  if (scales4.size() < static_cast<size_t>(8 * blocks)) scales4.resize(static_cast<size_t>(8 * blocks));
  *d4 = scales4.data();
  *s4 = *d4 + 4 * blocks;
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t i = 0; i < 4; ++i) {
      (*d4)[4 * b + i] = a.d[i * blocks + b];
      (*s4)[4 * b + i] = a.s[i * blocks + b];
    }
}

}  // namespace

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
  float *d4 = nullptr, *s4 = nullptr;
  if (n == 4) fill_scales4(a, blocks, &d4, &s4);
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

void q4_gather_rows_i8_avx2(const WeightView& w, std::span<const int32_t> rows, int64_t k0, int64_t k1,
                            const ActBlocks& a, int64_t n, float* y, int64_t ys) {
  const int64_t blocks = w.cols / kQ4Block;
  float *d4 = nullptr, *s4 = nullptr;
  if (n == 4) fill_scales4(a, blocks, &d4, &s4);  // once per task, not once per row
  for (int64_t i = 0; i < n; i += 4) {
    const ActBlocks ai = a.from_row(i, w.cols);
    const int64_t na = std::min<int64_t>(4, n - i);
    for (int64_t k = k0; k < k1; ++k)
      q4_one_row(w.data + static_cast<size_t>(rows[k]) * w.row_bytes, blocks, ai, w.cols, na, y + i * ys + k, ys, d4, s4);
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

}  // namespace gs::runtime::quant_detail
