#include "runtime/models/gemma3n/vision/norm_act.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gs::runtime::gemma3n::vision {

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

namespace {

// exp(t) for t in [-87, 87]: Cody-Waite reduction t = k ln2 + r, degree-6 Taylor polynomial for
// e^r (|r| <= ln2 / 2, ~1 ulp), times 2^k built in the exponent bits.
inline float exp_poly(float r) {
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  return p * r + 1.0f;
}
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.428606765330187e-06f;
constexpr float kTwoC = 2.0f * 0.7978845608028654f;  // 2 sqrt(2 / pi)

inline float exp_scalar(float t) {
  t = std::min(std::max(t, -87.0f), 87.0f);
  const float k = std::nearbyint(t * kLog2e);
  const float r = (t - k * kLn2Hi) - k * kLn2Lo;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return exp_poly(r) * scale;
}

#if defined(__SSE2__)
inline __m128 exp_sse(__m128 t) {
  t = _mm_min_ps(_mm_max_ps(t, _mm_set1_ps(-87.0f)), _mm_set1_ps(87.0f));
  const __m128i ki = _mm_cvtps_epi32(_mm_mul_ps(t, _mm_set1_ps(kLog2e)));  // round to nearest
  const __m128 k = _mm_cvtepi32_ps(ki);
  const __m128 r = _mm_sub_ps(_mm_sub_ps(t, _mm_mul_ps(k, _mm_set1_ps(kLn2Hi))), _mm_mul_ps(k, _mm_set1_ps(kLn2Lo)));
  __m128 p = _mm_set1_ps(1.0f / 720.0f);
  for (float c : {1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(c));
  const __m128 scale = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(ki, _mm_set1_epi32(127)), 23));
  return _mm_mul_ps(p, scale);
}
#endif

}  // namespace

// 0.5 x (1 + tanh(u)) == x * sigmoid(2u) == x / (1 + exp(-2u)), with the exp above: std::tanh per
// element cost seconds per 768x768 image (~2.4e8 activations); this runs 4 lanes at a time.
void gelu_tanh_inplace(float* x, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) {
    const __m128 v = _mm_loadu_ps(x + i);
    const __m128 v3 = _mm_mul_ps(_mm_mul_ps(v, v), v);
    const __m128 u = _mm_add_ps(v, _mm_mul_ps(_mm_set1_ps(0.044715f), v3));
    const __m128 e = exp_sse(_mm_mul_ps(_mm_set1_ps(-kTwoC), u));
    _mm_storeu_ps(x + i, _mm_div_ps(v, _mm_add_ps(_mm_set1_ps(1.0f), e)));
  }
#endif
  for (; i < n; ++i) {
    const float v = x[i];
    x[i] = v / (1.0f + exp_scalar(-kTwoC * (v + 0.044715f * v * v * v)));
  }
}

void exp_inplace(float* x, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, exp_sse(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) x[i] = exp_scalar(x[i]);
}

void rms_norm_rows(float* x, int64_t n, int64_t d, const float* w, float eps) {
  for (int64_t r = 0; r < n; ++r) {
    float* row = x + r * d;
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(row[i]) * row[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    if (w) {
      for (int64_t i = 0; i < d; ++i) row[i] = row[i] * inv * w[i];
    } else {
      for (int64_t i = 0; i < d; ++i) row[i] *= inv;
    }
  }
}

void rms_norm2d(const ComputeContext& ctx, FeatureMap& x, const std::vector<float>& w, float eps, bool gelu) {
  const int c = x.c;
  ctx.parallel_for(x.pixels(), 256, [&](int64_t b, int64_t e) {
    rms_norm_rows(x.px(b), e - b, c, w.data(), eps);
    if (gelu) {
      float* p = x.px(b);
      const int64_t n = (e - b) * c;
      gelu_tanh_inplace(p, n);
    }
  });
}

void scale_and_add(const ComputeContext& ctx, FeatureMap& x, const std::vector<float>& gamma,
                   const FeatureMap* residual) {
  const int c = x.c;
  ctx.parallel_for(x.pixels(), 256, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      float* row = x.px(p);
      if (!gamma.empty())
        for (int i = 0; i < c; ++i) row[i] *= gamma[i];
      if (residual) {
        const float* r = residual->px(p);
        for (int i = 0; i < c; ++i) row[i] += r[i];
      }
    }
  });
}

}  // namespace gs::runtime::gemma3n::vision
