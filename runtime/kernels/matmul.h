// The one matmul interface of the runtime: y[n, rows] = x[n, cols] · Wᵀ for a weight W stored
// PyTorch-style as [rows = out_features, cols = in_features] in any supported format.
// Every linear layer of every model goes through matmul(), so new weight formats plug in here
// without touching model code. MatFormer slices are views: first_rows / first_cols, no copies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "runtime/core/threading.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime {

enum class WeightFormat {
  kF32,   // float32
  kBF16,  // bfloat16 (as shipped)
  kQ8,    // 8-bit blocks of 32 along cols, one f16... scale per block (see kernels/quant.h)
  kQ4,    // 4-bit blocks of 64 along cols
};
const char* weight_format_name(WeightFormat f);
bool parse_weight_format(const std::string& s, WeightFormat* out);

struct WeightView {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;        // out features
  int64_t cols = 0;        // in features (used part)
  size_t row_bytes = 0;    // stride between rows in bytes
  const uint8_t* data = nullptr;
  // 1: rows one after the other. kQ4 only, 8: rows interleaved in groups of 8 (q4_interleave.h);
  // such a view has no contiguous single row (row() refuses it).
  int32_t interleave = 1;

  // Leading `n` output rows (MatFormer gate/up slices).
  WeightView first_rows(int64_t n) const;
  // Leading `n` input columns (MatFormer down_proj slices); quantized formats need whole blocks.
  WeightView first_cols(int64_t n) const;
  // Row r alone, as a one-row weight (the sparse paths' gathered rows). Plain layouts only.
  WeightView row(int64_t r) const;
  bool empty() const { return data == nullptr; }
  size_t bytes() const { return row_bytes * static_cast<size_t>(rows); }
  // Bytes a product reads from one row: its `cols` used columns (row_bytes may be a wider
  // parent's stride).
  size_t used_row_bytes() const;
};

// A weight converted into owned, 64-byte-aligned storage.
class OwnedWeight {
 public:
  OwnedWeight() = default;
  const WeightView& view() const { return view_; }
  size_t bytes() const { return size_; }
  // Converts a 2-D checkpoint tensor to `format`.
  // `interleave` 8 asks for the interleaved kQ4 layout; it is taken only when the result is kQ4
  // and can_interleave_q4(rows, cols), else the rows stay plain.
  static OwnedWeight from_tensor(const TensorRef& t, WeightFormat format, int32_t interleave = 1);
  // From float32 rows (e.g. a slice assembled by hand).
  static OwnedWeight from_f32(const float* data, int64_t rows, int64_t cols, WeightFormat format,
                              int32_t interleave = 1);

 private:
  struct Free { void operator()(uint8_t* p) const; };
  std::unique_ptr<uint8_t, Free> storage_;
  size_t size_ = 0;
  WeightView view_;
};

// y[i, r] = sum_c x[i, c] * W[r, c]. x has row stride x_stride, y row stride y_stride (elements).
// Parallel over the context's threads; no allocation for n <= 16 (the decode path).
void matmul(const ComputeContext& ctx, const WeightView& w, const float* x, int64_t n, int64_t x_stride, float* y,
            int64_t y_stride);
inline void matmul(const ComputeContext& ctx, const WeightView& w, const float* x, int64_t n, float* y) {
  matmul(ctx, w, x, n, w.cols, y, w.rows);
}

// Several weights applied to the same input x (q/k/v, gate/up), as one task list over all their
// rows: one parallel region and, for int8 activations, one quantization of x instead of one per
// weight. A decode step otherwise runs ~300 regions, each a wake-up and a join of the threads.
// The weights share cols (weights of different formats run one by one); y of each has row
// stride w.rows.
struct SameInputOut {
  WeightView w;
  float* y = nullptr;
};
void matmul_same_input(const ComputeContext& ctx, std::span<const SameInputOut> outs, const float* x, int64_t n);

// Scalar reference of matmul() for any format (tests compare every optimised path to it).
void matmul_reference(const WeightView& w, const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);

// Widens row r of W into dst[cols] (embedding lookups through the same storage as the LM head).
void weight_row_to_f32(const WeightView& w, int64_t r, float* dst);

}  // namespace gs::runtime
