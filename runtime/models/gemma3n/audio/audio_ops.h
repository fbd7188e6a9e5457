// Small element-wise helpers shared by the audio encoder blocks (float32, row-major [rows, dim]).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/kernels/matmul.h"
#include "runtime/kernels/ops.h"

namespace gs::runtime::gemma3n::audio_ops {

// clamp(v, -bound, bound): upstream's gradient_clipping at inference (a no-op unless overflowing).
inline void clip(float* x, int64_t n, float bound) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], -bound, bound);
}
inline float silu(float v) { return v / (1.0f + std::exp(-v)); }
inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
inline void silu_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = silu(x[i]);
}
// torch.nn.functional.softplus with its default threshold 20.
inline float softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

// y[n, w.rows] = x[n, w.cols] · Wᵀ
inline void linear(const ComputeContext& ctx, const OwnedWeight& w, const float* x, int64_t n, float* y) {
  matmul(ctx, w.view(), x, n, y);
}
inline std::vector<float> linear(const ComputeContext& ctx, const OwnedWeight& w, const float* x, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * w.view().rows));
  linear(ctx, w, x, n, y.data());
  return y;
}

}  // namespace gs::runtime::gemma3n::audio_ops
