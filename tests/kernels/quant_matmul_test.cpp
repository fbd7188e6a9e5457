// quant_matmul_rows (AVX2 fused for n <= 32, widened tiles + sgemm above) against the scalar
// reference, for every format and shape class, plus MatFormer prefix views.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/kernels/matmul.h"
#include "runtime/kernels/quant.h"
#include "tests/kernels/quant_test_util.h"
#include "tests/support/compare.h"

namespace gs::runtime {
namespace {

using test::make_weight;
using test::random_floats;

struct Case {
  WeightFormat f;
  int64_t rows, cols, n;
};

std::string name(const Case& c) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s rows %lld cols %lld n %lld", weight_format_name(c.f),
                static_cast<long long>(c.rows), static_cast<long long>(c.cols), static_cast<long long>(c.n));
  return buf;
}

// Optimised vs reference on rows [3, rows) of a weight, with padded (unaligned) strides.
// Both use the same decoded weights, so they differ only by float summation order: the bound is
// relative to sum |x·w| (the condition of the dot product), far below what an indexing or
// scaling bug produces (>= one term, i.e. >= 1/cols of that sum).
void check_case(const Case& c) {
  const int64_t xs = c.cols + 5, ys = c.rows + 3, r0 = 3;
  const auto wf = random_floats(static_cast<size_t>(c.rows * c.cols), 1, 0.05f);
  const auto w = make_weight(c.f, wf, c.rows, c.cols);
  const auto x = random_floats(static_cast<size_t>(c.n * xs), 2);
  std::vector<float> y(static_cast<size_t>(c.n * ys), -7.f), ref(y.size(), -7.f), row(static_cast<size_t>(c.cols));
  quant_matmul_rows(c.f, w.view, r0, c.rows, x.data(), c.n, xs, y.data(), ys);
  quant_matmul_rows_reference(c.f, w.view, r0, c.rows, x.data(), c.n, xs, ref.data(), ys);
  for (int64_t r = 0; r < c.rows; ++r) {
    dequantize_row(c.f, w.view.data + r * w.view.row_bytes, c.cols, row.data());
    for (int64_t i = 0; i < c.n; ++i) {
      const float got = y[i * ys + r], want = ref[i * ys + r];
      if (r < r0) {  // rows outside the range are untouched
        ASSERT_EQ(got, -7.f) << name(c);
        continue;
      }
      double cond = 0;
      for (int64_t k = 0; k < c.cols; ++k) cond += std::fabs(static_cast<double>(x[i * xs + k]) * row[k]);
      ASSERT_NEAR(got, want, 1e-5 * cond)
          << name(c) << " at (" << i << ", " << r << ")";
    }
    for (int64_t i = 0; i < c.n; ++i)  // padding between output rows is untouched
      for (int64_t p = c.rows; p < ys; ++p) ASSERT_EQ(y[i * ys + p], -7.f) << name(c);
  }
}

TEST(QuantMatmul, MatchesReferenceForDecodeShapes) {
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBF16})
    for (int64_t n : {1, 2, 3, 4, 7, 8, 16, 32})
      for (int64_t cols : test::shape_cols(f)) check_case({f, 13, cols, n});
}

TEST(QuantMatmul, MatchesReferenceForPrefillShapes) {
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBF16}) {
    const auto cols = test::shape_cols(f);
    for (int k = 0; k < 3; ++k) check_case({f, 37, cols[k], 33});
    check_case({f, 70, cols[1], 512});  // more rows than one widened tile at small cols
    check_case({f, 21, cols[2], 512});  // odd block count, rows not a multiple of any tile
  }
  check_case({WeightFormat::kQ4, 9, 8192, 512});
}

TEST(QuantMatmul, Bf16HandlesPartialBlocks) {
  for (int64_t n : {1, 3, 5, 40})
    for (int64_t cols : {7, 100, 2050}) check_case({WeightFormat::kBF16, 11, cols, n});
}

