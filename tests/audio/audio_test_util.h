// Shared helpers of the audio tests: golden arrays and max-abs comparisons.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/core/npy.h"
#include "tests/support/test_paths.h"

namespace gs::test {

inline runtime::NpyArray golden_array(const std::string& rel) {
  auto a = runtime::read_npy(fixture_path(rel));
  if (!a) ADD_FAILURE() << "cannot read " << rel << ": " << a.error().message;
  return a ? std::move(a.value()) : runtime::NpyArray{};
}
inline std::vector<float> golden_f32(const std::string& rel) { return golden_array(rel).to_f32(); }
inline std::vector<uint8_t> golden_bool(const std::string& rel) {
  std::vector<uint8_t> out;
  for (int64_t v : golden_array(rel).to_i64()) out.push_back(v ? 1 : 0);
  return out;
}

inline double max_abs_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= m)) m = d;  // NaN propagates as a failure
  }
  return m;
}
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  return max_abs_diff(a.data(), b.data(), std::min(a.size(), b.size()));
}

}  // namespace gs::test
