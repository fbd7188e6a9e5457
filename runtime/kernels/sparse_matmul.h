// Matmuls over a subset of a weight's rows, for Gemma 3n's sparse FFN layers: after the gaussian
// top-k only ~5 % of the FFN neurons are non-zero, so the up projection needs only their rows and
// the down projection only their columns. Down is stored transposed ([F, D]) in those layers so
// that "only the columns of active neurons" becomes "only their rows": contiguous reads, and the
// blocks of a quantized format run along D, never mixing active and inactive neurons.
#pragma once
#include <cstdint>
#include <span>

#include "runtime/kernels/matmul.h"

namespace gs::runtime {

// Columns [c0, c0 + len) of row r widened to f32. c0 and len are whole blocks for quantized
// formats (blocks run along the row).
void weight_row_segment_to_f32(const WeightView& w, int64_t r, int64_t c0, int64_t len, float* dst);

// y[i, k] = x[i, :] · W[rows[k], :] for i < n, k < rows.size(). Strides in elements.
void matmul_gather_rows(const ComputeContext& ctx, const WeightView& w, std::span<const int32_t> rows, const float* x,
                        int64_t n, int64_t x_stride, float* y, int64_t y_stride);

// y[i, :] = sum_k h[i, k] · Wt[rows[k], :] for a weight stored transposed (Wt is [in, out]):
// the product x · W with W = Wtᵀ restricted to the input features `rows`. y is overwritten
// (w.cols columns). Wt's format may be any; quantized blocks run along the output dimension.
void matmul_transposed_rows(const ComputeContext& ctx, const WeightView& wt, std::span<const int32_t> rows,
                            const float* h, int64_t n, int64_t h_stride, float* y, int64_t y_stride);

// Scalar references (double accumulation) of both.
void matmul_gather_rows_reference(const WeightView& w, std::span<const int32_t> rows, const float* x, int64_t n,
                                  int64_t x_stride, float* y, int64_t y_stride);
void matmul_transposed_rows_reference(const WeightView& wt, std::span<const int32_t> rows, const float* h, int64_t n,
                                      int64_t h_stride, float* y, int64_t y_stride);

}  // namespace gs::runtime
