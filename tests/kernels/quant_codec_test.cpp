// quantize_row / dequantize_row: exact byte layout, round-trip error bounds, AVX2 vs scalar.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/core/dtype.h"
#include "runtime/kernels/isa.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"
#include "tests/kernels/quant_test_util.h"

namespace gs::runtime {
namespace {

using test::random_floats;

uint16_t u16_at(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

TEST(QuantCodec, RowBytes) {
  EXPECT_EQ(quant_row_bytes(WeightFormat::kQ8, 2048), 64u * 34u);
  EXPECT_EQ(quant_row_bytes(WeightFormat::kQ4, 2048), 32u * 36u);  // 4.5 bits per weight
  EXPECT_EQ(quant_row_bytes(WeightFormat::kBF16, 100), 200u);
  EXPECT_EQ(quant_row_bytes(WeightFormat::kF32, 100), 400u);
}

TEST(QuantCodec, Q8LayoutIsScaleThenSignedBytes) {
  // max|x| = 127 gives d = 1 exactly, so q == x.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16);
  x[0] = -127.f;
  std::vector<uint8_t> b(34);
  quantize_row(WeightFormat::kQ8, x.data(), 32, b.data());
  EXPECT_EQ(u16_at(b.data()), 0x3C00);  // f16 1.0
  for (int i = 0; i < 32; ++i) EXPECT_EQ(static_cast<int8_t>(b[2 + i]), static_cast<int>(x[i])) << i;
}

TEST(QuantCodec, Q4LayoutIsScaleMinThenSplitNibbles) {
  // min 0, max 15 gives d = 1, m = 0; element j in the low nibble of byte j, j+32 in its high.
  std::vector<float> x(64);
  for (int j = 0; j < 32; ++j) {
    x[j] = static_cast<float>(j & 15);
    x[j + 32] = static_cast<float>((j * 7) % 16);
  }
  std::vector<uint8_t> b(36);
  quantize_row(WeightFormat::kQ4, x.data(), 64, b.data());
  EXPECT_EQ(u16_at(b.data()), 0x3C00);  // d = 1
  EXPECT_EQ(u16_at(b.data() + 2), 0);   // m = 0
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b[4 + j], (j & 15) | (((j * 7) % 16) << 4)) << j;
}

// Every element is within half a quantization step (plus f16 rounding of m) of its input.
void check_roundtrip(WeightFormat f, int64_t cols, float rel_rms_bound) {
  const auto x = random_floats(static_cast<size_t>(cols), 7, 0.05f);
  std::vector<uint8_t> b(quant_row_bytes(f, cols));
  quantize_row(f, x.data(), cols, b.data());
  std::vector<float> y(static_cast<size_t>(cols));
  dequantize_row(f, b.data(), cols, y.data());
  const size_t bb = f == WeightFormat::kQ8 ? kQ8BlockBytes : kQ4BlockBytes;
  double err2 = 0, ref2 = 0;
  for (int64_t c = 0; c < cols; ++c) {
    const uint8_t* blk = b.data() + (c / block_cols(f)) * bb;
    const float d = f16_to_f32(u16_at(blk));
    const float m = f == WeightFormat::kQ4 ? f16_to_f32(u16_at(blk + 2)) : 0.f;
    const float err = std::fabs(y[c] - x[c]);
    ASSERT_LE(err, 0.5f * d * 1.001f + std::fabs(m) * 1e-3f + 1e-9f) << weight_format_name(f) << " col " << c;
    err2 += static_cast<double>(err) * err;
    ref2 += static_cast<double>(x[c]) * x[c];
  }
  EXPECT_LT(std::sqrt(err2 / ref2), rel_rms_bound) << weight_format_name(f);
}

TEST(QuantCodec, RoundTripErrorBounds) {
  // Gaussian rows: Q8 ~0.6% and Q4 ~9% relative RMS error (half a step of max|x|/127 resp. range/15).
  for (int64_t cols : test::shape_cols(WeightFormat::kQ8)) check_roundtrip(WeightFormat::kQ8, cols, 0.01f);
  for (int64_t cols : test::shape_cols(WeightFormat::kQ4)) check_roundtrip(WeightFormat::kQ4, cols, 0.12f);
}

TEST(QuantCodec, Bf16RoundTripIsRoundToNearestEven) {
  const auto x = random_floats(100, 3);
  std::vector<uint8_t> b(200);
  quantize_row(WeightFormat::kBF16, x.data(), 100, b.data());
  std::vector<float> y(100);
  dequantize_row(WeightFormat::kBF16, b.data(), 100, y.data());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(y[i], bf16_to_f32(f32_to_bf16(x[i])));
}

TEST(QuantCodec, DegenerateBlocksDecodeToFiniteValues) {
  std::vector<float> x(128, 0.f);  // all-zero blocks, then constant blocks with a NaN and an inf
  for (int i = 64; i < 128; ++i) x[i] = 0.25f;
  x[80] = std::numeric_limits<float>::quiet_NaN();
  x[81] = std::numeric_limits<float>::infinity();
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4}) {
    std::vector<uint8_t> b(quant_row_bytes(f, 128));
    quantize_row(f, x.data(), 128, b.data());
    std::vector<float> y(128);
    dequantize_row(f, b.data(), 128, y.data());
    for (int i = 0; i < 64; ++i) EXPECT_EQ(y[i], 0.f) << weight_format_name(f);
    for (int i = 64; i < 128; ++i) EXPECT_TRUE(std::isfinite(y[i])) << weight_format_name(f) << i;
  }
}

