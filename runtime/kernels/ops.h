// Element-wise and row-wise float32 kernels used by the models (norms, activations, RoPE, softmax).
#pragma once
#include <cstdint>

namespace gs::runtime::ops {

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w   (w == nullptr: no scale). In-place allowed.
void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y);
// tanh-approximate GELU ("gelu_pytorch_tanh"), in place.
void gelu_tanh(float* x, int64_t n);
float gelu_tanh(float x);
// Rotate-half (NeoX) RoPE on `heads` vectors of head_dim at position `pos`, in place.
// inv_freq has head_dim/2 entries.
void rope(float* x, int heads, int head_dim, int64_t pos, const float* inv_freq);
// Softmax over n values, in place (max-subtracted, double accumulation of the sum).
void softmax(float* x, int64_t n);
// x <- tanh(x / cap) * cap (Gemma's final logit soft-capping), in place.
void softcap(float* x, int64_t n, float cap);
// y += a * x
void axpy(float a, const float* x, float* y, int64_t n);
float dot(const float* a, const float* b, int64_t n);

}  // namespace gs::runtime::ops
