#include "runtime/models/gemma3n/vision/msfa.h"

#include <algorithm>

#include "runtime/models/gemma3n/vision/norm_act.h"

namespace gs::runtime::gemma3n::vision {

Expected<Msfa> load_msfa(TensorLoader& tl, int in_chs, int out_chs, int output_resolution) {
  const std::vector<int64_t> exp_shape = tl.shape_of("msfa.ffn.pw_exp.conv.weight");
  if (exp_shape.size() != 4) return make_error(ErrorCode::kNotFound, "vision weights: missing msfa.ffn.pw_exp");
  const int mid = static_cast<int>(exp_shape[0]);  // timm: make_divisible(in_chs * 2)
  Msfa m;
  m.output_resolution = output_resolution;
  GS_VLOAD(pe, load_pointwise_norm(tl, "msfa.ffn.pw_exp.conv.weight", "msfa.ffn.pw_exp.bn.weight", in_chs, mid));
  m.ffn.pw_exp = std::move(pe);
  GS_VLOAD(pp, load_pointwise_norm(tl, "msfa.ffn.pw_proj.conv.weight", "msfa.ffn.pw_proj.bn.weight", mid, out_chs));
  m.ffn.pw_proj = std::move(pp);
  GS_VLOAD(n, tl.get("msfa.norm.weight", {out_chs}));
  m.norm = std::move(n);
  return m;
}

FeatureMap concat_upsampled(const FeatureMap& hi, const FeatureMap& lo) {
  FeatureMap out(hi.c + lo.c, hi.h, hi.w);
  for (int y = 0; y < hi.h; ++y) {
    const int sy = static_cast<int>(static_cast<int64_t>(y) * lo.h / hi.h);
    for (int x = 0; x < hi.w; ++x) {
      const int sx = static_cast<int>(static_cast<int64_t>(x) * lo.w / hi.w);
      float* dst = out.px(static_cast<int64_t>(y) * hi.w + x);
      std::copy_n(hi.px(static_cast<int64_t>(y) * hi.w + x), hi.c, dst);
      std::copy_n(lo.px(static_cast<int64_t>(sy) * lo.w + sx), lo.c, dst + hi.c);
    }
  }
  return out;
}

FeatureMap avg_pool(const FeatureMap& x, int f) {
  FeatureMap out(x.c, x.h / f, x.w / f);
  const float inv = 1.0f / static_cast<float>(f * f);
  for (int y = 0; y < out.h; ++y) {
    for (int xo = 0; xo < out.w; ++xo) {
      float* dst = out.px(static_cast<int64_t>(y) * out.w + xo);
      for (int dy = 0; dy < f; ++dy)
        for (int dx = 0; dx < f; ++dx) {
          const float* src = x.px(static_cast<int64_t>(y * f + dy) * x.w + xo * f + dx);
          for (int c = 0; c < x.c; ++c) dst[c] += src[c];
        }
      for (int c = 0; c < x.c; ++c) dst[c] *= inv;
    }
  }
  return out;
}

// Shapes: [H, W, c2] + [h, w, c3] -> [H, W, c2 + c3] -> ffn [H, W, out] -> pool [R, R, out] -> norm.
Expected<FeatureMap> forward(const ComputeContext& ctx, const Msfa& m, const FeatureMap& hi, const FeatureMap& lo,
                             float eps) {
  const int r = m.output_resolution;
  if (hi.h % r != 0 || hi.w % r != 0 || hi.h < r || hi.w < r || hi.h / r != hi.w / r)
    return make_error(ErrorCode::kUnsupported, "vision: MSFA grid " + std::to_string(hi.h) + "x" +
                                                   std::to_string(hi.w) + " is not a multiple of " + std::to_string(r));
  FeatureMap y = forward(ctx, m.ffn, concat_upsampled(hi, lo), eps);
  if (hi.h != r) y = avg_pool(y, hi.h / r);
  rms_norm2d(ctx, y, m.norm, eps, /*gelu=*/false);
  return y;
}

}  // namespace gs::runtime::gemma3n::vision
