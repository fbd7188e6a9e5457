// AVX2 kernel for interleaved kQ4 weights (groups of 8 rows, q4_interleave.h) times int8
// activations (ActBlocks), any number of activation rows. Only called after has_avx2_fma_f16c().
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/q4_interleave.h"
#include "runtime/kernels/quant_kernels.h"

namespace gs::runtime::quant_detail {
namespace {

// One group of 8 weight rows against NA (1-4) activation rows: out[i * 8 + k] = row k · act i.
// Per 32-byte chunk j of a block: & 0xF and >> 4 give elements 4j..4j+3 and 32+4j..32+4j+3 of
// all eight rows (4 bytes per lane); the activation's matching 4 bytes are broadcast to every
// lane (vpbroadcastd from memory), so vpmaddubsw leaves each row's partial dot in its own lane.
// Four chunks' 16-bit sums (at most 8 · 2 · 15 · 127 = 30480 < 2^15: no saturation) go through one
// vpmaddwd; a block's two halves add in 32 bits, then one convert and one FMA per activation row
// apply [d_w0..7] · d_x, and one FMA adds the minimum term [m_w0..7] · sum(x_block). Measured per
// 8-row block unit from L3, one core: 25 cycles for one activation row, 83 for four; the four-row
// unit's 72 vpmaddubsw/vpmaddwd appear to issue about one per cycle here.
template <int NA, bool kPrefetch>
void q4x8_group(const uint8_t* group, int64_t blocks, const ActBlocks& a, int64_t cols, float* out) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t ablocks = cols / kQ4Block;
  // One accumulator per activation row takes both the scaled dot and the minimum term: four
  // fewer live vectors in the 4-row code, which has ~20 with separate minimum accumulators
  // against 16 ymm registers (measured 85-88 -> 83 cycles per 8-row block unit from L3).
  __m256 acc[NA];
  for (int i = 0; i < NA; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* unit = group + b * kQ4GroupBlockBytes;
    // Batched decode (one pass, 2-4 rows): the units are requested 16 ahead (4.6 KB). With
    // long rows the rows' activations (4 x 8192 bytes) no longer stay in L1 next to the weight
    // stream, and the hardware prefetcher fell behind: measured on one core, weights from DRAM,
    // 4 rows x 8192 columns 6.7 -> 11.0 GB/s (2048 columns: 8.1 -> 10.3). One row keeps pace
    // without it and lost speed with it (29 -> 22 GB/s), so it is left out there. Prefill is
    // left out too: its slabs are reread from cache (pp512 123 with it, 126 without, within this
    // machine's noise). A prefetch past the end is only a hint: it never faults.
    if constexpr (kPrefetch && NA >= 2)
      for (size_t line = 0; line < kQ4GroupBlockBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(unit + 16 * kQ4GroupBlockBytes + line), _MM_HINT_T0);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(unit)));
    const __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + 16)));
    __m256i dot[NA];
    for (int h = 0; h < 2; ++h) {
      __m256i s16[NA];
      for (int jj = 0; jj < 4; ++jj) {
        const int j = 4 * h + jj;
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 32 + 32 * j));
        const __m256i lo = _mm256_and_si256(w, mask), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask);
        for (int i = 0; i < NA; ++i) {
          const int8_t* qx = a.q + i * cols + b * kQ4Block + 4 * j;
          int xl, xh;
          std::memcpy(&xl, qx, 4);
          std::memcpy(&xh, qx + 32, 4);
          const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(xl)),
                                             _mm256_maddubs_epi16(hi, _mm256_set1_epi32(xh)));
          s16[i] = jj == 0 ? p : _mm256_add_epi16(s16[i], p);
        }
      }
      for (int i = 0; i < NA; ++i) {
        const __m256i m = _mm256_madd_epi16(s16[i], ones);
        dot[i] = h == 0 ? m : _mm256_add_epi32(dot[i], m);
      }
    }
    for (int i = 0; i < NA; ++i) {
      const __m256 sc = _mm256_mul_ps(dw, _mm256_broadcast_ss(a.d + i * ablocks + b));
      acc[i] = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(dot[i]), acc[i]);
      acc[i] = _mm256_fmadd_ps(mw, _mm256_broadcast_ss(a.s + i * ablocks + b), acc[i]);
    }
  }
  for (int i = 0; i < NA; ++i) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

// `decode`: one pass over the weights (n <= 4), which prefetches; prefill rereads slabs.
void q4x8_group_any(const uint8_t* group, int64_t blocks, const ActBlocks& a, int64_t cols, int64_t na, bool decode,
                    float* out) {
  switch (na) {
    case 4:
      return decode ? q4x8_group<4, true>(group, blocks, a, cols, out) : q4x8_group<4, false>(group, blocks, a, cols, out);
    case 3:
      return decode ? q4x8_group<3, true>(group, blocks, a, cols, out) : q4x8_group<3, false>(group, blocks, a, cols, out);
    case 2:
      return decode ? q4x8_group<2, true>(group, blocks, a, cols, out) : q4x8_group<2, false>(group, blocks, a, cols, out);
    default: return q4x8_group<1, false>(group, blocks, a, cols, out);
  }
}

}  // namespace

void q4x8_matmul_rows_i8_avx2(const WeightView& w, int64_t r0, int64_t r1, const ActBlocks& a, int64_t n, float* y,
                              int64_t ys) {
  const int64_t blocks = w.cols / kQ4Block;
  const size_t group_bytes = kQ4RowGroup * w.row_bytes;
  // Slabs of groups stay in L1/L2 while every set of up to 4 activation rows passes over them
  // (prefill); decode (n <= 4) makes one pass.
  const int64_t slab = std::max<int64_t>(1, static_cast<int64_t>((64 << 10) / std::max<size_t>(group_bytes, 1)));
  const int64_t g_end = (r1 + kQ4RowGroup - 1) / kQ4RowGroup;
  for (int64_t s0 = r0 / kQ4RowGroup; s0 < g_end; s0 += slab) {
    const int64_t s1 = std::min(g_end, s0 + slab);
    for (int64_t i = 0; i < n; i += 4) {
      const int64_t na = std::min<int64_t>(4, n - i);
      const ActBlocks ai = a.from_row(i, w.cols);
      for (int64_t g = s0; g < s1; ++g) {
        alignas(32) float out[4 * kQ4RowGroup];
        q4x8_group_any(w.data + static_cast<size_t>(g) * group_bytes, blocks, ai, w.cols, na, n <= 4, out);
        // A task's range may start or end inside a group: the group is computed whole, only
        // the task's rows are written.
        const int64_t lo = std::max(r0, g * kQ4RowGroup), hi = std::min(r1, (g + 1) * kQ4RowGroup);
        for (int64_t k = 0; k < na; ++k)
          std::memcpy(y + (i + k) * ys + lo, out + k * kQ4RowGroup + (lo - g * kQ4RowGroup),
                      static_cast<size_t>(hi - lo) * sizeof(float));
      }
    }
  }
}

}  // namespace gs::runtime::quant_detail
