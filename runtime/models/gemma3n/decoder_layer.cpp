// One Gemma 3n decoder layer (spec §3.4): AltUp predict -> norm + LAuReL -> attention -> MLP
// (gaussian top-k sparsity) -> AltUp correct -> per-layer input injection. Mirrors HF
// Gemma3nTextDecoderLayer.forward.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernels/ops.h"
#include "runtime/kernels/sparse_matmul.h"
#include "runtime/kernels/sparse_pairs.h"
#include "runtime/models/gemma3n/text_blocks.h"

namespace gs::runtime::gemma3n {
namespace {

// m[T, N] = tanh(router(RMSNorm(x; router_norm) / D)).
void router_modalities(const ComputeContext& ctx, const LayerWeights& lw, const TextConfig& c, const float* x,
                       int64_t T, float* m) {
  const int64_t D = c.hidden_size;
  std::vector<float> r(static_cast<size_t>(T * D));
  const float inv_d = 1.0f / static_cast<float>(D);
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::rms_norm(x + t0 * D, lw.router_norm.data(), t1 - t0, D, static_cast<float>(c.rms_norm_eps), &r[t0 * D]);
    for (int64_t i = t0 * D; i < t1 * D; ++i) r[i] *= inv_d;
  });
  matmul(ctx, lw.modality_router, r.data(), T, m);
  for (int64_t i = 0; i < T * c.altup_num_inputs; ++i) m[i] = std::tanh(m[i]);
}

// pred[N, T, D]: pred_j = X_j + sum_i c[N*j + i] X_i, with c = prediction_coefs · m.
void altup_predict(const ComputeContext& ctx, const LayerWeights& lw, const TextConfig& c, const float* X, int64_t T,
                   float* pred) {
  const int64_t D = c.hidden_size, N = c.altup_num_inputs;
  std::vector<float> m(static_cast<size_t>(T * N));
  router_modalities(ctx, lw, c, X + c.altup_active_idx * T * D, T, m.data());
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    std::vector<float> coef(static_cast<size_t>(N * N));
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t k = 0; k < N * N; ++k) {
        float s = 0;
        for (int64_t i = 0; i < N; ++i) s += lw.prediction_coefs[k * N + i] * m[t * N + i];
        coef[k] = s;
      }
      for (int64_t j = 0; j < N; ++j) {
        float* out = pred + (j * T + t) * D;
        std::memcpy(out, X + (j * T + t) * D, D * sizeof(float));
        for (int64_t i = 0; i < N; ++i) ops::axpy(coef[j * N + i], X + (i * T + t) * D, out, D);
      }
    }
  });
}

// X[N, T, D] <- pred_i + k_i (h2 - pred_active), k = clip(correction_coefs) · m' + 1.
void altup_correct(const ComputeContext& ctx, const LayerWeights& lw, const TextConfig& c, const float* pred,
                   const float* h2, int64_t T, float* X) {
  const int64_t D = c.hidden_size, N = c.altup_num_inputs;
  std::vector<float> m(static_cast<size_t>(T * N));
  router_modalities(ctx, lw, c, h2, T, m.data());
  const float clip = static_cast<float>(c.altup_coef_clip);
  const float* active = pred + c.altup_active_idx * T * D;
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t i = 0; i < N; ++i) {
        float k = 0;
        for (int64_t j = 0; j < N; ++j) k += std::clamp(lw.correction_coefs[i * N + j], -clip, clip) * m[t * N + j];
        k += 1.0f;
        const float* p = pred + (i * T + t) * D;
        float* out = X + (i * T + t) * D;
        for (int64_t d = 0; d < D; ++d) out[d] = p[d] + k * (h2[t * D + d] - active[t * D + d]);
      }
  });
}

// laurel[T, D] = an + RMSNorm(right(left(an)); post_laurel_norm).
void laurel(const ComputeContext& ctx, const LayerWeights& lw, const TextConfig& c, const float* an, int64_t T,
            float* out) {
  std::vector<float> mid(static_cast<size_t>(T * c.laurel_rank));
  matmul(ctx, lw.laurel_left, an, T, mid.data());
  matmul(ctx, lw.laurel_right, mid.data(), T, out);
  const int64_t D = c.hidden_size;
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::rms_norm(out + t0 * D, lw.post_laurel_norm.data(), t1 - t0, D, static_cast<float>(c.rms_norm_eps), out + t0 * D);
    for (int64_t i = t0 * D; i < t1 * D; ++i) out[i] += an[i];
  });
}

// Row t's FFN width: its own MatFormer size's in a step that mixes sizes, else the layer's.
inline int64_t width_of(std::span<const int32_t> row_width, int64_t t, int64_t F) {
  return row_width.empty() ? F : row_width[t];
}

