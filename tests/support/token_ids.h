// Random prompts for the tiny model: BOS, then plain text ids (3-250, all with PLE rows).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace gs::test {

inline std::vector<int32_t> random_ids(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(3, 250);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& v : ids) v = d(rng);
  if (!ids.empty()) ids[0] = 2;
  return ids;
}

}  // namespace gs::test
