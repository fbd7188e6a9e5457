// The sparse-FFN matmuls against references: gathering rows equals the dense product restricted
// to those rows (same kernels, so within float summation noise), and the transposed product over
// a row subset equals a double-precision reference, for every format and for decode-sized (n <= 4)
// and prefill-sized (n > 32) batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "runtime/kernels/sparse_matmul.h"
#include "tests/kernels/quant_test_util.h"

namespace gs::runtime {
namespace {

constexpr WeightFormat kFormats[] = {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kQ8, WeightFormat::kQ4};

std::vector<int32_t> random_subset(int64_t total, double fraction, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> rows;
  std::bernoulli_distribution keep(fraction);
  for (int32_t r = 0; r < total; ++r)
    if (keep(rng)) rows.push_back(r);
  if (rows.empty()) rows.push_back(static_cast<int32_t>(total / 2));
  return rows;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float f : v) m = std::max(m, static_cast<double>(std::fabs(f)));
  return m;
}

TEST(SparseMatmul, GatherEqualsDenseRowsForEveryFormat) {
  ComputeContext ctx(2);
  const int64_t rows = 320, cols = 256;
  const auto wf = test::random_floats(static_cast<size_t>(rows * cols), 3, 0.05f);
  for (WeightFormat f : kFormats) {
    const auto w = test::make_weight(f, wf, rows, cols);
    for (int64_t n : {1, 3, 40}) {
      const auto x = test::random_floats(static_cast<size_t>(n * cols), 4 + static_cast<uint32_t>(n));
      std::vector<float> dense(static_cast<size_t>(n * rows));
      matmul(ctx, w.view, x.data(), n, cols, dense.data(), rows);
      const auto subset = random_subset(rows, 0.1, 9);
      const auto K = static_cast<int64_t>(subset.size());
      std::vector<float> got(static_cast<size_t>(n * K), NAN), ref(static_cast<size_t>(n * K));
      matmul_gather_rows(ctx, w.view, subset, x.data(), n, cols, got.data(), K);
      matmul_gather_rows_reference(w.view, subset, x.data(), n, cols, ref.data(), K);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < K; ++k) {
          const float d = dense[i * rows + subset[k]], g = got[i * K + k], r = ref[i * K + k];
          ASSERT_NEAR(g, d, 1e-4 + 1e-4 * std::fabs(d)) << weight_format_name(f) << " n=" << n;
          // Against the f32-activation reference: q4 (and q8 at decode sizes) round activations to int8 blocks
          // of 64, off by at most half a step each: sum over blocks of sum|w| · max|x| / 254.
          const bool int8 = f == WeightFormat::kQ4 || (f == WeightFormat::kQ8 && n <= 32);
          const double tol = int8 ? test::int8_act_bound(w.view, subset[k], x.data() + i * cols) : 0.0;
          ASSERT_NEAR(g, r, tol + 1e-4 + 1e-4 * std::fabs(r)) << weight_format_name(f) << " n=" << n;
        }
    }
  }
}

TEST(SparseMatmul, TransposedRowsMatchReferenceForEveryFormat) {
  ComputeContext ctx(2);
  const int64_t in = 384, out = 320;  // Wt is [in, out]
  const auto wf = test::random_floats(static_cast<size_t>(in * out), 5, 0.05f);
  for (WeightFormat f : kFormats) {
    const auto wt = test::make_weight(f, wf, in, out);
    for (int64_t n : {1, 2, 4, 7, 40}) {
      for (double frac : {0.05, 1.0}) {
        const auto subset = random_subset(in, frac, 11 + static_cast<uint32_t>(n));
        const auto K = static_cast<int64_t>(subset.size());
        auto h = test::random_floats(static_cast<size_t>(n * K), 6 + static_cast<uint32_t>(n));
        h[0] = 0.f;  // zeros are skipped on the small-batch path: still exact
        std::vector<float> got(static_cast<size_t>(n * out), NAN), ref(static_cast<size_t>(n * out));
        matmul_transposed_rows(ctx, wt.view, subset, h.data(), n, K, got.data(), out);
        matmul_transposed_rows_reference(wt.view, subset, h.data(), n, K, ref.data(), out);
        const double scale = max_abs(ref);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], ref[i], 1e-5 * scale * std::sqrt(static_cast<double>(K)) + 1e-6)
              << weight_format_name(f) << " n=" << n << " frac=" << frac << " i=" << i;
      }
    }
  }
}

// Batched decode: the rows listed are the union of the activation rows' neurons, each row
// non-zero on its own part of it (one row on none): each row lists its own neurons.
TEST(SparseMatmul, TransposedRowsOfABatchUseEachRowsOwnNeurons) {
  ComputeContext ctx(2);
  const int64_t in = 512, out = 256;
  const auto wf = test::random_floats(static_cast<size_t>(in * out), 15, 0.05f);
  for (WeightFormat f : {WeightFormat::kQ4, WeightFormat::kQ8}) {
    const auto wt = test::make_weight(f, wf, in, out);
    const auto subset = random_subset(in, 0.3, 17);
    const auto K = static_cast<int64_t>(subset.size());
    for (int64_t n : {2, 3, 4}) {
      auto h = test::random_floats(static_cast<size_t>(n * K), 18);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < K; ++k)
          if (i == n - 1 || k % n != i) h[i * K + k] = 0.f;  // the last row: no neuron at all
      std::vector<float> got(static_cast<size_t>(n * out), NAN), ref(got.size());
      matmul_transposed_rows(ctx, wt.view, subset, h.data(), n, K, got.data(), out);
      matmul_transposed_rows_reference(wt.view, subset, h.data(), n, K, ref.data(), out);
      const double scale = max_abs(ref);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], ref[i], 1e-5 * scale * std::sqrt(static_cast<double>(K)) + 1e-6)
            << weight_format_name(f) << " n=" << n << " i=" << i;
      for (int64_t c = 0; c < out; ++c) ASSERT_EQ(got[(n - 1) * out + c], 0.f);
    }
  }
}

// The full transposed product over all rows equals the ordinary matmul with the untransposed
// weight (f32), which is how the sparse layers keep the dense path's results.
TEST(SparseMatmul, TransposedAllRowsEqualsMatmulOfTheTranspose) {
  ComputeContext ctx(2);
  const int64_t in = 256, out = 96;
  const auto wtf = test::random_floats(static_cast<size_t>(in * out), 8, 0.05f);
  std::vector<float> wf(static_cast<size_t>(in * out));
  for (int64_t a = 0; a < in; ++a)
    for (int64_t d = 0; d < out; ++d) wf[d * in + a] = wtf[a * out + d];
  const auto wt = test::make_weight(WeightFormat::kF32, wtf, in, out);
  const auto w = test::make_weight(WeightFormat::kF32, wf, out, in);
  std::vector<int32_t> all(in);
  std::iota(all.begin(), all.end(), 0);
  for (int64_t n : {1, 33}) {
    const auto h = test::random_floats(static_cast<size_t>(n * in), 12);
    std::vector<float> a(static_cast<size_t>(n * out)), b(static_cast<size_t>(n * out));
    matmul_transposed_rows(ctx, wt.view, all, h.data(), n, in, a.data(), out);
    matmul(ctx, w.view, h.data(), n, in, b.data(), out);
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4);
  }
}

}  // namespace
}  // namespace gs::runtime
