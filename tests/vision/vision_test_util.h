// Shared helpers of the vision tests: golden arrays and error measures.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/core/npy.h"
#include "tests/support/test_paths.h"

namespace gs::test::vision {

struct Golden {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

inline Golden load_golden(const std::string& rel) {
  auto a = runtime::read_npy(fixture_path(rel));
  EXPECT_TRUE(a.ok()) << rel << ": " << (a.ok() ? "" : a.error().message);
  if (!a.ok()) return {};
  return Golden{a->shape, a->to_f32()};
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

inline double rms(const std::vector<float>& a) {
  double s = 0;
  for (float v : a) s += static_cast<double>(v) * v;
  return a.empty() ? 0 : std::sqrt(s / a.size());
}

}  // namespace gs::test::vision
