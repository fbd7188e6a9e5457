#include "runtime/kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "runtime/kernels/isa.h"
#include "runtime/kernels/ops_kernels.h"

namespace gs::runtime::ops {

namespace detail {

void gelu_tanh_scalar(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
}

void softcap_scalar(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] / cap) * cap;
}

float dot_scalar(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_scalar(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void rms_norm_scalar(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps);
    if (w) {
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * w[i];
    } else {
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv;
    }
  }
}
}  // namespace detail

void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y) {
  if (has_avx2_fma_f16c()) detail::rms_norm_avx2(x, w, rows, dim, eps, y);
  else detail::rms_norm_scalar(x, w, rows, dim, eps, y);
}



float gelu_tanh(float x) {
  constexpr float kC = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(kC * (x + 0.044715f * x * x * x)));
}

void gelu_tanh(float* x, int64_t n) {
  if (has_avx2_fma_f16c()) detail::gelu_tanh_avx2(x, n);
  else detail::gelu_tanh_scalar(x, n);
}

void rope(float* x, int heads, int head_dim, int64_t pos, const float* inv_freq) {
  const int half = head_dim / 2;
  // The angle in double: at positions near 32k a float32 product loses ~3 bits of the phase.
  float cs[512], sn[512];
  for (int i = 0; i < half; ++i) {
    const double a = static_cast<double>(pos) * static_cast<double>(inv_freq[i]);
    cs[i] = static_cast<float>(std::cos(a));
    sn[i] = static_cast<float>(std::sin(a));
  }
  for (int h = 0; h < heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cs[i] - b * sn[i];
      v[i + half] = b * cs[i] + a * sn[i];
    }
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float m = *std::max_element(x, x + n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s += x[i];
  }
  const float inv = static_cast<float>(1.0 / s);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void softcap(float* x, int64_t n, float cap) {
  if (has_avx2_fma_f16c()) detail::softcap_avx2(x, n, cap);
  else detail::softcap_scalar(x, n, cap);
}

void axpy(float a, const float* x, float* y, int64_t n) {
  if (has_avx2_fma_f16c()) detail::axpy_avx2(a, x, y, n);
  else detail::axpy_scalar(a, x, y, n);
}

float dot(const float* a, const float* b, int64_t n) {
  return has_avx2_fma_f16c() ? detail::dot_avx2(a, b, n) : detail::dot_scalar(a, b, n);
}

}  // namespace gs::runtime::ops