// g <- relu(g - (mean + std * z)) per row: keep the top (1 - sparsity) of a fitted gaussian. The
// statistics cover the row's width; the columns past it become 0.
void gaussian_topk(const ComputeContext& ctx, float* g, int64_t T, int64_t F, float sparsity,
                   std::span<const int32_t> row_width) {
  // z = Φ⁻¹(sparsity) = sqrt(2) erfinv(2p - 1), by Newton on erf (double) from a rational start.
  const double p = static_cast<double>(sparsity);
  double z = 0;
  for (int it = 0; it < 60; ++it) {
    const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
    z -= (cdf - p) / std::max(pdf, 1e-300);
  }
  const float zf = static_cast<float>(z);
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* row = g + t * F;
      const int64_t w = width_of(row_width, t, F);
      double s = 0;
      for (int64_t i = 0; i < w; ++i) s += row[i];
      const double mean = s / static_cast<double>(w);
      double v = 0;
      for (int64_t i = 0; i < w; ++i) v += (row[i] - mean) * (row[i] - mean);
      const float cutoff = static_cast<float>(mean) + static_cast<float>(std::sqrt(v / static_cast<double>(w))) * zf;
      for (int64_t i = 0; i < w; ++i) row[i] = std::max(row[i] - cutoff, 0.0f);
      std::fill(row + w, row + F, 0.f);
    }
  });
}

// Prefill chunks of sparse layers: up and down only for the active (token, neuron) pairs, ~5 %
// of the dense products' multiply-adds. g[T, F] (after the top-k) -> f[T, D].
void mlp_sparse_pairs(const ComputeContext& ctx, const LayerWeights& lw, const float* g, const float* x, int64_t T,
                      int64_t D, int64_t F, float* f) {
  const NeuronTokens nt = positive_pairs(g, T, F, F);
  std::vector<float> h(static_cast<size_t>(nt.nnz()));
  matmul_pairs(ctx, lw.up_proj, nt, x, D, h.data());
  for_rows(ctx, static_cast<int64_t>(nt.rows.size()), [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j) h[j] *= ops::gelu_tanh(g[nt.token[j] * F + nt.rows[k]]);
  });
  matmul_transposed_pairs(ctx, lw.down_proj_t, nt, h.data(), T, f, D);
}

// Sparse layers (down stored transposed): after the top-k only the neurons active in some row
// (~5 % at sparsity 0.95 and small T) go through up and down; the rest are exactly zero. From
// kPairMinTokens rows on (prefill), the union of active neurons nears F and the work goes pair
// by pair instead.
// g[T, F] -> f[T, D].
constexpr int64_t kPairMinTokens = 8;

void mlp_sparse(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl,
                std::span<const int32_t> row_width, const float* x, int64_t T, int64_t D, float* f) {
  const int64_t F = pl.ffn_width;
  std::vector<float> g(static_cast<size_t>(T * F));
  matmul(ctx, lw.gate_proj.first_rows(F), x, T, g.data());
  gaussian_topk(ctx, g.data(), T, F, pl.sparsity, row_width);
  if (T >= kPairMinTokens) return mlp_sparse_pairs(ctx, lw, g.data(), x, T, D, F, f);
  std::vector<int32_t> active;
  for (int64_t i = 0; i < F; ++i)
    for (int64_t t = 0; t < T; ++t)
      if (g[t * F + i] > 0.f) {
        active.push_back(static_cast<int32_t>(i));
        break;
      }
  const auto K = static_cast<int64_t>(active.size());
  std::vector<float> u(static_cast<size_t>(T * K));
  matmul_gather_rows(ctx, lw.up_proj, active, x, T, D, u.data(), K);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k) {
      const float gv = g[t * F + active[k]];
      u[t * K + k] = gv > 0.f ? ops::gelu_tanh(gv) * u[t * K + k] : 0.f;
    }
  matmul_transposed_rows(ctx, lw.down_proj_t, active, u.data(), T, K, f, D);
}

// f[T, D] = h[T, :F] · down[:, :F]ᵀ over the column panels down is stored in: each panel the
// width reaches is one contiguous matmul; the panels after the first add into f.
void down_project(const ComputeContext& ctx, std::span<const ColumnPanel> down, const float* h, int64_t T, int64_t F,
                  float* f, int64_t D) {
  std::vector<float> part;
  for (const ColumnPanel& p : down) {
    if (p.col0 >= F) break;
    const WeightView w = p.w.first_cols(std::min(p.w.cols, F - p.col0));
    if (p.col0 == 0) {
      matmul(ctx, w, h, T, F, f, D);
      continue;
    }
    part.resize(static_cast<size_t>(T * D));
    matmul(ctx, w, h + p.col0, T, F, part.data(), D);
    for_rows(ctx, T, [&](int64_t t0, int64_t t1) { ops::axpy(1.f, &part[t0 * D], f + t0 * D, (t1 - t0) * D); });
  }
}

