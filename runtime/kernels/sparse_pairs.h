// Sparse FFN products pair by pair, for prefill chunks (see NeuronTokens).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/matmul.h"

namespace gs::runtime {

// The active (token, neuron) pairs of a sparse FFN layer over a prefill chunk, grouped by neuron:
// neuron k (the weight row rows[k]) is active in tokens token[start[k] .. start[k + 1]), in
// ascending order. At sparsity 0.95 each token keeps ~5 % of the neurons, but over a chunk of
// hundreds of tokens nearly every neuron is active in some token, so gathering the union of
// active rows (matmul_gather_rows) saves nothing there; working pair by pair does ~20x fewer
// multiply-adds than the dense product.
struct NeuronTokens {
  std::vector<int32_t> rows;   // K active neurons (weight rows), ascending
  std::vector<int32_t> start;  // K + 1 offsets into token
  std::vector<int32_t> token;  // nnz token indices
  int64_t nnz() const { return static_cast<int64_t>(token.size()); }
};

// The pairs where a[t * a_stride + i] > 0, for t < T, i < F.
NeuronTokens positive_pairs(const float* a, int64_t T, int64_t F, int64_t a_stride);

// val[j] = x[token[j], :] · W[rows[k], :] for each pair j of neuron k.
void matmul_pairs(const ComputeContext& ctx, const WeightView& w, const NeuronTokens& nt, const float* x,
                  int64_t x_stride, float* val);

// y[t, :] = sum over the pairs j = (t, k) of val[j] · Wt[rows[k], :] for a weight stored
// transposed (Wt is [in, out]); y is overwritten for t < T (w.cols columns).
void matmul_transposed_pairs(const ComputeContext& ctx, const WeightView& wt, const NeuronTokens& nt, const float* val,
                             int64_t T, float* y, int64_t y_stride);

// Scalar references (double accumulation).
void matmul_pairs_reference(const WeightView& w, const NeuronTokens& nt, const float* x, int64_t x_stride, float* val);
void matmul_transposed_pairs_reference(const WeightView& wt, const NeuronTokens& nt, const float* val, int64_t T,
                                       float* y, int64_t y_stride);

}  // namespace gs::runtime
