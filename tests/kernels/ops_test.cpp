// The AVX2 element-wise ops against their scalar twins: gelu_tanh (vector tanh through a
// polynomial exp) within 2e-7 + 1e-6 relative over the whole useful range and at the extremes;
// dot and axpy within float summation noise, for lengths that exercise every tail.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "runtime/kernels/isa.h"
#include "runtime/kernels/ops_kernels.h"

namespace gs::runtime::ops {
namespace {

TEST(OpsAvx2, GeluMatchesScalar) {
  if (!has_avx2_fma_f16c()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<float> x;
  for (float v = -20.f; v <= 20.f; v += 0.00137f) x.push_back(v);
  for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 100.f, -100.f, 1e10f, -1e10f, 3.4e38f, -3.4e38f}) x.push_back(v);
  std::vector<float> a = x, b = x;
  detail::gelu_tanh_avx2(a.data(), static_cast<int64_t>(a.size()));
  detail::gelu_tanh_scalar(b.data(), static_cast<int64_t>(b.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(b[i]) || std::isnan(b[i])) continue;  // x^3 overflows in both for |x| > 7e12
    ASSERT_NEAR(a[i], b[i], 2e-7 + 1e-6 * std::fabs(b[i])) << "x=" << x[i];
  }
  std::vector<float> nan = {std::numeric_limits<float>::quiet_NaN()};
  detail::gelu_tanh_avx2(nan.data(), 1);
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST(OpsAvx2, SoftcapMatchesScalar) {
  if (!has_avx2_fma_f16c()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<float> x;
  for (float v = -400.f; v <= 400.f; v += 0.0173f) x.push_back(v);
  std::vector<float> a = x, b = x;
  detail::softcap_avx2(a.data(), static_cast<int64_t>(a.size()), 30.f);
  detail::softcap_scalar(b.data(), static_cast<int64_t>(b.size()), 30.f);
  // A few ulp of the result (logits up to +-30: ulp 1.9e-6), far below the 2e-3 logit tolerance.
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 2e-6 + 4e-7 * std::fabs(b[i])) << "x=" << x[i];
}

TEST(OpsAvx2, DotAndAxpyMatchScalar) {
  if (!has_avx2_fma_f16c()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (int n : {0, 1, 7, 8, 15, 16, 17, 31, 256, 1000}) {
    std::vector<float> a(n), b(n);
    for (auto& v : a) v = nd(rng);
    for (auto& v : b) v = nd(rng);
    double exact = 0;
    for (int i = 0; i < n; ++i) exact += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(detail::dot_avx2(a.data(), b.data(), n), exact, 1e-5 * std::sqrt(n + 1.0));
    EXPECT_NEAR(detail::dot_scalar(a.data(), b.data(), n), exact, 1e-5 * std::sqrt(n + 1.0));
    std::vector<float> y1 = b, y2 = b;
    detail::axpy_avx2(0.37f, a.data(), y1.data(), n);
    detail::axpy_scalar(0.37f, a.data(), y2.data(), n);
    for (int i = 0; i < n; ++i) ASSERT_NEAR(y1[i], y2[i], 1e-6 * (1 + std::fabs(y2[i])));
  }
}

// Same double-precision sum of squares, summed in another order: at most a float ulp or two apart.
TEST(OpsAvx2, RmsNormMatchesScalar) {
  if (!has_avx2_fma_f16c()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (int dim : {1, 7, 8, 9, 64, 256, 2051}) {
    const int rows = 3;
    std::vector<float> x(static_cast<size_t>(rows * dim)), w(static_cast<size_t>(dim));
    for (auto& v : x) v = nd(rng) * 10.f;
    for (auto& v : w) v = nd(rng);
    for (const float* wp : {static_cast<const float*>(w.data()), static_cast<const float*>(nullptr)}) {
      std::vector<float> a(x.size()), b(x.size());
      detail::rms_norm_avx2(x.data(), wp, rows, dim, 1e-6f, a.data());
      detail::rms_norm_scalar(x.data(), wp, rows, dim, 1e-6f, b.data());
      for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 3e-7 * (1 + std::fabs(b[i]))) << "dim " << dim;
      std::vector<float> c = x;  // in place
      detail::rms_norm_avx2(c.data(), wp, rows, dim, 1e-6f, c.data());
      EXPECT_EQ(c, a);
    }
  }
}

}  // namespace
}  // namespace gs::runtime::ops
