// Interleaved kQ4 rows (groups of 8, kernels/q4_interleave.h): the layout holds exactly the plain
// rows' bytes, and every product through it equals the plain layout's, for 1 to 13 activation
// rows, task ranges that cut groups, MatFormer row and column slices, and any thread count.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "runtime/kernels/isa.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/q4_interleave.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/sparse_matmul.h"
#include "tests/kernels/quant_test_util.h"
#include "tests/support/compare.h"

namespace gs::runtime {
namespace {

struct Pair {
  OwnedWeight plain, grouped;
};

Pair make_pair(int64_t rows, int64_t cols, uint32_t seed) {
  const auto w = test::random_floats(static_cast<size_t>(rows * cols), seed, 0.05f);
  return {OwnedWeight::from_f32(w.data(), rows, cols, WeightFormat::kQ4),
          OwnedWeight::from_f32(w.data(), rows, cols, WeightFormat::kQ4, kQ4RowGroup)};
}

TEST(Q4Interleave, GroupedRowsHoldThePlainRowsBytes) {
  for (int64_t cols : {64, 192, 2112}) {
    const Pair p = make_pair(24, cols, 3);
    const WeightView& g = p.grouped.view();
    ASSERT_EQ(g.interleave, kQ4RowGroup);
    ASSERT_EQ(p.plain.view().interleave, 1);
    EXPECT_EQ(g.row_bytes, p.plain.view().row_bytes);
    EXPECT_EQ(p.grouped.bytes(), p.plain.bytes());
    std::vector<uint8_t> row(g.row_bytes);
    std::vector<float> a(static_cast<size_t>(cols)), b(a.size());
    for (int64_t r = 0; r < g.rows; ++r) {
      q4_plain_row(g, r, row.data());
      ASSERT_EQ(std::memcmp(row.data(), p.plain.view().data + r * g.row_bytes, g.row_bytes), 0) << "row " << r;
      weight_row_to_f32(g, r, a.data());
      weight_row_to_f32(p.plain.view(), r, b.data());
      ASSERT_EQ(a, b);
    }
  }
}

TEST(Q4Interleave, OnlyKq4OfWholeGroupsIsInterleaved) {
  const auto w = test::random_floats(20 * 128, 4);
  EXPECT_EQ(OwnedWeight::from_f32(w.data(), 20, 128, WeightFormat::kQ4, kQ4RowGroup).view().interleave, 1);
  EXPECT_EQ(OwnedWeight::from_f32(w.data(), 16, 128, WeightFormat::kQ8, kQ4RowGroup).view().interleave, 1);
  EXPECT_EQ(OwnedWeight::from_f32(w.data(), 16, 128, WeightFormat::kQ4, kQ4RowGroup).view().interleave, 8);
  const Pair p = make_pair(16, 128, 5);
  EXPECT_THROW(p.grouped.view().row(3), std::logic_error);
  EXPECT_NO_THROW(p.plain.view().row(3));
}

// The optimised kernel against the scalar twin on the plain rows (same int8 activations, exact
// integer block dots: only the float summation order differs), over task ranges that start and
// end inside groups.
TEST(Q4Interleave, RowRangesMatchTheScalarTwin) {
  for (int64_t cols : test::shape_cols(WeightFormat::kQ4)) {
    const Pair p = make_pair(40, cols, 7);
    const WeightView& g = p.grouped.view();
    for (int64_t n : {1, 2, 3, 4, 5, 8, 13}) {
      const auto x = test::random_floats(static_cast<size_t>(n * cols), 11 + static_cast<uint32_t>(n));
      std::vector<float> ref(static_cast<size_t>(n * 40), -1.f), grouped_ref(ref), got(ref);
      quant_matmul_rows_reference(WeightFormat::kQ4, p.plain.view(), 0, 40, x.data(), n, cols, ref.data(), 40);
      // The scalar twin reads the interleaved layout back into plain blocks: the same numbers.
      quant_matmul_rows_reference(WeightFormat::kQ4, g, 0, 40, x.data(), n, cols, grouped_ref.data(), 40);
      ASSERT_EQ(grouped_ref, ref);
      for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, 40}, {3, 21}, {8, 16}, {13, 14}, {37, 40}})
        quant_matmul_rows(WeightFormat::kQ4, g, r0, r1, x.data(), n, cols, got.data(), 40);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < 40; ++r) {
          const float want = ref[i * 40 + r];
          ASSERT_NEAR(got[i * 40 + r], want, 2e-5f * (1.f + std::fabs(want))) << "cols " << cols << " n " << n << " row " << r;
        }
    }
  }
}

