// AVX2 kernel of the sparse down projection for decode (matmul_transposed_rows with few
// activation rows): each active neuron's q4/q8 block is widened in registers and multiplied into
// the block's 64 (q8: 32) output accumulators, where the generic path widened rows into an f32
// tile and then added the tile into y row by row (two passes through memory; ~4 % of E2B decode).
#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/avx2_util.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"

namespace gs::runtime::quant_detail {
namespace {

using avx2::load_f16;

// The rows are scattered (one per active neuron), so the hardware prefetcher cannot see them
// coming: each block is requested this many rows ahead (its last byte: the first usually shares a
// line with the previous block, already loaded).
constexpr size_t kAhead = 8;

inline void prefetch_ahead(const WeightView& wt, std::span<const int32_t> rows, size_t k, int64_t cb,
                           size_t block_bytes) {
  if (k + kAhead < rows.size())
    _mm_prefetch(reinterpret_cast<const char*>(wt.data + static_cast<size_t>(rows[k + kAhead]) * wt.row_bytes +
                                               cb * block_bytes + block_bytes - 1),
                 _MM_HINT_T0);
}

// 16 unsigned bytes -> two vectors of 8 floats.
inline void u8x16_to_f32(__m128i b, __m256& f0, __m256& f1) {
  f0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
  f1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)));
}

// y[64] = sum_k h[k] · (d_k q_k + m_k) over the q4 block `cb` of each listed row.
void q4_block_column(const WeightView& wt, std::span<const int32_t> rows, const float* h, int64_t cb, float* y) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  float msum = 0.f;
  for (size_t k = 0; k < rows.size(); ++k) {
    prefetch_ahead(wt, rows, k, cb, kQ4BlockBytes);
    const float a = h[k];
    if (a == 0.f) continue;
    const uint8_t* blk = wt.data + static_cast<size_t>(rows[k]) * wt.row_bytes + cb * kQ4BlockBytes;
    const __m256 ad = _mm256_set1_ps(a * load_f16(blk));
    msum += a * load_f16(blk + 2);
    const __m256i qs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 4));
    const __m256i lo = _mm256_and_si256(qs, mask), hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), mask);
    __m256 f[8];  // columns 0-31 from the low nibbles, 32-63 from the high ones
    u8x16_to_f32(_mm256_castsi256_si128(lo), f[0], f[1]);
    u8x16_to_f32(_mm256_extracti128_si256(lo, 1), f[2], f[3]);
    u8x16_to_f32(_mm256_castsi256_si128(hi), f[4], f[5]);
    u8x16_to_f32(_mm256_extracti128_si256(hi, 1), f[6], f[7]);
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(ad, f[j], acc[j]);
  }
  const __m256 m = _mm256_set1_ps(msum);
  for (int j = 0; j < 8; ++j) _mm256_storeu_ps(y + 8 * j, _mm256_add_ps(acc[j], m));
}

// y[32] = sum_k h[k] · d_k q_k over the q8 block `cb` of each listed row.
void q8_block_column(const WeightView& wt, std::span<const int32_t> rows, const float* h, int64_t cb, float* y) {
  __m256 acc[4];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (size_t k = 0; k < rows.size(); ++k) {
    prefetch_ahead(wt, rows, k, cb, kQ8BlockBytes);
    const float a = h[k];
    if (a == 0.f) continue;
    const uint8_t* blk = wt.data + static_cast<size_t>(rows[k]) * wt.row_bytes + cb * kQ8BlockBytes;
    const __m256 ad = _mm256_set1_ps(a * load_f16(blk));
    for (int j = 0; j < 4; ++j) {
      __m128i b;
      std::memcpy(&b, blk + 2 + 8 * j, 8);
      acc[j] = _mm256_fmadd_ps(ad, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), acc[j]);
    }
  }
  for (int j = 0; j < 4; ++j) _mm256_storeu_ps(y + 8 * j, acc[j]);
}

}  // namespace

void transposed_rows_avx2(const WeightView& wt, std::span<const int32_t> rows, const float* h, int64_t c0, int64_t c1,
                          float* y) {
  const int64_t bc = block_cols(wt.format);
  for (int64_t c = c0; c < c1; c += bc) {
    if (wt.format == WeightFormat::kQ4) q4_block_column(wt, rows, h, c / bc, y + c);
    else q8_block_column(wt, rows, h, c / bc, y + c);
  }
}

}  // namespace gs::runtime::quant_detail
