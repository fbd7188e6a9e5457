// Per-ISA versions behind ops.h's dispatch (internal to runtime/kernels). The scalar versions are
// the references the AVX2 ones are tested against.
#pragma once
#include <cstdint>

namespace gs::runtime::ops::detail {

void gelu_tanh_scalar(float* x, int64_t n);
void rms_norm_scalar(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y);
void rms_norm_avx2(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y);
void softcap_scalar(float* x, int64_t n, float cap);
void softcap_avx2(float* x, int64_t n, float cap);
float dot_scalar(const float* a, const float* b, int64_t n);
void axpy_scalar(float alpha, const float* x, float* y, int64_t n);

void gelu_tanh_avx2(float* x, int64_t n);
float dot_avx2(const float* a, const float* b, int64_t n);
void axpy_avx2(float alpha, const float* x, float* y, int64_t n);

}  // namespace gs::runtime::ops::detail
