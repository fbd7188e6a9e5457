#include "runtime/models/gemma3n/audio/conformer_attention.h"

#include <cmath>
#include <limits>

#include "runtime/models/gemma3n/audio/audio_ops.h"

namespace gs::runtime::gemma3n {
namespace {

// Upstream works on blocks of `chunk` queries with a context of chunk + max_past + max_future keys
// and a relative shift; for every real query that equals attending to keys s with
// -max_future ≤ t - s ≤ max_past directly, which is what we compute (outputs at padded queries are
// zeroed or dropped later, so their values do not matter).
struct AttnShape {
  int64_t T, D;
  int N, H, P, R;
};

// Per-head-dim query factor: q_scale · softplus(per_dim_scale), q_scale = H^-1/2 / softplus(0).
std::vector<float> query_scale(const AttentionWeights& w, int H) {
  const float q_scale = static_cast<float>(std::pow(static_cast<double>(H), -0.5) / std::log(2.0));
  std::vector<float> s(static_cast<size_t>(H));
  for (int h = 0; h < H; ++h) s[h] = q_scale * audio_ops::softplus(w.per_dim_scale[h]);
  return s;
}

// One query frame t, all heads: out[n·H + h] (q already scaled; rpos [P+R+1, D]).
void attend_frame(const AttnShape& s, const AudioConfig& cfg, const float* q, const float* k, const float* v,
                  const float* rpos, const uint8_t* valid, int64_t t, float* out) {
  const int span = s.P + s.R + 1;
  const float lowest = std::numeric_limits<float>::lowest();
  std::vector<float> logits(static_cast<size_t>(span));
  for (int n = 0; n < s.N; ++n) {
    const float* qn = q + t * s.D + n * s.H;
    for (int f = 0; f < span; ++f) {  // key s_t = t - (P - f)
      const int64_t src = t - (s.P - f);
      if (src < 0 || src >= s.T || !valid[src]) {
        logits[f] = lowest;
        continue;
      }
      const float a = ops::dot(qn, k + src * s.D + n * s.H, s.H) + ops::dot(qn, rpos + f * s.D + n * s.H, s.H);
      logits[f] = cfg.logit_cap * std::tanh(a / cfg.logit_cap);
    }
    ops::softmax(logits.data(), span);
    float* o = out + n * s.H;
    for (int h = 0; h < s.H; ++h) o[h] = 0.0f;
    for (int f = 0; f < span; ++f) {
      const int64_t src = t - (s.P - f);
      if (src < 0 || src >= s.T || logits[f] == 0.0f) continue;
      ops::axpy(logits[f], v + src * s.D + n * s.H, o, s.H);
    }
  }
}

}  // namespace

std::vector<float> relative_position_signal(const AudioConfig& cfg) {
  const int64_t D = cfg.hidden_size, half = D / 2;
  const int span = cfg.max_past() + cfg.max_future() + 1;
  // min timescale 1, max 1e4, `half` timescales
  const double inc = std::log(1.0e4) / static_cast<double>(std::max<int64_t>(half - 1, 1));
  std::vector<float> sig(static_cast<size_t>(span * D));
  for (int f = 0; f < span; ++f) {
    const float pos = static_cast<float>(cfg.max_past() - f);
    for (int64_t i = 0; i < half; ++i) {
      const float inv = static_cast<float>(std::exp(-static_cast<double>(i) * inc));
      const float arg = pos * inv;  // float32 product, as upstream
      sig[f * D + i] = std::sin(arg);
      sig[f * D + half + i] = std::cos(arg);
    }
  }
  return sig;
}

// x [T, D] → h [T, D] → q, k, v [T, N, H]; rpos [P+R+1, D]; context [T, D] → post [T, D]
void attention_residual(const ComputeContext& ctx, const AudioConfig& cfg, const AttentionWeights& w,
                        const std::vector<float>& pos_signal, float* x, int64_t T, const uint8_t* valid) {
  const AttnShape s{T, cfg.hidden_size, cfg.num_heads, cfg.head_dim(), cfg.max_past(), cfg.max_future()};
  std::vector<float> h(x, x + T * s.D);
  audio_ops::clip(h.data(), T * s.D, cfg.gradient_clipping);
  ops::rms_norm(h.data(), w.pre_norm.data(), T, s.D, cfg.rms_norm_eps, h.data());
  std::vector<float> q = audio_ops::linear(ctx, w.q, h.data(), T);
  const std::vector<float> k = audio_ops::linear(ctx, w.k, h.data(), T);
  const std::vector<float> v = audio_ops::linear(ctx, w.v, h.data(), T);
  const std::vector<float> rpos =
      audio_ops::linear(ctx, w.pos_proj, pos_signal.data(), s.P + s.R + 1);
  const std::vector<float> qs = query_scale(w, s.H);
  for (int64_t r = 0; r < T * s.N; ++r)
    for (int i = 0; i < s.H; ++i) q[r * s.H + i] *= qs[i];
  ctx.parallel_for(T, 8, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      attend_frame(s, cfg, q.data(), k.data(), v.data(), rpos.data(), valid, t, h.data() + t * s.D);
  });
  std::vector<float> o = audio_ops::linear(ctx, w.post, h.data(), T);
  audio_ops::clip(o.data(), T * s.D, cfg.gradient_clipping);
  ops::rms_norm(o.data(), w.post_norm.data(), T, s.D, cfg.rms_norm_eps, o.data());
  for (int64_t i = 0; i < T * s.D; ++i) x[i] += o[i];
}

}  // namespace gs::runtime::gemma3n
