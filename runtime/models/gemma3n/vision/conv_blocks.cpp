#include "runtime/models/gemma3n/vision/conv_blocks.h"

#include "runtime/models/gemma3n/vision/norm_act.h"

namespace gs::runtime::gemma3n::vision {

Expected<PointwiseNorm> load_pointwise_norm(TensorLoader& tl, const std::string& conv_name,
                                            const std::string& norm_name, int in, int out) {
  GS_VLOAD(w, tl.get(conv_name, {out, in, 1, 1}));
  GS_VLOAD(n, tl.get(norm_name, {out}));
  PointwiseNorm r;
  r.w = tl.matrix(w.data(), out, in);
  r.norm = std::move(n);
  return r;
}

Expected<DepthwiseNorm> load_depthwise_norm(TensorLoader& tl, const std::string& p, int chs, int k, int stride) {
  GS_VLOAD(w, tl.get(p + "conv.weight", {chs, 1, k, k}));
  GS_VLOAD(n, tl.get(p + "bn.weight", {chs}));
  DepthwiseNorm r;
  r.conv = make_depthwise_conv(w, chs, k, stride);
  r.norm = std::move(n);
  return r;
}

// Shapes: x [H, W, in] -> conv_exp [H/s, W/s, mid] -> conv_pwl [.., out].
Expected<EdgeResidual> load_edge_residual(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in) {
  const int mid = make_divisible((s.force_in_chs > 0 ? s.force_in_chs : in) * s.exp_ratio);
  const int k = s.exp_kernel;
  GS_VLOAD(we, tl.get(p + "conv_exp.weight", {mid, in, k, k}));
  GS_VLOAD(b1, tl.get(p + "bn1.weight", {mid}));
  GS_VLOAD(wp, tl.get(p + "conv_pwl.weight", {s.out_chs, mid, 1, 1}));
  GS_VLOAD(b2, tl.get(p + "bn2.weight", {s.out_chs}));
  EdgeResidual b;
  b.conv_exp = make_dense_conv(we, mid, in, k, s.stride, {}, tl.format());
  tl.note_matrix(b.conv_exp.w);
  b.bn1 = std::move(b1);
  b.conv_pwl = tl.matrix(wp.data(), s.out_chs, mid);
  b.bn2 = std::move(b2);
  b.skip = s.stride == 1 && in == s.out_chs && !s.noskip;
  return b;
}

// The block stride goes to dw_mid when present, else to dw_start (timm's UIR rule).
Expected<UniversalInvertedResidual> load_uir(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in) {
  const int mid = make_divisible(in * s.exp_ratio);
  UniversalInvertedResidual b;
  if (s.dw_start > 0) {
    GS_VLOAD(d, load_depthwise_norm(tl, p + "dw_start.", in, s.dw_start, s.dw_mid > 0 ? 1 : s.stride));
    b.dw_start = std::move(d);
  } else if (s.dw_mid == 0 && s.stride != 1) {
    return make_error(ErrorCode::kInvalidArgument, "vision: strided UIR " + p + " has no depthwise conv");
  }
  GS_VLOAD(pe, load_pointwise_norm(tl, p + "pw_exp.conv.weight", p + "pw_exp.bn.weight", in, mid));
  b.pw_exp = std::move(pe);
  if (s.dw_mid > 0) {
    GS_VLOAD(d, load_depthwise_norm(tl, p + "dw_mid.", mid, s.dw_mid, s.stride));
    b.dw_mid = std::move(d);
  }
  GS_VLOAD(pp, load_pointwise_norm(tl, p + "pw_proj.conv.weight", p + "pw_proj.bn.weight", mid, s.out_chs));
  b.pw_proj = std::move(pp);
  if (tl.has(p + "layer_scale.gamma")) {
    GS_VLOAD(g, tl.get(p + "layer_scale.gamma", {s.out_chs}));
    b.layer_scale = std::move(g);
  }
  b.skip = s.stride == 1 && in == s.out_chs && !s.noskip;
  return b;
}

FeatureMap forward(const ComputeContext& ctx, const EdgeResidual& b, const FeatureMap& x, float eps) {
  FeatureMap h = dense_conv(ctx, b.conv_exp, x);
  rms_norm2d(ctx, h, b.bn1, eps, /*gelu=*/true);
  FeatureMap y = pointwise_conv(ctx, b.conv_pwl, h);
  rms_norm2d(ctx, y, b.bn2, eps, /*gelu=*/false);
  if (b.skip) scale_and_add(ctx, y, {}, &x);
  return y;
}

FeatureMap forward(const ComputeContext& ctx, const UniversalInvertedResidual& b, const FeatureMap& x, float eps) {
  const FeatureMap* cur = &x;
  FeatureMap t;
  if (b.dw_start) {
    t = depthwise_conv(ctx, b.dw_start->conv, x);
    rms_norm2d(ctx, t, b.dw_start->norm, eps, /*gelu=*/false);
    cur = &t;
  }
  FeatureMap h = pointwise_conv(ctx, b.pw_exp.w, *cur);
  rms_norm2d(ctx, h, b.pw_exp.norm, eps, /*gelu=*/true);
  if (b.dw_mid) {
    h = depthwise_conv(ctx, b.dw_mid->conv, h);
    rms_norm2d(ctx, h, b.dw_mid->norm, eps, /*gelu=*/true);
  }
  FeatureMap y = pointwise_conv(ctx, b.pw_proj.w, h);
  rms_norm2d(ctx, y, b.pw_proj.norm, eps, /*gelu=*/false);
  scale_and_add(ctx, y, b.layer_scale, b.skip ? &x : nullptr);
  return y;
}

}  // namespace gs::runtime::gemma3n::vision
