#include "runtime/kernels/sparse_matmul.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/isa.h"
#include "runtime/kernels/ops.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"

namespace gs::runtime {

void weight_row_segment_to_f32(const WeightView& w, int64_t r, int64_t c0, int64_t len, float* dst) {
  if (w.interleave != 1) {  // not contiguous: the whole row, then the segment
    thread_local std::vector<float> full;
    full.resize(static_cast<size_t>(w.cols));
    weight_row_to_f32(w, r, full.data());
    std::copy_n(full.data() + c0, len, dst);
    return;
  }
  const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes;
  switch (w.format) {
    case WeightFormat::kF32: std::memcpy(dst, row + c0 * 4, static_cast<size_t>(len) * 4); return;
    case WeightFormat::kBF16: dequantize_row(w.format, row + c0 * 2, len, dst); return;
    default: dequantize_row(w.format, row + quant_row_bytes(w.format, c0), len, dst); return;
  }
}

namespace {

// Rows [k0, k1) of the gather on one thread.
// `acts`: the activations already quantized (uses_int8_acts on AVX2), else null.
void gather_range(const WeightView& w, std::span<const int32_t> rows, int64_t k0, int64_t k1, const float* x,
                  int64_t n, int64_t xs, float* y, int64_t ys, const quant_detail::ActBlocks* acts) {
  // Interleaved kQ4 rows are not contiguous (the loader keeps gathered weights plain): they
  // take the widened-tile path.
  const bool plain = w.interleave == 1;
  if (acts && plain && w.format == WeightFormat::kQ4)
    return quant_detail::q4_gather_rows_i8_avx2(w, rows, k0, k1, *acts, n, y, ys);
  if (acts && plain) {
    for (int64_t k = k0; k < k1; ++k) quant_detail::int8_matmul_rows_avx2(w.row(rows[k]), 0, 1, *acts, n, y + k, ys);
    return;
  }
  if (w.format == WeightFormat::kF32 || n > quant_detail::kFusedMaxN || !plain) {
    // Widen the selected rows into a dense tile and multiply once.
    thread_local std::vector<float> tile;
    tile.resize(static_cast<size_t>((k1 - k0) * w.cols));
    for (int64_t k = k0; k < k1; ++k) weight_row_to_f32(w, rows[k], tile.data() + (k - k0) * w.cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(k1 - k0),
                static_cast<int>(w.cols), 1.f, x, static_cast<int>(xs), tile.data(), static_cast<int>(w.cols), 0.f,
                y + k0, static_cast<int>(ys));
    return;
  }
  for (int64_t k = k0; k < k1; ++k) quant_matmul_rows(w.format, w.row(rows[k]), 0, 1, x, n, xs, y + k, ys);
}

// Output columns [c0, c1) of the transposed product on one thread.
void transposed_range(const WeightView& wt, std::span<const int32_t> rows, int64_t c0, int64_t c1, const float* h,
                      int64_t n, int64_t hs, float* y, int64_t ys) {
  const int64_t len = c1 - c0, K = static_cast<int64_t>(rows.size());
  if (n <= 4 && (wt.format == WeightFormat::kQ4 || wt.format == WeightFormat::kQ8) && wt.interleave == 1 &&
      has_avx2_fma_f16c()) {
    if (n == 1) return quant_detail::transposed_rows_avx2(wt, rows, h, c0, c1, y);
    // Several rows (batched decode): rows holds the union of their active neurons, of which
    // each activation row uses ~1/n. Listing each row's own neurons keeps the kernel's prefetch
    // on blocks it will read (E4B shapes, 3107-neuron union, one core: 4 rows 0.76 -> 0.50 ms,
    // 2 rows 0.39 -> 0.22 ms). Same neurons in the same order: the same sums.
    thread_local std::vector<int32_t> own_rows;
    thread_local std::vector<float> own_h;
    for (int64_t i = 0; i < n; ++i) {
      own_rows.clear();
      own_h.clear();
      for (int64_t k = 0; k < K; ++k)
        if (h[i * hs + k] != 0.f) {
          own_rows.push_back(rows[k]);
          own_h.push_back(h[i * hs + k]);
        }
      quant_detail::transposed_rows_avx2(wt, own_rows, own_h.data(), c0, c1, y + i * ys);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::fill(y + i * ys + c0, y + i * ys + c1, 0.f);
  // Tiles of kt rows widened to f32; small n: one axpy per (row, activation) pair, large n: sgemm
  // (deep tiles: fewer partial sums through y, closer to the dense product's rounding).
  const int64_t kt = n <= 4 ? 64 : 256;
  thread_local std::vector<float> tile;
  tile.resize(static_cast<size_t>(kt * len));
  for (int64_t k0 = 0; k0 < K; k0 += kt) {
    const int64_t k1 = std::min(K, k0 + kt);
    for (int64_t k = k0; k < k1; ++k) weight_row_segment_to_f32(wt, rows[k], c0, len, tile.data() + (k - k0) * len);
    if (n <= 4) {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = k0; k < k1; ++k) {
          const float a = h[i * hs + k];
          if (a != 0.f) ops::axpy(a, tile.data() + (k - k0) * len, y + i * ys + c0, len);
        }
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(len),
                  static_cast<int>(k1 - k0), 1.f, h + k0, static_cast<int>(hs), tile.data(), static_cast<int>(len), 1.f,
                  y + c0, static_cast<int>(ys));
    }
  }
}

}  // namespace

void matmul_gather_rows(const ComputeContext& ctx, const WeightView& w, std::span<const int32_t> rows, const float* x,
                        int64_t n, int64_t x_stride, float* y, int64_t y_stride) {
  const auto K = static_cast<int64_t>(rows.size());
  if (n <= 0 || K == 0) return;
  ctx.count_weight_bytes(w.used_row_bytes() * static_cast<uint64_t>(K));
  const int64_t grain = std::max<int64_t>(8, K / (ctx.num_threads() * 4));
  if (quant_detail::uses_int8_acts(w.format, w.cols, n) && has_avx2_fma_f16c()) {
    // Quantize the activations once for all tasks (per task it would be redone for every range).
    const quant_detail::ActBlocks acts = quant_detail::quantize_acts_shared(ctx, x, n, x_stride, w.cols);
    ctx.parallel_for(K, grain, [&](int64_t k0, int64_t k1) { gather_range(w, rows, k0, k1, x, n, x_stride, y, y_stride, &acts); });
    return;
  }
  ctx.parallel_for(K, grain, [&](int64_t k0, int64_t k1) { gather_range(w, rows, k0, k1, x, n, x_stride, y, y_stride, nullptr); });
}

void matmul_transposed_rows(const ComputeContext& ctx, const WeightView& wt, std::span<const int32_t> rows,
                            const float* h, int64_t n, int64_t h_stride, float* y, int64_t y_stride) {
  if (n <= 0) return;
  ctx.count_weight_bytes(wt.used_row_bytes() * rows.size());
  // Column tasks in units of 64 (a whole block of every format); each task reads its slice of
  // every row.
  constexpr int64_t kUnit = 64;
  static_assert(kUnit % kQ4Block == 0 && kUnit % kQuantBlock == 0);
  const int64_t units = (wt.cols + kUnit - 1) / kUnit;
  const int64_t grain = std::max<int64_t>(2, units / (ctx.num_threads() * 2));
  ctx.parallel_for(units, grain, [&](int64_t u0, int64_t u1) {
    transposed_range(wt, rows, u0 * kUnit, std::min(wt.cols, u1 * kUnit), h, n, h_stride, y, y_stride);
  });
}

void matmul_gather_rows_reference(const WeightView& w, std::span<const int32_t> rows, const float* x, int64_t n,
                                  int64_t x_stride, float* y, int64_t y_stride) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (size_t k = 0; k < rows.size(); ++k) {
    weight_row_to_f32(w, rows[k], row.data());
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(x[i * x_stride + c]) * row[c];
      y[i * y_stride + static_cast<int64_t>(k)] = static_cast<float>(acc);
    }
  }
}

void matmul_transposed_rows_reference(const WeightView& wt, std::span<const int32_t> rows, const float* h, int64_t n,
                                      int64_t h_stride, float* y, int64_t y_stride) {
  std::vector<double> acc(static_cast<size_t>(wt.cols));
  std::vector<float> row(static_cast<size_t>(wt.cols));
  for (int64_t i = 0; i < n; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t k = 0; k < rows.size(); ++k) {
      weight_row_to_f32(wt, rows[k], row.data());
      const double a = h[i * h_stride + static_cast<int64_t>(k)];
      for (int64_t c = 0; c < wt.cols; ++c) acc[c] += a * row[c];
    }
    for (int64_t c = 0; c < wt.cols; ++c) y[i * y_stride + c] = static_cast<float>(acc[c]);
  }
}

}  // namespace gs::runtime
