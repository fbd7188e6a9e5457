#include "runtime/models/gemma3n/vision/attention_block.h"

#include <algorithm>
#include <cmath>

#include "runtime/models/gemma3n/vision/norm_act.h"

namespace gs::runtime::gemma3n::vision {
namespace {

Expected<KvPath> load_kv(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in, int dim) {
  KvPath kv;
  if (s.kv_stride > 1) {
    GS_VLOAD(w, tl.get(p + "down_conv.weight", {in, 1, s.kv_kernel, s.kv_kernel}));
    GS_VLOAD(n, tl.get(p + "norm.weight", {in}));
    kv.down = DepthwiseNorm{make_depthwise_conv(w, in, s.kv_kernel, s.kv_stride), std::move(n)};
  }
  GS_VLOAD(w, tl.get(p + "proj.weight", {dim, in, 1, 1}));
  kv.proj = tl.matrix(w.data(), dim, in);
  return kv;
}

// x [H, W, C] (already normed) -> [H', W', dim]
FeatureMap kv_forward(const ComputeContext& ctx, const KvPath& kv, const FeatureMap& x, float eps) {
  if (!kv.down) return pointwise_conv(ctx, kv.proj, x);
  FeatureMap d = depthwise_conv(ctx, kv.down->conv, x);
  rms_norm2d(ctx, d, kv.down->norm, eps, /*gelu=*/false);
  return pointwise_conv(ctx, kv.proj, d);
}

}  // namespace

Expected<MobileAttention> load_mobile_attention(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in) {
  if (in != s.out_chs) return make_error(ErrorCode::kInvalidArgument, "vision: mqa " + p + " changes channels");
  MobileAttention b;
  b.heads = s.num_heads, b.key_dim = s.key_dim, b.value_dim = s.value_dim;
  GS_VLOAD(n, tl.get(p + "norm.weight", {in}));
  b.norm = std::move(n);
  GS_VLOAD(q, tl.get(p + "attn.query.proj.weight", {s.num_heads * s.key_dim, in, 1, 1}));
  b.query = tl.matrix(q.data(), s.num_heads * s.key_dim, in);
  GS_VLOAD(k, load_kv(tl, p + "attn.key.", s, in, s.key_dim));
  b.key = std::move(k);
  GS_VLOAD(v, load_kv(tl, p + "attn.value.", s, in, s.value_dim));
  b.value = std::move(v);
  GS_VLOAD(o, tl.get(p + "attn.output.proj.weight", {in, s.num_heads * s.value_dim, 1, 1}));
  b.output = tl.matrix(o.data(), in, s.num_heads * s.value_dim);
  if (tl.has(p + "layer_scale.gamma")) {
    GS_VLOAD(g, tl.get(p + "layer_scale.gamma", {in}));
    b.layer_scale = std::move(g);
  }
  return b;
}

// Rows are processed in chunks so the score matrix stays small; K and V^T become matmul weights.
void shared_kv_attention(const ComputeContext& ctx, const float* q, int64_t n, const float* k, const float* v,
                         int64_t m, int kd, int vd, float scale, float* out) {
  const OwnedWeight kw = OwnedWeight::from_f32(k, m, kd, WeightFormat::kF32);
  std::vector<float> vt(static_cast<size_t>(vd) * m);
  for (int64_t j = 0; j < m; ++j)
    for (int d = 0; d < vd; ++d) vt[static_cast<size_t>(d) * m + j] = v[j * vd + d];
  const OwnedWeight vw = OwnedWeight::from_f32(vt.data(), vd, m, WeightFormat::kF32);
  const int64_t chunk = std::max<int64_t>(64, (int64_t{1} << 22) / std::max<int64_t>(m, 1));
  std::vector<float> s(static_cast<size_t>(std::min(chunk, n) * m));
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t rn = std::min(chunk, n - r0);
    matmul(ctx, kw.view(), q + r0 * kd, rn, s.data());
    ctx.parallel_for(rn, 64, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        float* row = s.data() + r * m;
        float mx = -INFINITY;
        for (int64_t j = 0; j < m; ++j) mx = std::max(mx, row[j] * scale);
        for (int64_t j = 0; j < m; ++j) row[j] = row[j] * scale - mx;
        exp_inplace(row, m);
        double sum = 0.0;
        for (int64_t j = 0; j < m; ++j) sum += row[j];
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < m; ++j) row[j] *= inv;
      }
    });
    matmul(ctx, vw.view(), s.data(), rn, out + r0 * vd);
  }
}

// Shapes: x [H, W, C]; Q [H*W, heads*kd] read as [H*W*heads, kd]; K [M, kd]; V [M, vd];
// O [H*W*heads, vd] = [H*W, heads*vd] -> output proj [H, W, C].
FeatureMap forward(const ComputeContext& ctx, const MobileAttention& b, const FeatureMap& x, float eps) {
  FeatureMap xn = x;
  rms_norm2d(ctx, xn, b.norm, eps, /*gelu=*/false);
  const FeatureMap q = pointwise_conv(ctx, b.query, xn);
  const FeatureMap k = kv_forward(ctx, b.key, xn, eps);
  const FeatureMap v = kv_forward(ctx, b.value, xn, eps);
  FeatureMap o(b.heads * b.value_dim, x.h, x.w);
  shared_kv_attention(ctx, q.data.data(), x.pixels() * b.heads, k.data.data(), v.data.data(), k.pixels(),
                      b.key_dim, b.value_dim, 1.0f / std::sqrt(static_cast<float>(b.key_dim)), o.data.data());
  FeatureMap y = pointwise_conv(ctx, b.output, o);
  scale_and_add(ctx, y, b.layer_scale, &x);
  return y;
}

}  // namespace gs::runtime::gemma3n::vision
