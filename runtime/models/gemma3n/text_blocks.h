// The blocks of one Gemma 3n decoder step, one function each (internal to the text model).
// Shapes: T tokens, D hidden, N AltUp streams, P per-layer-input dim, F FFN width.
#pragma once
#include <algorithm>
#include <functional>
#include <span>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/kernels/ops.h"
#include "runtime/kv/kv_cache.h"
#include "runtime/models/gemma3n/layer_plan.h"
#include "runtime/models/gemma3n/text_weights.h"

namespace gs::runtime::gemma3n {

// fn(t0, t1) over ranges of the T rows of a step: split across the threads for prefill chunks
// (the per-row work between matmuls ran on one core and left the other idle, ~15 % of a 512-row
// prefill), inline for decode steps.
inline void for_rows(const ComputeContext& ctx, int64_t T, const std::function<void(int64_t, int64_t)>& fn) {
  ctx.parallel_for(T, std::max<int64_t>(4, T / (2 * ctx.num_threads())), fn);
}

// RMSNorm of rows [T, dim] (ops::rms_norm) split by for_rows. In place allowed.
inline void rms_norm_rows(const ComputeContext& ctx, const float* x, const float* w, int64_t T, int64_t dim, float eps,
                          float* y) {
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) { ops::rms_norm(x + t0 * dim, w, t1 - t0, dim, eps, y + t0 * dim); });
}

struct Segment {       // the query rows of one sequence inside the step
  int seq = 0, row_begin = 0, row_end = 0, start_pos = 0;
  int kv_row = 0;      // row of this step's K/V (chunk_k/chunk_v) that holds position start_pos
};

// Everything attention needs besides the layer's weights.
struct AttentionState {
  std::span<const Segment> segments;
  std::span<const int32_t> positions;          // [T]
  std::span<const int32_t> row_segment;        // [T] index into segments
  std::span<SequenceKv* const> kv;
  // K/V of this step's rows for every producing layer (original index), [T, KV*hd] each.
  std::vector<std::vector<float>>* chunk_k = nullptr;
  std::vector<std::vector<float>>* chunk_v = nullptr;
};

// e[T, D]: scaled token embeddings, multimodal hard tokens, soft-token overrides.
void embed_tokens(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, std::span<const int32_t> tokens,
                  std::span<const float* const> soft, float* e);
// pli[T, Lp, P] for the plan's layers.
void per_layer_inputs(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const LayerPlan& plan,
                      std::span<const int32_t> tokens, const float* e, int64_t T, float* pli);
// X[N, T, D] from e.
void altup_init(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const float* e, int64_t T,
                float* X);
// One decoder layer in place on X[N, T, D]; pli_l is [T, P] with row stride Lp*P. row_width: each
// row's FFN width (<= pl.ffn_width) when the step mixes MatFormer sizes; empty: pl.ffn_width.
void decoder_layer(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl, const TextConfig& c,
                   const float* pli_l, int64_t pli_stride, const AttentionState& as, float* X, int64_t T,
                   std::span<const int32_t> row_width = {});
// Attention of one layer: an[T, D] -> o[T, D] (before post_attention_layernorm).
void attention(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl, const TextConfig& c,
               const AttentionState& as, const float* an, int64_t T, float* o);
// h[rows, D] from the final streams (unembed, mean, final norm) for the selected rows.
void final_hidden(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const float* X, int64_t T,
                  std::span<const int32_t> rows, float* h);
// logits[rows, V] = softcap(h · Eᵀ).
void lm_head(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const float* h, int64_t rows,
             float* logits);

}  // namespace gs::runtime::gemma3n
