// Gemma 3n attention (spec §3.5): q/k/v projections with RMSNorm (v without scale), RoPE with the
// layer type's theta, GQA with scale 1.0, sliding-window or causal mask, KV sharing: consumer
// layers read the producer's committed cache plus the producer's rows of this step.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernels/ops.h"
#include "runtime/models/gemma3n/text_blocks.h"

namespace gs::runtime::gemma3n {
namespace {

std::vector<float> inv_freq(const TextConfig& c, LayerType type) {
  const double theta = type == LayerType::kFull ? c.rope_theta_full : c.rope_theta_sliding;
  std::vector<float> f(static_cast<size_t>(c.head_dim / 2));
  // HF: 1 / theta^(arange(0, hd, 2) / hd), in float32.
  for (int i = 0; i < c.head_dim / 2; ++i)
    f[i] = static_cast<float>(1.0 / std::pow(theta, static_cast<double>(static_cast<float>(2 * i) /
                                                                        static_cast<float>(c.head_dim))));
  return f;
}

// Projects, normalises and rotates rows [T] of `x` into out[T, heads*hd].
void project_heads(const ComputeContext& ctx, const WeightView& w, const float* norm_w, const TextConfig& c,
                   const AttentionState& as, const float* inv, const float* an, int64_t T, int heads, float* out) {
  const int hd = c.head_dim;
  matmul(ctx, w, an, T, out);
  ops::rms_norm(out, norm_w, T * heads, hd, static_cast<float>(c.rms_norm_eps), out);
  if (inv)
    for (int64_t t = 0; t < T; ++t) ops::rope(out + t * heads * hd, heads, hd, as.positions[t], inv);
}

}  // namespace

void attention(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl, const TextConfig& c,
               const AttentionState& as, const float* an, int64_t T, float* o) {
  const int H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  const int64_t kvd = static_cast<int64_t>(KV) * hd;
  const auto inv = inv_freq(c, pl.type);
  std::vector<float> q(static_cast<size_t>(T * H * hd));
  project_heads(ctx, lw.q_proj, lw.q_norm.data(), c, as, inv.data(), an, T, H, q.data());

  const int src = pl.kv_source < 0 ? pl.layer : pl.kv_source;
  if (pl.kv_source < 0) {
    auto& ck = (*as.chunk_k)[pl.layer];
    auto& cv = (*as.chunk_v)[pl.layer];
    ck.resize(static_cast<size_t>(T * kvd));
    cv.resize(static_cast<size_t>(T * kvd));
    project_heads(ctx, lw.k_proj, lw.k_norm.data(), c, as, inv.data(), an, T, KV, ck.data());
    project_heads(ctx, lw.v_proj, nullptr, c, as, nullptr, an, T, KV, cv.data());
  }
  const float* ck = (*as.chunk_k)[src].data();
  const float* cv = (*as.chunk_v)[src].data();
  const bool sliding = pl.type == LayerType::kSliding;
  const int window = c.sliding_window;
  const int group = H / KV;

  std::vector<float> attn(static_cast<size_t>(T * H * hd));
  ctx.parallel_for(T * H, 4, [&](int64_t b, int64_t e) {
    std::vector<float> scores;
    for (int64_t th = b; th < e; ++th) {
      const int64_t t = th / H;
      const int h = static_cast<int>(th % H), kvh = h / group;
      const Segment& seg = as.segments[as.row_segment[t]];
      const SequenceKv& kv = *as.kv[seg.seq];
      const int p = as.positions[t];
      const int lo = sliding ? std::max(0, p - window + 1) : 0;
      const float* qv = q.data() + (t * H + h) * hd;
      scores.resize(static_cast<size_t>(p - lo + 1));
      for (int k = lo; k <= p; ++k) {
        const float* kr = k < seg.start_pos ? kv.k(src, k) : ck + (seg.row_begin + (k - seg.start_pos)) * kvd;
        scores[k - lo] = ops::dot(qv, kr + kvh * hd, hd);
      }
      ops::softmax(scores.data(), static_cast<int64_t>(scores.size()));
      float* out = attn.data() + (t * H + h) * hd;
      std::fill(out, out + hd, 0.f);
      for (int k = lo; k <= p; ++k) {
        const float* vr = k < seg.start_pos ? kv.v(src, k) : cv + (seg.row_begin + (k - seg.start_pos)) * kvd;
        ops::axpy(scores[k - lo], vr + kvh * hd, out, hd);
      }
    }
  });
  matmul(ctx, lw.o_proj, attn.data(), T, o);
}

}  // namespace gs::runtime::gemma3n
