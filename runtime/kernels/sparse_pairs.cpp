#include "runtime/kernels/sparse_pairs.h"

#include <algorithm>
#include <vector>

#include "runtime/kernels/isa.h"
#include "runtime/kernels/ops.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"
#include "runtime/kernels/sparse_matmul.h"

namespace gs::runtime {

NeuronTokens positive_pairs(const float* a, int64_t T, int64_t F, int64_t a_stride) {
  std::vector<int32_t> count(static_cast<size_t>(F), 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < F; ++i) count[i] += a[t * a_stride + i] > 0.f;
  NeuronTokens nt;
  std::vector<int32_t> pos(static_cast<size_t>(F), -1);  // neuron -> next free slot in token
  nt.start.push_back(0);
  for (int64_t i = 0; i < F; ++i) {
    if (count[i] == 0) continue;
    pos[i] = nt.start.back();
    nt.rows.push_back(static_cast<int32_t>(i));
    nt.start.push_back(nt.start.back() + count[i]);
  }
  nt.token.resize(static_cast<size_t>(nt.start.back()));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < F; ++i)
      if (a[t * a_stride + i] > 0.f) nt.token[pos[i]++] = static_cast<int32_t>(t);
  return nt;
}

void matmul_pairs(const ComputeContext& ctx, const WeightView& w, const NeuronTokens& nt, const float* x,
                  int64_t x_stride, float* val) {
  const auto K = static_cast<int64_t>(nt.rows.size());
  if (K == 0) return;
  ctx.count_weight_bytes(w.used_row_bytes() * static_cast<uint64_t>(K));
  const int64_t grain = std::max<int64_t>(16, K / (ctx.num_threads() * 8));
  if (quant_detail::uses_int8_acts(w.format, w.cols, 1) && has_avx2_fma_f16c() && w.interleave == 1) {
    // q4/q8 (plain rows: the loader keeps row-gathered weights plain): the chunk's activations quantized once, then each pair through the int8 decode
    // kernel (one weight row, one activation row; the row stays in L1 for its tokens). Twice the
    // speed of widening the row and dotting in f32; q4's dense product rounds the same way.
    // K > 0, so some token is listed: quantize up to the last one.
    const int64_t n = *std::max_element(nt.token.begin(), nt.token.end()) + 1;
    const quant_detail::ActBlocks acts = quant_detail::quantize_acts_shared(ctx, x, n, x_stride, w.cols);
    ctx.parallel_for(K, grain, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        const WeightView row = w.row(nt.rows[k]);
        for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j) {
          const int64_t t = nt.token[j];
          const quant_detail::ActBlocks at = acts.from_row(t, w.cols);
          quant_detail::int8_matmul_rows_avx2(row, 0, 1, at, 1, val + j, 1);
        }
      }
    });
    return;
  }
  // Other formats: each neuron's row is widened to f32 once and dotted with its tokens'
  // activations.
  ctx.parallel_for(K, grain, [&](int64_t k0, int64_t k1) {
    thread_local std::vector<float> row;
    row.resize(static_cast<size_t>(w.cols));
    for (int64_t k = k0; k < k1; ++k) {
      weight_row_to_f32(w, nt.rows[k], row.data());
      for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j)
        val[j] = ops::dot(x + nt.token[j] * x_stride, row.data(), w.cols);
    }
  });
}

void matmul_transposed_pairs(const ComputeContext& ctx, const WeightView& wt, const NeuronTokens& nt, const float* val,
                             int64_t T, float* y, int64_t y_stride) {
  // Column tiles of 128 (whole blocks of every format): a tile of y over a 512-token chunk is
  // 256 KiB and stays in L2 while every active row's segment is widened once and added to each
  // of its tokens.
  constexpr int64_t kTile = 128;
  static_assert(kTile % kQ4Block == 0 && kTile % kQuantBlock == 0);
  const int64_t tiles = (wt.cols + kTile - 1) / kTile;
  const auto K = static_cast<int64_t>(nt.rows.size());
  ctx.count_weight_bytes(wt.used_row_bytes() * static_cast<uint64_t>(K));
  ctx.parallel_for(tiles, 1, [&](int64_t u0, int64_t u1) {
    thread_local std::vector<float> seg;
    seg.resize(static_cast<size_t>(kTile));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t c0 = u * kTile, len = std::min(wt.cols, c0 + kTile) - c0;
      for (int64_t t = 0; t < T; ++t) std::fill(y + t * y_stride + c0, y + t * y_stride + c0 + len, 0.f);
      for (int64_t k = 0; k < K; ++k) {
        weight_row_segment_to_f32(wt, nt.rows[k], c0, len, seg.data());
        for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j)
          ops::axpy(val[j], seg.data(), y + nt.token[j] * y_stride + c0, len);
      }
    }
  });
}

void matmul_pairs_reference(const WeightView& w, const NeuronTokens& nt, const float* x, int64_t x_stride, float* val) {
  if (quant_detail::uses_int8_acts(w.format, w.cols, 1) && w.interleave == 1) {  // the optimised path's rule
    for (size_t k = 0; k < nt.rows.size(); ++k) {
      for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j)
        quant_matmul_rows_reference(w.format, w.row(nt.rows[k]), 0, 1, x + nt.token[j] * x_stride, 1, x_stride, val + j, 1);
    }
    return;
  }
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (size_t k = 0; k < nt.rows.size(); ++k) {
    weight_row_to_f32(w, nt.rows[k], row.data());
    for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j) {
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(x[nt.token[j] * x_stride + c]) * row[c];
      val[j] = static_cast<float>(acc);
    }
  }
}

void matmul_transposed_pairs_reference(const WeightView& wt, const NeuronTokens& nt, const float* val, int64_t T,
                                       float* y, int64_t y_stride) {
  std::vector<double> acc(static_cast<size_t>(T * wt.cols), 0.0);
  std::vector<float> row(static_cast<size_t>(wt.cols));
  for (size_t k = 0; k < nt.rows.size(); ++k) {
    weight_row_to_f32(wt, nt.rows[k], row.data());
    for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j)
      for (int64_t c = 0; c < wt.cols; ++c) acc[nt.token[j] * wt.cols + c] += static_cast<double>(val[j]) * row[c];
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < wt.cols; ++c) y[t * y_stride + c] = static_cast<float>(acc[t * wt.cols + c]);
}

}  // namespace gs::runtime