// kQ4 (always) and kQ8 (decode sizes) multiply int8-quantized activations (blocks of 64): their
// distance from the exact product of the dequantized weights with f32 activations is at most half
// an activation step per element, i.e. sum over blocks of sum|w| · max|x_block| / 254 (plus float
// rounding). Returns the worst error relative to that bound.
double worst_int8_error(WeightFormat f, int64_t n) {
  const int64_t rows = 24, cols = 2112;  // 33 q4 blocks: the unrolled loops' tails run too
  const auto wf = random_floats(static_cast<size_t>(rows * cols), 8, 0.05f);
  const auto w = make_weight(f, wf, rows, cols);
  const auto x = random_floats(static_cast<size_t>(n * cols), 9);
  std::vector<float> y(static_cast<size_t>(n * rows)), row(static_cast<size_t>(cols));
  quant_matmul_rows(f, w.view, 0, rows, x.data(), n, cols, y.data(), rows);
  double worst = 0;
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(f, w.view.data + r * w.view.row_bytes, cols, row.data());
    for (int64_t i = 0; i < n; ++i) {
      double exact = 0, bound = 0, cond = 0;
      for (int64_t b = 0; b < cols / kQ4Block; ++b) {
        double xmax = 0, wsum = 0;
        for (int64_t c = b * kQ4Block; c < (b + 1) * kQ4Block; ++c) {
          exact += static_cast<double>(x[i * cols + c]) * row[c];
          cond += std::fabs(static_cast<double>(x[i * cols + c]) * row[c]);
          xmax = std::max(xmax, std::fabs(static_cast<double>(x[i * cols + c])));
          wsum += std::fabs(row[c]);
        }
        bound += wsum * xmax / 254.0;
      }
      const double err = std::fabs(y[i * rows + r] - exact);
      EXPECT_LE(err, bound + 1e-5 * cond) << weight_format_name(f) << " n " << n << " at (" << i << ", " << r << ")";
      worst = std::max(worst, (err - 1e-5 * cond) / bound);
    }
  }
  return worst;
}

TEST(QuantMatmul, Int8ActivationErrorIsBounded) {
  for (int64_t n : {1, 3, 32, 100})  // q4: decode and prefill sizes alike
    EXPECT_GT(worst_int8_error(WeightFormat::kQ4, n), 0.0) << n;  // really quantized, not f32 in disguise
  for (int64_t n : {1, 3, 32}) EXPECT_GT(worst_int8_error(WeightFormat::kQ8, n), 0.0) << n;
  // q8 prefill keeps f32 activations: only float rounding separates it from the exact product.
  EXPECT_LE(worst_int8_error(WeightFormat::kQ8, 33), 0.0);
}

TEST(QuantMatmul, Q8Int8MatchesReferenceForDecodeShapes) {
  for (int64_t n : {1, 2, 3, 4, 7, 32})
    for (int64_t cols : {64, 192, 2112, 8192}) check_case({WeightFormat::kQ8, 13, cols, n});
}

TEST(QuantMatmul, NonFiniteActivationsPropagate) {
  const int64_t rows = 5, cols = 64;
  const auto wf = random_floats(static_cast<size_t>(rows * cols), 4, 0.05f);
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBF16}) {
    const auto w = make_weight(f, wf, rows, cols);
    auto x = random_floats(static_cast<size_t>(2 * cols), 5);
    x[40] = std::numeric_limits<float>::quiet_NaN();  // row 0 only
    std::vector<float> y(static_cast<size_t>(2 * rows));
    quant_matmul_rows(f, w.view, 0, rows, x.data(), 2, cols, y.data(), rows);
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_TRUE(std::isnan(y[r])) << weight_format_name(f);
      EXPECT_TRUE(std::isfinite(y[rows + r])) << weight_format_name(f);
    }
  }
}

