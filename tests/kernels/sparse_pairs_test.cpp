// The pair-by-pair sparse FFN products (prefill chunks) against double-precision references, for
// every format, plus the construction of the pairs from an activity matrix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/kernels/sparse_pairs.h"
#include "tests/kernels/quant_test_util.h"

namespace gs::runtime {
namespace {

constexpr WeightFormat kFormats[] = {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kQ8, WeightFormat::kQ4};

// [T, F] with about `density` of the entries positive (the rest zero or negative), like the
// gated activations after the gaussian top-k; some neurons never active.
std::vector<float> activity(int64_t T, int64_t F, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution on(density);
  std::uniform_real_distribution<float> mag(0.01f, 2.f);
  std::vector<float> a(static_cast<size_t>(T * F));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < F; ++i) a[t * F + i] = (i % 7 != 3 && on(rng)) ? mag(rng) : (i % 2 ? 0.f : -mag(rng));
  return a;
}

TEST(SparsePairs, PositivePairsListEveryPositiveEntryOnceByNeuron) {
  const int64_t T = 23, F = 150;
  const auto a = activity(T, F, 0.1, 1);
  const NeuronTokens nt = positive_pairs(a.data(), T, F, F);
  ASSERT_EQ(nt.start.size(), nt.rows.size() + 1);
  int64_t positives = 0;
  for (float v : a) positives += v > 0.f;
  EXPECT_EQ(nt.nnz(), positives);
  for (size_t k = 0; k < nt.rows.size(); ++k) {
    ASSERT_LT(nt.start[k], nt.start[k + 1]) << "listed neurons are active somewhere";
    if (k > 0) EXPECT_LT(nt.rows[k - 1], nt.rows[k]);
    for (int32_t j = nt.start[k]; j < nt.start[k + 1]; ++j) {
      EXPECT_GT(a[nt.token[j] * F + nt.rows[k]], 0.f);
      if (j > nt.start[k]) EXPECT_LT(nt.token[j - 1], nt.token[j]);
    }
  }
  for (int64_t i = 3; i < F; i += 7) EXPECT_FALSE(std::binary_search(nt.rows.begin(), nt.rows.end(), i));
}

TEST(SparsePairs, ProductsMatchReferenceForEveryFormat) {
  ComputeContext ctx(2);
  const int64_t D = 320, F = 384;  // up: W [F, D]; down: Wt [F, D]
  const auto wf = test::random_floats(static_cast<size_t>(F * D), 5, 0.05f);
  for (WeightFormat f : kFormats) {
    const auto w = test::make_weight(f, wf, F, D);
    for (int64_t T : {8, 40, 130}) {
      const auto a = activity(T, F, 0.05, 7 + static_cast<uint32_t>(T));
      const NeuronTokens nt = positive_pairs(a.data(), T, F, F);
      const auto x = test::random_floats(static_cast<size_t>(T * D), 9);
      std::vector<float> got(static_cast<size_t>(nt.nnz()), NAN), ref(got.size());
      matmul_pairs(ctx, w.view, nt, x.data(), D, got.data());
      matmul_pairs_reference(w.view, nt, x.data(), D, ref.data());
      // The same products (q4/q8: the same int8 activation blocks) in another summation order.
      for (size_t j = 0; j < got.size(); ++j)
        ASSERT_NEAR(got[j], ref[j], 1e-5 * std::sqrt(static_cast<double>(D))) << weight_format_name(f) << " T=" << T;
      // And against the f32 activations: q4/q8 within the rounding of those blocks.
      if (f == WeightFormat::kQ4 || f == WeightFormat::kQ8) {
        size_t j = 0;
        for (size_t k = 0; k < nt.rows.size(); ++k)
          for (; j < static_cast<size_t>(nt.start[k + 1]); ++j) {
            const float* xt = x.data() + nt.token[j] * D;
            std::vector<float> row(static_cast<size_t>(D));
            weight_row_to_f32(w.view, nt.rows[k], row.data());
            double exact = 0;
            for (int64_t c = 0; c < D; ++c) exact += static_cast<double>(xt[c]) * row[c];
            ASSERT_NEAR(got[j], exact, test::int8_act_bound(w.view, nt.rows[k], xt) + 1e-4) << weight_format_name(f);
          }
      }

      std::vector<float> y(static_cast<size_t>(T * D), NAN), yref(y.size());
      matmul_transposed_pairs(ctx, w.view, nt, got.data(), T, y.data(), D);
      matmul_transposed_pairs_reference(w.view, nt, got.data(), T, yref.data(), D);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], yref[i], 1e-5 * std::sqrt(static_cast<double>(F))) << weight_format_name(f) << " T=" << T;
    }
  }
}

// A token with no active neuron gets an exact zero row, not stale memory.
TEST(SparsePairs, TokensWithoutActiveNeuronsGetZeros) {
  ComputeContext ctx(2);
  const int64_t T = 9, D = 128, F = 64;
  std::vector<float> a(static_cast<size_t>(T * F), 0.f);
  a[2 * F + 5] = 1.f;
  const NeuronTokens nt = positive_pairs(a.data(), T, F, F);
  ASSERT_EQ(nt.nnz(), 1);
  const auto w = test::make_weight(WeightFormat::kQ4, test::random_floats(static_cast<size_t>(F * D), 3), F, D);
  const float val = 2.f;
  std::vector<float> y(static_cast<size_t>(T * D), NAN);
  matmul_transposed_pairs(ctx, w.view, nt, &val, T, y.data(), D);
  std::vector<float> row(static_cast<size_t>(D));
  weight_row_to_f32(w.view, 5, row.data());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < D; ++c) ASSERT_EQ(y[t * D + c], t == 2 ? 2.f * row[c] : 0.f);
}

}  // namespace
}  // namespace gs::runtime
