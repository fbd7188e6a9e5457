// Array comparison helpers for parity tests.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/core/npy.h"
#include "tests/support/test_paths.h"

namespace gs::test {

inline std::vector<float> load_f32(const std::string& rel, std::vector<int64_t>* shape = nullptr) {
  auto a = runtime::read_npy(fixture_path(rel));
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message);
  if (!a.ok()) return {};
  if (shape) *shape = a->shape;
  return a->to_f32();
}

inline std::vector<int64_t> load_i64(const std::string& rel) {
  auto a = runtime::read_npy(fixture_path(rel));
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message);
  return a.ok() ? a->to_i64() : std::vector<int64_t>{};
}

// Token ids of a golden prompt (gemma3n-tiny/golden/<name>) as the model takes them.
inline std::vector<int32_t> golden_ids(const std::string& name) {
  std::vector<int32_t> ids;
  for (int64_t v : load_i64("gemma3n-tiny/golden/" + name)) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

inline float rms_of(const std::vector<float>& a) {
  double s = 0;
  for (float v : a) s += static_cast<double>(v) * v;
  return a.empty() ? 0.f : static_cast<float>(std::sqrt(s / a.size()));
}

}  // namespace gs::test