TEST(QuantCodec, RejectsPartialBlocks) {
  std::vector<float> x(40, 1.f);
  std::vector<uint8_t> b(64);
  EXPECT_THROW(quantize_row(WeightFormat::kQ8, x.data(), 40, b.data()), std::invalid_argument);
  EXPECT_THROW(dequantize_row(WeightFormat::kQ4, b.data(), 40, x.data()), std::invalid_argument);
  EXPECT_THROW(quantize_row(WeightFormat::kQ4, x.data(), 32, b.data()), std::invalid_argument);  // half a q4 block
}

TEST(QuantCodec, Avx2MatchesScalar) {
  if (!has_avx2_fma_f16c()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBF16}) {
    for (int64_t cols : test::shape_cols(f)) {
      auto x = random_floats(static_cast<size_t>(cols), 11, 0.1f);
      // Blocks of very different magnitudes (f16-subnormal and large scales), a skewed block
      // (all positive: Q4's minimum matters) and blocks with NaN / infinity (scalar fallback).
      const float scales[] = {1.f, 1e-5f, 3e-7f, 1e3f, 1.f};
      for (int64_t c = 0; c < cols; ++c) x[c] *= scales[(c / 32) % 5];
      if (cols >= 160) {
        for (int64_t c = 128; c < 192 && c < cols - 64; ++c) x[c] = 2.f + std::fabs(x[c]);
        x[cols - 3] = std::numeric_limits<float>::quiet_NaN();
        x[cols - 40] = -std::numeric_limits<float>::infinity();
      }
      std::vector<uint8_t> a(quant_row_bytes(f, cols)), s(a.size());
      quant_detail::quantize_row_avx2(f, x.data(), cols, a.data());
      quant_detail::quantize_row_scalar(f, x.data(), cols, s.data());
      ASSERT_EQ(a, s) << weight_format_name(f) << " cols " << cols;
      std::vector<float> ya(static_cast<size_t>(cols)), ys(ya.size());
      quant_detail::dequantize_row_avx2(f, a.data(), cols, ya.data());
      quant_detail::dequantize_row_scalar(f, a.data(), cols, ys.data());
      // Q4 decodes with one fused multiply-add on AVX2 (d*q + m rounded once): <= 1 ulp apart.
      for (int64_t c0 = 0; c0 < cols; c0 += 32) {
        float amax = 0.f;
        for (int64_t c = c0; c < c0 + 32 && c < cols; ++c) amax = std::max(amax, std::fabs(ys[c]));
        for (int64_t c = c0; c < c0 + 32 && c < cols; ++c)
          if (std::isfinite(ys[c])) ASSERT_NEAR(ya[c], ys[c], amax * 2.4e-7f) << c;
          else ASSERT_EQ(std::isnan(ya[c]), std::isnan(ys[c])) << c;
      }
    }
  }
}

TEST(QuantCodec, Avx2ActivationQuantizationMatchesScalar) {
  if (!has_avx2_fma_f16c()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  const int64_t n = 3, cols = 256, xs = 261, blocks = cols / kQ4Block;
  auto x = random_floats(static_cast<size_t>(n * xs), 13, 2.f);
  x[5] = std::numeric_limits<float>::quiet_NaN();       // row 0, block 0
  x[xs + 70] = std::numeric_limits<float>::infinity();  // row 1, block 1
  for (int64_t c = 128; c < 192; ++c) x[2 * xs + c] = 0.f;  // row 2, block 2: all zero
  std::vector<int8_t> qa(n * cols), qs(n * cols);
  std::vector<float> da(n * blocks), ds(n * blocks), sa(n * blocks), ss(n * blocks);
  std::vector<float> pa(2 * n * blocks), ps(2 * n * blocks);  // the interleaved (d, s) pairs
  quant_detail::quantize_acts_avx2(x.data(), n, xs, cols, {qa.data(), da.data(), sa.data(), pa.data()});
  quant_detail::quantize_acts_scalar(x.data(), n, xs, cols, {qs.data(), ds.data(), ss.data(), ps.data()});
  EXPECT_EQ(qa, qs);
  for (int64_t k = 0; k < n * blocks; ++k) {
    // Both encoders write the pairs as exact copies of their d and s.
    EXPECT_EQ(std::memcmp(&pa[2 * k], &da[k], 4), 0) << k;
    EXPECT_EQ(std::memcmp(&pa[2 * k + 1], &sa[k], 4), 0) << k;
    EXPECT_EQ(std::memcmp(&ps[2 * k], &ds[k], 4), 0) << k;
    EXPECT_EQ(std::memcmp(&ps[2 * k + 1], &ss[k], 4), 0) << k;
    if (std::isnan(ds[k])) {
      EXPECT_TRUE(std::isnan(da[k])) << k;
      continue;
    }
    EXPECT_EQ(da[k], ds[k]) << k;
    EXPECT_NEAR(sa[k], ss[k], 1e-4f) << k;
  }
  EXPECT_TRUE(std::isnan(ds[0]) && std::isnan(ds[blocks + 1]));
  EXPECT_EQ(ds[2 * blocks + 2], 0.f);
  EXPECT_TRUE(std::isfinite(ds[1]) && std::isfinite(ds[blocks + 2]));  // one bad element spoils one block only
}

}  // namespace
}  // namespace gs::runtime
