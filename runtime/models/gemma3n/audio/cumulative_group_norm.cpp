#include "runtime/models/gemma3n/audio/cumulative_group_norm.h"

#include <cmath>

namespace gs::runtime::gemma3n {

// Upstream's variance sums, over past steps τ ≤ t, the squared deviations from each step's OWN
// running mean μ_τ (not μ_t) — reproduced literally. Sums are kept in double, which is closer to
// the exact value than the reference's float32 cumsum (differences are float32 round-off).
void cumulative_group_norm(float* x, int64_t T, int64_t F, int64_t C, const float* gamma, float eps) {
  const int64_t group = F * C;
  double cum_sum = 0, cum_sq = 0, cum_n = 0;
  for (int64_t t = 0; t < T; ++t) {
    float* row = x + t * group;
    double s = 0;
    for (int64_t i = 0; i < group; ++i) s += row[i];
    cum_sum += s;
    cum_n += static_cast<double>(group);
    const double mean = cum_sum / cum_n;
    double sq = 0;
    for (int64_t i = 0; i < group; ++i) {
      const double d = row[i] - mean;
      sq += d * d;
    }
    cum_sq += sq;
    const double inv_std = 1.0 / std::sqrt(cum_sq / cum_n + eps);
    for (int64_t f = 0; f < F; ++f)
      for (int64_t c = 0; c < C; ++c) {
        float& v = row[f * C + c];
        v = static_cast<float>((v - mean) * inv_std) * gamma[c];
      }
  }
}

}  // namespace gs::runtime::gemma3n