// f[T, D] = down(gelu(topk(gate(x))) * up(x)) with the plan's FFN width (MatFormer prefix). Rows
// of narrower sizes (row_width) run at the widest width with their extra neurons zeroed: the
// weights are read once for all, and a zero neuron adds nothing to down.
void mlp(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl, std::span<const int32_t> row_width,
         const float* x, int64_t T, int64_t D, float* f) {
  if (!lw.down_proj_t.empty()) return mlp_sparse(ctx, lw, pl, row_width, x, T, D, f);
  const int64_t F = pl.ffn_width;
  std::vector<float> g(static_cast<size_t>(T * F)), u(static_cast<size_t>(T * F));
  const SameInputOut gate_up[] = {{lw.gate_proj.first_rows(F), g.data()}, {lw.up_proj.first_rows(F), u.data()}};
  matmul_same_input(ctx, gate_up, x, T);
  if (pl.sparsity > 0.f) gaussian_topk(ctx, g.data(), T, F, pl.sparsity, row_width);
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::gelu_tanh(&g[t0 * F], (t1 - t0) * F);
    for (int64_t i = t0 * F; i < t1 * F; ++i) g[i] *= u[i];
    if (!row_width.empty())
      for (int64_t t = t0; t < t1; ++t) std::fill(&g[t * F + row_width[t]], &g[t * F + F], 0.f);
  });
  down_project(ctx, lw.down_proj, g.data(), T, F, f, D);
}

// X_i += RMSNorm(proj(gelu(gate(C_0 * scale)) * pli); norm) for the non-active streams.
void inject_per_layer_input(const ComputeContext& ctx, const LayerWeights& lw, const TextConfig& c, const float* pli,
                            int64_t pli_stride, float* X, int64_t T) {
  const int64_t D = c.hidden_size, P = c.hidden_size_per_layer_input, N = c.altup_num_inputs;
  const float* c0 = X + c.altup_active_idx * T * D;
  std::vector<float> s(static_cast<size_t>(T * D)), z(static_cast<size_t>(T * P)), y(static_cast<size_t>(T * D));
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t d = 0; d < D; ++d)
        s[t * D + d] = c.altup_correct_scale ? c0[t * D + d] * lw.correct_output_scale[d] : c0[t * D + d];
  });
  matmul(ctx, lw.per_layer_input_gate, s.data(), T, z.data());
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::gelu_tanh(&z[t0 * P], (t1 - t0) * P);
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t i = 0; i < P; ++i) z[t * P + i] *= pli[t * pli_stride + i];
  });
  matmul(ctx, lw.per_layer_projection, z.data(), T, y.data());
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::rms_norm(&y[t0 * D], lw.post_per_layer_input_norm.data(), t1 - t0, D, static_cast<float>(c.rms_norm_eps),
                  &y[t0 * D]);
    for (int64_t i = 0; i < N; ++i) {
      if (i == c.altup_active_idx) continue;
      float* xi = X + i * T * D;
      for (int64_t k = t0 * D; k < t1 * D; ++k) xi[k] += y[k];
    }
  });
}

}  // namespace

void decoder_layer(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl, const TextConfig& c,
                   const float* pli_l, int64_t pli_stride, const AttentionState& as, float* X, int64_t T,
                   std::span<const int32_t> row_width) {
  const int64_t D = c.hidden_size, N = c.altup_num_inputs;
  const float eps = static_cast<float>(c.rms_norm_eps);
  std::vector<float> pred(static_cast<size_t>(N * T * D));
  altup_predict(ctx, lw, c, X, T, pred.data());
  const float* a = pred.data() + c.altup_active_idx * T * D;  // [T, D]

  std::vector<float> an(static_cast<size_t>(T * D)), lau(static_cast<size_t>(T * D)), o(static_cast<size_t>(T * D));
  rms_norm_rows(ctx, a, lw.input_layernorm.data(), T, D, eps, an.data());
  laurel(ctx, lw, c, an.data(), T, lau.data());
  attention(ctx, lw, pl, c, as, an.data(), T, o.data());
  const float sqrt2 = static_cast<float>(std::sqrt(2.0));
  std::vector<float> h(static_cast<size_t>(T * D));  // h1, then h2
  std::vector<float> x(static_cast<size_t>(T * D)), f(static_cast<size_t>(T * D));
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::rms_norm(&o[t0 * D], lw.post_attention_layernorm.data(), t1 - t0, D, eps, &o[t0 * D]);
    for (int64_t i = t0 * D; i < t1 * D; ++i) h[i] = ((a[i] + o[i]) + lau[i]) / sqrt2;
    ops::rms_norm(&h[t0 * D], lw.pre_feedforward_layernorm.data(), t1 - t0, D, eps, &x[t0 * D]);
  });
  mlp(ctx, lw, pl, row_width, x.data(), T, D, f.data());
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::rms_norm(&f[t0 * D], lw.post_feedforward_layernorm.data(), t1 - t0, D, eps, &f[t0 * D]);
    for (int64_t i = t0 * D; i < t1 * D; ++i) h[i] += f[i];
  });

  altup_correct(ctx, lw, c, pred.data(), h.data(), T, X);
  inject_per_layer_input(ctx, lw, c, pli_l, pli_stride, X, T);
}

}  // namespace gs::runtime::gemma3n