// A range must write its own rows and nothing else, even when it cuts a group.
TEST(Q4Interleave, PartialGroupsWriteOnlyTheirRows) {
  const Pair p = make_pair(24, 128, 9);
  const auto x = test::random_floats(2 * 128, 12);
  std::vector<float> y(2 * 24, 7.f);
  quant_matmul_rows(WeightFormat::kQ4, p.grouped.view(), 5, 11, x.data(), 2, 128, y.data(), 24);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t r = 0; r < 24; ++r)
      if (r < 5 || r >= 11) EXPECT_EQ(y[i * 24 + r], 7.f) << "row " << r;
      else EXPECT_NE(y[i * 24 + r], 7.f) << "row " << r;
}

// MatFormer views: the first rows (a partial last group) and the first columns (fewer blocks,
// same group stride) of an interleaved weight equal the same views of the plain one.
TEST(Q4Interleave, MatFormerSlicesMatchThePlainLayout) {
  ComputeContext ctx(2);
  const Pair p = make_pair(48, 256, 13);
  for (int64_t n : {1, 4, 6}) {
    const auto x = test::random_floats(static_cast<size_t>(n * 256), 21);
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{44, 256}, {48, 128}, {20, 192}}) {
      std::vector<float> a(static_cast<size_t>(n * rows)), b(a.size());
      matmul(ctx, p.plain.view().first_rows(rows).first_cols(cols), x.data(), n, 256, a.data(), rows);
      matmul(ctx, p.grouped.view().first_rows(rows).first_cols(cols), x.data(), n, 256, b.data(), rows);
      EXPECT_LT(test::max_abs_diff(a, b), 2e-5f * std::max(1.f, test::rms_of(a))) << rows << "x" << cols << " n " << n;
    }
  }
}

// matmul() and matmul_same_input() split rows across threads in whole groups; a group is
// computed the same way whichever thread takes it, so the result does not depend on the split.
TEST(Q4Interleave, ProductsDoNotDependOnTheThreadCount) {
  const Pair a = make_pair(72, 2112, 15), b = make_pair(40, 2112, 16);
  const auto x = test::random_floats(3 * 2112, 17);
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    ComputeContext ctx(threads);
    std::vector<float> ya(3 * 72), yb(3 * 40), ys(3 * 72);
    matmul(ctx, a.grouped.view(), x.data(), 3, ys.data());
    const SameInputOut outs[] = {{a.grouped.view(), ya.data()}, {b.grouped.view(), yb.data()}};
    matmul_same_input(ctx, outs, x.data(), 3);
    EXPECT_EQ(ya, ys);
    ya.insert(ya.end(), yb.begin(), yb.end());
    if (first.empty()) first = ya;
    else EXPECT_EQ(ya, first) << threads << " threads";
  }
}

}  // namespace
}  // namespace gs::runtime

namespace gs::runtime {
namespace {

// The loader keeps row-gathered weights plain, but a gather over interleaved rows still works
// (through widened f32 rows): the selected rows' products, within the int8 rounding of the
// plain path's activations.
TEST(Q4Interleave, GatheringInterleavedRowsStillWorks) {
  ComputeContext ctx(2);
  const Pair p = make_pair(64, 192, 19);
  const std::vector<int32_t> rows = {0, 5, 9, 17, 40, 63};
  const auto x = test::random_floats(2 * 192, 23);
  std::vector<float> plain(2 * rows.size()), grouped(plain.size());
  matmul_gather_rows(ctx, p.plain.view(), rows, x.data(), 2, 192, plain.data(), static_cast<int64_t>(rows.size()));
  matmul_gather_rows(ctx, p.grouped.view(), rows, x.data(), 2, 192, grouped.data(), static_cast<int64_t>(rows.size()));
  for (int64_t i = 0; i < 2; ++i)
    for (size_t k = 0; k < rows.size(); ++k) {
      const double tol = test::int8_act_bound(p.plain.view(), rows[k], x.data() + i * 192) + 1e-5;
      EXPECT_NEAR(grouped[i * rows.size() + k], plain[i * rows.size() + k], tol) << "row " << rows[k];
    }
}

}  // namespace
}  // namespace gs::runtime
