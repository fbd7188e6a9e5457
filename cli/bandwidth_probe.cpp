#include "cli/bandwidth_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace gs::cli {
namespace {

// Eight independent 64-bit sums keep enough loads in flight for the memory system, not the
// add chain, to set the pace (the compiler widens them to vector adds).
uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t s[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += p[i + k];
  for (; i < n; ++i) s[0] += p[i];
  uint64_t t = 0;
  for (uint64_t v : s) t += v;
  return t;
}

}  // namespace

BandwidthProbe probe_read_bandwidth(const runtime::ComputeContext& ctx, size_t bytes, int passes) {
  const size_t words = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
  std::memset(buf.get(), 1, words * sizeof(uint64_t));
  const int64_t parts = ctx.num_threads();
  std::vector<uint64_t> sink(static_cast<size_t>(parts));
  std::vector<double> gbs;
  for (int p = 0; p <= passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    ctx.parallel_for(parts, 1, [&](int64_t a, int64_t b) {
      for (int64_t k = a; k < b; ++k) {
        const size_t w0 = words * static_cast<size_t>(k) / static_cast<size_t>(parts);
        const size_t w1 = words * static_cast<size_t>(k + 1) / static_cast<size_t>(parts);
        sink[static_cast<size_t>(k)] += sum_words(buf.get() + w0, w1 - w0);
      }
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (p > 0) gbs.push_back(static_cast<double>(words * sizeof(uint64_t)) / s / 1e9);
  }
  // The sums must reach a side effect or the reads could be dropped.
  uint64_t all = 0;
  for (uint64_t v : sink) all += v;
  if (all == 42) gbs.push_back(0);
  std::sort(gbs.begin(), gbs.end());
  BandwidthProbe r;
  if (!gbs.empty()) {
    r.best_gbs = gbs.back();
    r.median_gbs = gbs[gbs.size() / 2];
  }
  return r;
}

}  // namespace gs::cli
