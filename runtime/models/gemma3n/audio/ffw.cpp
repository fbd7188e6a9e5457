#include "runtime/models/gemma3n/audio/ffw.h"

#include <vector>

#include "runtime/models/gemma3n/audio/audio_ops.h"

namespace gs::runtime::gemma3n {

// x [T, D] → h [T, D] → [T, 4D] → [T, D]; the residual uses the unclipped x.
void ffw_residual(const ComputeContext& ctx, const AudioConfig& cfg, const FfwWeights& w, float* x, int64_t T) {
  const int64_t D = cfg.hidden_size;
  std::vector<float> h(x, x + T * D);
  audio_ops::clip(h.data(), T * D, cfg.gradient_clipping);
  ops::rms_norm(h.data(), w.pre_norm.data(), T, D, cfg.rms_norm_eps, h.data());
  std::vector<float> inner = audio_ops::linear(ctx, w.w1, h.data(), T);
  audio_ops::silu_inplace(inner.data(), static_cast<int64_t>(inner.size()));
  audio_ops::linear(ctx, w.w2, inner.data(), T, h.data());
  audio_ops::clip(h.data(), T * D, cfg.gradient_clipping);
  ops::rms_norm(h.data(), w.post_norm.data(), T, D, cfg.rms_norm_eps, h.data());
  for (int64_t i = 0; i < T * D; ++i) x[i] += cfg.residual_weight * h[i];
}

}  // namespace gs::runtime::gemma3n
