// Shared helpers of the kernel tests: deterministic random data and quantized weight buffers.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "runtime/kernels/quant.h"

namespace gs::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Row lengths exercising each shape class of a format: one block, an odd block count, a few
// thousand columns, and rows too long for their f32 activations to stay in L1.
inline std::vector<int64_t> shape_cols(runtime::WeightFormat f) {
  if (f == runtime::WeightFormat::kQ4) return {64, 192, 2112, 8192};  // blocks of 64
  return {32, 96, 2080, 8192};
}

// A [rows, cols] weight in `format`, row stride quant_row_bytes(format, cols).
struct QuantWeight {
  std::vector<uint8_t> bytes;
  runtime::WeightView view;
};

inline QuantWeight make_weight(runtime::WeightFormat f, const std::vector<float>& w, int64_t rows, int64_t cols) {
  QuantWeight q;
  const size_t rb = runtime::quant_row_bytes(f, cols);
  q.bytes.assign(rb * static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r) runtime::quantize_row(f, w.data() + r * cols, cols, q.bytes.data() + r * rb);
  q.view = runtime::WeightView{f, rows, cols, rb, q.bytes.data()};
  return q;
}

// How far a dot product of row r with x may move when x is rounded to int8 blocks of 64 (the
// kernels' activation format): half a step per element, sum over blocks of sum|w| · max|x| / 254.
inline double int8_act_bound(const runtime::WeightView& w, int64_t r, const float* x) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  runtime::dequantize_row(w.format, w.data + static_cast<size_t>(r) * w.row_bytes, w.cols, row.data());
  double bound = 0;
  for (int64_t b = 0; b < w.cols; b += runtime::kQ4Block) {
    double wsum = 0, xmax = 0;
    for (int64_t c = b; c < b + runtime::kQ4Block; ++c) {
      wsum += std::fabs(row[c]);
      xmax = std::max(xmax, std::fabs(static_cast<double>(x[c])));
    }
    bound += wsum * xmax / 254.0;
  }
  return bound;
}

}  // namespace gs::test
