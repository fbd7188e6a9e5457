// Per-pixel channel RMSNorm (timm RmsNorm2d / RmsNormAct2d), tanh-GELU and layer scale, all in
// place on channels-last maps.
#pragma once
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/vision/feature_map.h"

namespace gs::runtime::gemma3n::vision {

// GELU, tanh approximation (timm's _GELU = GELU(approximate='tanh')).
float gelu_tanh(float x);
// The same on an array, vectorised (within a few float32 ulp of gelu_tanh).
void gelu_tanh_inplace(float* x, int64_t n);
// x <- exp(x), vectorised, ~1-2 ulp; inputs are clamped to [-87, 87] (callers pass values <= 0).
void exp_inplace(float* x, int64_t n);

// x[p, c] <- x[p, c] / sqrt(mean_c x[p, :]^2 + eps) * w[c], then GELU when `gelu`.
void rms_norm2d(const ComputeContext& ctx, FeatureMap& x, const std::vector<float>& w, float eps, bool gelu);

// x <- residual + x * gamma[c] (LayerScale2d then the skip); gamma empty = no scale, residual null = no skip.
void scale_and_add(const ComputeContext& ctx, FeatureMap& x, const std::vector<float>& gamma, const FeatureMap* residual);

// Rows of plain vectors: RMSNorm of each [n, d] row (w empty = no weight, Gemma3nRMSNorm semantics).
void rms_norm_rows(float* x, int64_t n, int64_t d, const float* w, float eps);

}  // namespace gs::runtime::gemma3n::vision