// A prefix view must compute exactly what a weight built from the sliced matrix computes.
TEST(QuantMatmul, PrefixViewsEqualSlicedWeights) {
  const int64_t rows = 40, cols = 256;
  const auto wf = random_floats(static_cast<size_t>(rows * cols), 5, 0.05f);
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBF16}) {
    const auto full = make_weight(f, wf, rows, cols);
    for (int64_t keep_rows : {rows, int64_t{17}}) {
      for (int64_t keep_cols : {cols, f == WeightFormat::kQ4 ? int64_t{192} : int64_t{96}}) {
        std::vector<float> sliced(static_cast<size_t>(keep_rows * keep_cols));
        for (int64_t r = 0; r < keep_rows; ++r)
          for (int64_t c = 0; c < keep_cols; ++c) sliced[r * keep_cols + c] = wf[r * cols + c];
        const auto small = make_weight(f, sliced, keep_rows, keep_cols);
        const WeightView view = full.view.first_rows(keep_rows).first_cols(keep_cols);
        ASSERT_EQ(view.row_bytes, full.view.row_bytes);
        for (int64_t n : {1, 5, 20}) {
          const auto x = random_floats(static_cast<size_t>(n * keep_cols), 6);
          std::vector<float> a(static_cast<size_t>(n * keep_rows)), b(a.size());
          quant_matmul_rows(f, view, 0, view.rows, x.data(), n, keep_cols, a.data(), keep_rows);
          quant_matmul_rows(f, small.view, 0, keep_rows, x.data(), n, keep_cols, b.data(), keep_rows);
          ASSERT_EQ(a, b) << weight_format_name(f) << " " << keep_rows << "x" << keep_cols << " n " << n;
        }
      }
    }
  }
}

// One task list over several weights with the same input computes what separate matmul() calls
// compute (same kernels, same quantized activations), for decode and prefill batches, prefix
// views (gate/up at a MatFormer width) and every format; weights of different formats run one
// by one. Only the task boundaries differ, and OpenBLAS's f32 kernels round a row differently by
// its place in a block: 1e-5 on outputs of ~1, where a misplaced row or stride is off by units.
TEST(QuantMatmul, SameInputEqualsSeparateMatmuls) {
  ComputeContext ctx(2);
  const int64_t cols = 256;
  const std::vector<int64_t> rows = {96, 24, 24};
  for (auto f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kQ8, WeightFormat::kQ4}) {
    std::vector<test::QuantWeight> ws;
    for (size_t i = 0; i < rows.size(); ++i)
      ws.push_back(make_weight(f, random_floats(static_cast<size_t>(rows[i] * cols), 10 + static_cast<uint32_t>(i), 0.05f),
                               rows[i], cols));
    for (int64_t n : {1, 4, 40}) {
      const auto x = random_floats(static_cast<size_t>(n * cols), 9);
      std::vector<std::vector<float>> a(rows.size()), b(rows.size());
      std::vector<SameInputOut> outs;
      for (size_t i = 0; i < rows.size(); ++i) {
        const WeightView v = i == 0 ? ws[i].view.first_rows(64) : ws[i].view;
        a[i].assign(static_cast<size_t>(n * v.rows), 0.f);
        b[i].assign(a[i].size(), 1.f);
        matmul(ctx, v, x.data(), n, a[i].data());
        outs.push_back({v, b[i].data()});
      }
      matmul_same_input(ctx, outs, x.data(), n);
      for (size_t i = 0; i < rows.size(); ++i)
        ASSERT_LT(test::max_abs_diff(a[i], b[i]), 1e-5f) << weight_format_name(f) << " n " << n << " weight " << i;
    }
  }
  const auto q4 = make_weight(WeightFormat::kQ4, random_floats(4 * 256, 1, 0.05f), 4, 256);
  const auto q8 = make_weight(WeightFormat::kQ8, random_floats(4 * 256, 1, 0.05f), 4, 256);
  const auto x = random_floats(256, 2);
  std::vector<float> y4(4), y8(4), want4(4), want8(4);
  const SameInputOut mixed[] = {{q4.view, y4.data()}, {q8.view, y8.data()}};
  matmul_same_input(ctx, mixed, x.data(), 1);  // formats differ: one by one
  matmul(ctx, q4.view, x.data(), 1, want4.data());
  matmul(ctx, q8.view, x.data(), 1, want8.data());
  EXPECT_EQ(y4, want4);
  EXPECT_EQ(y8, want8);
}

TEST(QuantMatmul, PrefixViewsMustBeWholeBlocks) {
  const auto wf = random_floats(4 * 256, 5, 0.05f);
  const auto q4 = make_weight(WeightFormat::kQ4, wf, 4, 256);
  const auto q8 = make_weight(WeightFormat::kQ8, wf, 4, 256);
  EXPECT_THROW(q4.view.first_cols(96), std::invalid_argument);
  EXPECT_EQ(q4.view.first_cols(128).cols, 128);
  EXPECT_EQ(q8.view.first_cols(96).cols, 96);
}

}  // namespace
}  // namespace gs::runtime
