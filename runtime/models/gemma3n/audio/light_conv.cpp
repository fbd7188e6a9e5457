#include "runtime/models/gemma3n/audio/light_conv.h"

#include <vector>

#include "runtime/models/gemma3n/audio/audio_ops.h"

namespace gs::runtime::gemma3n {

// x [T, D] → [T, 2D] → GLU [T, D] → depthwise causal conv (K taps, K-1 zeros before) → [T, D]
void light_conv_residual(const ComputeContext& ctx, const AudioConfig& cfg, const LightConvWeights& w, float* x,
                         int64_t T) {
  const int64_t D = cfg.hidden_size;
  const int K = cfg.conv_kernel_size;
  std::vector<float> h(static_cast<size_t>(T * D));
  ops::rms_norm(x, w.pre_norm.data(), T, D, cfg.rms_norm_eps, h.data());
  std::vector<float> wide = audio_ops::linear(ctx, w.linear_start, h.data(), T);
  for (int64_t t = 0; t < T; ++t) {  // GLU: the gate is the second half
    const float* r = wide.data() + t * 2 * D;
    float* g = h.data() + t * D;
    for (int64_t d = 0; d < D; ++d) g[d] = r[d] * audio_ops::sigmoid(r[D + d]);
  }
  std::vector<float> taps(static_cast<size_t>(K * D));  // [K, D]: contiguous per tap, vectorises
  for (int64_t d = 0; d < D; ++d)
    for (int j = 0; j < K; ++j) taps[static_cast<size_t>(j * D + d)] = w.depthwise[static_cast<size_t>(d * K + j)];
  std::vector<float> conv(static_cast<size_t>(T * D), 0.0f);
  ctx.parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* out = conv.data() + t * D;
      for (int j = 0; j < K; ++j) {  // tap j reads frame t - (K-1) + j
        const int64_t src = t - (K - 1) + j;
        if (src < 0) continue;
        const float* in = h.data() + src * D;
        const float* tap = taps.data() + j * D;
        for (int64_t d = 0; d < D; ++d) out[d] += tap[d] * in[d];
      }
    }
  });
  audio_ops::clip(conv.data(), T * D, cfg.gradient_clipping);
  ops::rms_norm(conv.data(), w.conv_norm.data(), T, D, cfg.rms_norm_eps, conv.data());
  audio_ops::silu_inplace(conv.data(), T * D);
  audio_ops::linear(ctx, w.linear_end, conv.data(), T, h.data());
  for (int64_t i = 0; i < T * D; ++i) x[i] += h[i];
}

}  // namespace gs::runtime::gemma3n
