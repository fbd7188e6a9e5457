// Token embedding, per-layer inputs (PLE), AltUp stream initialisation, un-embedding and the
// LM head: the parts of the text decoder outside the layers (spec §3.1-3.3, §3.6).
#include <cmath>
#include <cstring>

#include "runtime/kernels/ops.h"
#include "runtime/models/gemma3n/text_blocks.h"

namespace gs::runtime::gemma3n {
namespace {

// Hard token of embed_vision / embed_audio: RMSNormNoScale(W_proj · RMSNorm(emb[id - off]; hard_norm)).
void mm_hard_embedding(const ComputeContext& ctx, const MultimodalEmbedderWeights& m, const TextConfig& c, int32_t id,
                       float* out) {
  const int64_t in = m.in_dim;
  std::vector<float> x(m.embedding.begin() + (id - m.vocab_offset) * in,
                       m.embedding.begin() + (id - m.vocab_offset + 1) * in);
  ops::rms_norm(x.data(), m.hard_norm.data(), 1, in, static_cast<float>(c.rms_norm_eps), x.data());
  matmul(ctx, m.projection, x.data(), 1, out);
  ops::rms_norm(out, nullptr, 1, c.hidden_size, static_cast<float>(c.rms_norm_eps), out);
}

// sqrt(mean(x²)) of one row, no epsilon (AltUp magnitude target).
float rms(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return std::sqrt(static_cast<float>(s / static_cast<double>(n)));
}

// Y[T, D] = proj(X) rescaled row by row to the magnitude of `target_rows`.
void magnitude_matched(const ComputeContext& ctx, const WeightView& proj, const float* X, const float* target_rows,
                       int64_t T, int64_t D, float* Y) {
  matmul(ctx, proj, X, T, Y);
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float target = rms(target_rows + t * D, D);
      double s = 0;
      for (int64_t i = 0; i < D; ++i) s += static_cast<double>(Y[t * D + i]) * Y[t * D + i];
      const float m = std::sqrt(std::max(static_cast<float>(s / static_cast<double>(D)), 1e-5f));
      for (int64_t i = 0; i < D; ++i) Y[t * D + i] = Y[t * D + i] * target / m;
    }
  });
}

}  // namespace

void embed_tokens(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, std::span<const int32_t> tokens,
                  std::span<const float* const> soft, float* e) {
  const int64_t D = c.hidden_size;
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(D)));
  for (size_t t = 0; t < tokens.size(); ++t) {
    float* row = e + static_cast<int64_t>(t) * D;
    const int32_t id = tokens[t];
    if (!soft.empty() && soft[t]) {
      std::memcpy(row, soft[t], D * sizeof(float));
    } else if (w.embed_audio.present && id >= w.embed_audio.vocab_offset &&
               id < w.embed_audio.vocab_offset + w.embed_audio.vocab_size) {
      mm_hard_embedding(ctx, w.embed_audio, c, id, row);
    } else if (w.embed_vision.present && id >= w.embed_vision.vocab_offset &&
               id < w.embed_vision.vocab_offset + w.embed_vision.vocab_size) {
      mm_hard_embedding(ctx, w.embed_vision, c, id, row);
    } else {
      weight_row_to_f32(w.embed_tokens, id, row);
      for (int64_t i = 0; i < D; ++i) row[i] *= scale;
    }
  }
}

void per_layer_inputs(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const LayerPlan& plan,
                      std::span<const int32_t> tokens, const float* e, int64_t T, float* pli) {
  const int64_t D = c.hidden_size, P = c.hidden_size_per_layer_input, L = c.num_hidden_layers;
  const int64_t Lp = static_cast<int64_t>(plan.layers.size());
  std::vector<float> proj(static_cast<size_t>(T * L * P));  // [T, L*P] for all checkpoint slots
  matmul(ctx, w.per_layer_model_projection, e, T, proj.data());
  const float proj_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  const float input_scale = static_cast<float>(1.0 / std::sqrt(2.0));
  const float ple_scale = static_cast<float>(std::sqrt(static_cast<double>(P)));
  // The PLE rows are read on this thread (the table's hot-row cache is not shared), the rest
  // split by rows.
  std::vector<float> raw(static_cast<size_t>(T * L * P));
  for (int64_t t = 0; t < T; ++t) {
    // Multimodal ids have no PLE row: HF uses the pad row (id 0) for them.
    const int32_t id = tokens[t] < w.ple->vocab() && tokens[t] >= 0 ? tokens[t] : 0;
    w.ple->read_row(id, &raw[t * L * P]);
  }
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t j = 0; j < Lp; ++j) {
        const int slot = plan.layers[j].layer;
        float* p = proj.data() + (t * L + slot) * P;
        for (int64_t i = 0; i < P; ++i) p[i] *= proj_scale;
        ops::rms_norm(p, w.per_layer_projection_norm.data(), 1, P, static_cast<float>(c.rms_norm_eps), p);
        float* out = pli + (t * Lp + j) * P;
        const float* r = &raw[(t * L + slot) * P];
        for (int64_t i = 0; i < P; ++i) out[i] = (p[i] + r[i] * ple_scale) * input_scale;
      }
  });
}

void altup_init(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const float* e, int64_t T,
                float* X) {
  const int64_t D = c.hidden_size, N = c.altup_num_inputs;
  std::memcpy(X, e, static_cast<size_t>(T * D) * sizeof(float));
  for (int64_t i = 1; i < N; ++i) magnitude_matched(ctx, w.altup_projections[i - 1], e, e, T, D, X + i * T * D);
}

void final_hidden(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const float* X, int64_t T,
                  std::span<const int32_t> rows, float* h) {
  const int64_t D = c.hidden_size, N = c.altup_num_inputs, R = static_cast<int64_t>(rows.size());
  std::vector<float> xs(static_cast<size_t>(N * R * D)), y(static_cast<size_t>(R * D));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t r = 0; r < R; ++r)
      std::memcpy(&xs[(i * R + r) * D], X + (i * T + rows[r]) * D, D * sizeof(float));
  std::memcpy(h, xs.data(), static_cast<size_t>(R * D) * sizeof(float));
  for (int64_t i = 1; i < N; ++i) {
    magnitude_matched(ctx, w.altup_unembed_projections[i - 1], &xs[i * R * D], xs.data(), R, D, y.data());
    for (int64_t k = 0; k < R * D; ++k) h[k] += y[k];
  }
  for (int64_t k = 0; k < R * D; ++k) h[k] /= static_cast<float>(N);
  ops::rms_norm(h, w.final_norm.data(), R, D, static_cast<float>(c.rms_norm_eps), h);
}

void lm_head(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const float* h, int64_t rows,
             float* logits) {
  matmul(ctx, w.embed_tokens, h, rows, logits);
  const float cap = static_cast<float>(c.final_logit_softcapping);
  if (cap > 0) {
    const int64_t n = rows * c.vocab_size;
    ops::softcap(logits, n, cap);
  }
}

}  // namespace gs::runtime::gemma3n
