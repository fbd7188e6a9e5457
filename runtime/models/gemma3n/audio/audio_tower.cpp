#include "runtime/models/gemma3n/audio/audio_tower.h"

#include <algorithm>

#include "runtime/models/gemma3n/audio/audio_ops.h"
#include "runtime/models/gemma3n/audio/conformer_attention.h"
#include "runtime/models/gemma3n/audio/ffw.h"
#include "runtime/models/gemma3n/audio/light_conv.h"
#include "runtime/models/gemma3n/audio/sscp.h"

namespace gs::runtime::gemma3n {
namespace {

// x [T2, D] in place; valid2 [T2]
void conformer_block(const ComputeContext& ctx, const AudioConfig& cfg, const ConformerWeights& w,
                     const std::vector<float>& pos_signal, float* x, int64_t T2, const uint8_t* valid2) {
  const int64_t D = cfg.hidden_size;
  ffw_residual(ctx, cfg, w.ffw_start, x, T2);
  attention_residual(ctx, cfg, w.attn, pos_signal, x, T2, valid2);
  for (int64_t t = 0; t < T2; ++t)  // the light conv (and its residual) sees zeros at padded frames
    if (!valid2[t]) std::fill(x + t * D, x + (t + 1) * D, 0.0f);
  light_conv_residual(ctx, cfg, w.lconv, x, T2);
  ffw_residual(ctx, cfg, w.ffw_end, x, T2);
  audio_ops::clip(x, T2 * D, cfg.gradient_clipping);
  ops::rms_norm(x, w.norm.data(), T2, D, cfg.rms_norm_eps, x);
}

}  // namespace

int64_t audio_tower_tokens(const AudioConfig& cfg, int64_t T) {
  const int64_t t1 = sscp_conv_out_time(T, cfg.sscp_kernel[0][0], cfg.sscp_stride[0][0]);
  const int64_t t2 = sscp_conv_out_time(t1, cfg.sscp_kernel[1][0], cfg.sscp_stride[1][0]);
  return (t2 + cfg.reduction_factor - 1) / cfg.reduction_factor;
}

// features [T, M] → SSCP [T2, D] → 12 × conformer [T2, D] → every reduction-th frame [T3, D]
AudioTowerOutput audio_tower_forward(const ComputeContext& ctx, const AudioConfig& cfg, const AudioTowerWeights& w,
                                     const float* features, int64_t T, const uint8_t* valid,
                                     AudioTowerTrace* trace) {
  AudioTowerOutput out;
  if (T <= 0) return out;
  const int64_t D = cfg.hidden_size;
  int64_t T2 = 0;
  std::vector<float> x = sscp_forward(ctx, cfg, w.sscp, features, T, &T2);
  // Mask at the sub-sampled rate: frame t takes the validity of mel frame min(stride·t, T-1).
  std::vector<uint8_t> valid2(static_cast<size_t>(T2));
  const int64_t stride = cfg.time_stride_product();
  for (int64_t t = 0; t < T2; ++t) valid2[t] = valid[std::min(t * stride, T - 1)] ? 1 : 0;
  if (trace) trace->sscp = x;
  const std::vector<float> pos_signal = relative_position_signal(cfg);
  for (const ConformerWeights& b : w.blocks) {
    conformer_block(ctx, cfg, b, pos_signal, x.data(), T2, valid2.data());
    if (trace) trace->blocks.push_back(x);
  }
  const int64_t r = cfg.reduction_factor;
  out.tokens = (T2 + r - 1) / r;
  out.encodings.assign(static_cast<size_t>(out.tokens * D), 0.0f);
  out.pad_mask.resize(static_cast<size_t>(out.tokens));
  for (int64_t j = 0; j < out.tokens; ++j) {
    out.pad_mask[j] = valid2[j * r] ? 0 : 1;
    if (valid2[j * r]) std::copy_n(x.data() + j * r * D, D, out.encodings.data() + j * D);
  }
  return out;
}

}  // namespace gs::runtime::gemma3n
