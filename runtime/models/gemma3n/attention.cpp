// Gemma 3n attention (spec §3.5): q/k/v projections with RMSNorm (v without scale), RoPE with the
// layer type's theta, GQA with scale 1.0, sliding-window or causal mask, KV sharing: consumer
// layers read the producer's committed cache plus the producer's rows of this step.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <cblas.h>

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

// Normalises and rotates (inv: null for none) the projected rows out[T, heads*hd] in place.
void norm_rope_heads(const ComputeContext& ctx, const float* norm_w, const TextConfig& c, const AttentionState& as,
                     const float* inv, int64_t T, int heads, float* out) {
  const int hd = c.head_dim;
  const int64_t row = static_cast<int64_t>(heads) * hd;
  for_rows(ctx, T, [&](int64_t t0, int64_t t1) {
    ops::rms_norm(out + t0 * row, norm_w, (t1 - t0) * heads, hd, static_cast<float>(c.rms_norm_eps), out + t0 * row);
    if (inv)
      for (int64_t t = t0; t < t1; ++t) ops::rope(out + t * row, heads, hd, as.positions[t], inv);
  });
}

// Where the K/V rows of one position live for a query row t: the sequence's cache before its
// segment's first position, this step's projected rows from there on.
struct KvRows {
  const AttentionState* as;
  int src;
  const float *ck, *cv;
  int64_t kvd;
  int hd;
  const float* key(int64_t t, int pos) const { return row(t, pos, true); }
  const float* value(int64_t t, int pos) const { return row(t, pos, false); }
  const float* row(int64_t t, int pos, bool is_key) const {
    const Segment& seg = as->segments[as->row_segment[t]];
    if (pos < seg.start_pos) {
      const SequenceKv& kv = *as->kv[seg.seq];
      return is_key ? kv.k(src, pos) : kv.v(src, pos);
    }
    return (is_key ? ck : cv) + (seg.kv_row + (pos - seg.start_pos)) * kvd;
  }
};

// From this many rows in a step (prefill chunks) attention runs as matrix products over tiles of
// query rows: per dot product or axpy of one query and one key it was 7-8 % of a 512-token
// prefill, at a fraction of sgemm's rate.
constexpr int64_t kTiledMinRows = 16;
constexpr int64_t kQueryTile = 32;  // tokens; times the GQA group in rows of the score tile

// Scratch of one tiled-attention task (thread_local: sized by the tile, never by the context).
struct TileScratch {
  std::vector<float> Q, K, V, S, O, m;
  std::vector<double> l;
};

// Keys are taken in blocks of kKeyBlock with a running (online) softmax, so a tile's buffers stay
// ~1.5 MB whatever the context (32k keys at once would be 80 MB per thread).
constexpr int kKeyBlock = 512;

// S[rows, nb] of key block [k0, k0 + nb) -> probabilities relative to each row's running max;
// rescales the row's O and running sum when the max grows. Keys a row may not see get 0.
void online_softmax_block(const KvRows& kr, bool sliding, int window, int group, int64_t t0, int k0, int nb,
                          int hd, TileScratch& s) {
  const int64_t rows = static_cast<int64_t>(s.m.size());
  for (int64_t r = 0; r < rows; ++r) {
    const int p = kr.as->positions[t0 + r / group];
    const int vlo = std::max(sliding ? p - window + 1 : 0, k0) - k0, vhi = std::min(p, k0 + nb - 1) - k0;
    float* sr = &s.S[r * nb];
    if (vlo > vhi) {  // nothing visible in this block
      std::fill(sr, sr + nb, 0.f);
      continue;
    }
    const float mx = std::max(s.m[r], *std::max_element(sr + vlo, sr + vhi + 1));
    const float scale = std::exp(s.m[r] - mx);  // exp(-inf) = 0 on the first visible block
    double sum = 0;
    for (int i = 0; i < nb; ++i) {
      sr[i] = i >= vlo && i <= vhi ? std::exp(sr[i] - mx) : 0.f;
      sum += sr[i];
    }
    s.l[r] = s.l[r] * scale + sum;
    s.m[r] = mx;
    if (scale != 1.f)
      for (int d = 0; d < hd; ++d) s.O[r * hd + d] *= scale;
  }
}

