// The weight bytes the matmul entry points report to their ComputeContext (the decode roofline
// of `gemma3n-cli bench` divides by them): each call counts the rows it reads times the bytes of
// the columns it uses, whatever the format, slice or sparse subset.
#include <gtest/gtest.h>

#include "runtime/kernels/sparse_matmul.h"
#include "runtime/kernels/sparse_pairs.h"
#include "tests/kernels/quant_test_util.h"

namespace gs::runtime {
namespace {

// Bytes ctx counted while fn ran.
template <class Fn>
uint64_t counted(const ComputeContext& ctx, Fn fn) {
  const uint64_t before = ctx.weight_bytes();
  fn();
  return ctx.weight_bytes() - before;
}

TEST(WeightTraffic, EachEntryPointCountsTheBytesItReads) {
  ComputeContext ctx(2);
  const int64_t rows = 96, cols = 256, n = 3;
  const auto wf = test::random_floats(static_cast<size_t>(rows * cols), 5, 0.05f);
  const auto x = test::random_floats(static_cast<size_t>(n * cols), 6);
  std::vector<float> y(static_cast<size_t>(n * std::max(rows, cols)));
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kQ8, WeightFormat::kQ4}) {
    const auto q = test::make_weight(f, wf, rows, cols);
    const uint64_t row = quant_row_bytes(f, cols), half = quant_row_bytes(f, cols / 2);
    EXPECT_EQ(counted(ctx, [&] { matmul(ctx, q.view, x.data(), n, y.data()); }), rows * row) << weight_format_name(f);
    // A MatFormer column slice reads the used part of each row only.
    EXPECT_EQ(counted(ctx, [&] { matmul(ctx, q.view.first_cols(cols / 2), x.data(), n, cols, y.data(), rows); }),
              rows * half);
    const SameInputOut two[] = {{q.view, y.data()}, {q.view.first_rows(10), y.data()}};
    EXPECT_EQ(counted(ctx, [&] { matmul_same_input(ctx, two, x.data(), 1); }), (rows + 10) * row);
    const std::vector<int32_t> some{1, 7, 40, 95};
    EXPECT_EQ(counted(ctx, [&] { matmul_gather_rows(ctx, q.view, some, x.data(), n, cols, y.data(), 4); }), 4 * row);
    EXPECT_EQ(counted(ctx, [&] { matmul_transposed_rows(ctx, q.view, some, x.data(), 1, 4, y.data(), cols); }),
              4 * row);
    // Prefill pairs: each active neuron's row once, however many tokens it has.
    std::vector<float> a(static_cast<size_t>(2 * rows), 0.f);
    a[5] = a[rows + 5] = a[rows + 9] = 1.f;
    const NeuronTokens nt = positive_pairs(a.data(), 2, rows, rows);
    std::vector<float> val(static_cast<size_t>(nt.nnz()), 1.f);
    EXPECT_EQ(counted(ctx, [&] { matmul_pairs(ctx, q.view, nt, x.data(), cols, val.data()); }), 2 * row);
    EXPECT_EQ(counted(ctx, [&] { matmul_transposed_pairs(ctx, q.view, nt, val.data(), 2, y.data(), cols); }), 2 * row);
  }
}

}  // namespace
}  // namespace gs::runtime