// One (segment, KV head, tile of tokens [t0, t1)) of tiled attention: the group's query rows
// Q[(t1-t0)·group, hd] against the keys the tile's rows may see, gathered block by block into
// contiguous [nb, hd] tiles; S = QKᵀ, online softmax, O += PV, then O / l.
void attend_tile(const TextConfig& c, const KvRows& kr, bool sliding, const float* q, int kvh, int64_t t0, int64_t t1,
                 float* attn) {
  const int H = c.num_attention_heads, hd = c.head_dim, group = H / c.num_key_value_heads;
  const int window = c.sliding_window;
  const int p0 = kr.as->positions[t0], p1 = kr.as->positions[t1 - 1];
  const int lo = sliding ? std::max(0, p0 - window + 1) : 0;
  const int64_t rows = (t1 - t0) * group;
  thread_local TileScratch s;
  s.Q.resize(static_cast<size_t>(rows * hd));
  s.K.resize(static_cast<size_t>(kKeyBlock) * hd);
  s.V.resize(static_cast<size_t>(kKeyBlock) * hd);
  s.S.resize(static_cast<size_t>(rows * kKeyBlock));
  s.O.assign(static_cast<size_t>(rows * hd), 0.f);
  s.m.assign(static_cast<size_t>(rows), -std::numeric_limits<float>::infinity());
  s.l.assign(static_cast<size_t>(rows), 0.0);
  for (int64_t t = t0; t < t1; ++t)
    std::memcpy(&s.Q[(t - t0) * group * hd], q + (t * H + kvh * group) * hd, sizeof(float) * group * hd);
  for (int k0 = lo; k0 <= p1; k0 += kKeyBlock) {
    const int nb = std::min(kKeyBlock, p1 - k0 + 1);
    for (int k = 0; k < nb; ++k) {
      std::memcpy(&s.K[static_cast<size_t>(k) * hd], kr.key(t0, k0 + k) + kvh * hd, sizeof(float) * hd);
      std::memcpy(&s.V[static_cast<size_t>(k) * hd], kr.value(t0, k0 + k) + kvh * hd, sizeof(float) * hd);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), nb, hd, 1.f, s.Q.data(), hd,
                s.K.data(), hd, 0.f, s.S.data(), nb);
    online_softmax_block(kr, sliding, window, group, t0, k0, nb, hd, s);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), hd, nb, 1.f, s.S.data(), nb,
                s.V.data(), hd, 1.f, s.O.data(), hd);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float inv = static_cast<float>(1.0 / s.l[r]);
    const int64_t t = t0 + r / group, h = kvh * group + r % group;
    for (int d = 0; d < hd; ++d) attn[(t * H + h) * hd + d] = s.O[r * hd + d] * inv;
  }
}

// q[T, H, hd] -> attn[T, H, hd], tasks of (segment, KV head, query tile).
void attend_tiled(const ComputeContext& ctx, const TextConfig& c, const KvRows& kr, bool sliding, const float* q,
                  float* attn) {
  struct Task {
    int64_t t0, t1;
    int kvh;
  };
  std::vector<Task> tasks;
  for (const Segment& seg : kr.as->segments)
    for (int64_t t0 = seg.row_begin; t0 < seg.row_end; t0 += kQueryTile)
      for (int kvh = 0; kvh < c.num_key_value_heads; ++kvh)
        tasks.push_back({t0, std::min<int64_t>(seg.row_end, t0 + kQueryTile), kvh});
  ctx.parallel_for(static_cast<int64_t>(tasks.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) attend_tile(c, kr, sliding, q, tasks[i].kvh, tasks[i].t0, tasks[i].t1, attn);
  });
}

}  // namespace

void attention(const ComputeContext& ctx, const LayerWeights& lw, const PlannedLayer& pl, const TextConfig& c,
               const AttentionState& as, const float* an, int64_t T, float* o) {
  const int H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  const int64_t kvd = static_cast<int64_t>(KV) * hd;
  const auto inv = inv_freq(c, pl.type);
  std::vector<float> q(static_cast<size_t>(T * H * hd));
  const int src = pl.kv_source < 0 ? pl.layer : pl.kv_source;
  if (pl.kv_source < 0) {
    auto& ck = (*as.chunk_k)[pl.layer];
    auto& cv = (*as.chunk_v)[pl.layer];
    ck.resize(static_cast<size_t>(T * kvd));
    cv.resize(static_cast<size_t>(T * kvd));
    const SameInputOut qkv[] = {{lw.q_proj, q.data()}, {lw.k_proj, ck.data()}, {lw.v_proj, cv.data()}};
    matmul_same_input(ctx, qkv, an, T);
    norm_rope_heads(ctx, lw.k_norm.data(), c, as, inv.data(), T, KV, ck.data());
    norm_rope_heads(ctx, nullptr, c, as, nullptr, T, KV, cv.data());
  } else {
    matmul(ctx, lw.q_proj, an, T, q.data());
  }
  norm_rope_heads(ctx, lw.q_norm.data(), c, as, inv.data(), T, H, q.data());
  const float* ck = (*as.chunk_k)[src].data();
  const float* cv = (*as.chunk_v)[src].data();
  const bool sliding = pl.type == LayerType::kSliding;
  const int window = c.sliding_window;
  const int group = H / KV;

  std::vector<float> attn(static_cast<size_t>(T * H * hd));
  const KvRows kr{&as, src, ck, cv, kvd, hd};
  if (T >= kTiledMinRows) {
    attend_tiled(ctx, c, kr, sliding, q.data(), attn.data());
  } else {
    ctx.parallel_for(T * H, 4, [&](int64_t b, int64_t e) {
      std::vector<float> scores;
      for (int64_t th = b; th < e; ++th) {
        const int64_t t = th / H;
        const int h = static_cast<int>(th % H), kvh = h / group;
        const int p = as.positions[t];
        const int lo = sliding ? std::max(0, p - window + 1) : 0;
        const float* qv = q.data() + (t * H + h) * hd;
        scores.resize(static_cast<size_t>(p - lo + 1));
        for (int k = lo; k <= p; ++k) scores[k - lo] = ops::dot(qv, kr.key(t, k) + kvh * hd, hd);
        ops::softmax(scores.data(), static_cast<int64_t>(scores.size()));
        float* out = attn.data() + (t * H + h) * hd;
        std::fill(out, out + hd, 0.f);
        for (int k = lo; k <= p; ++k) ops::axpy(scores[k - lo], kr.value(t, k) + kvh * hd, out, hd);
      }
    });
  }
  matmul(ctx, lw.o_proj, attn.data(), T, o);
}

}  // namespace gs::runtime::gemma3n
