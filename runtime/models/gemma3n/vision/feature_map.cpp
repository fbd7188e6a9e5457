#include "runtime/models/gemma3n/vision/feature_map.h"

namespace gs::runtime::gemma3n::vision {

FeatureMap from_chw(const float* chw, int c, int h, int w) {
  FeatureMap m(c, h, w);
  const int64_t hw = m.pixels();
  for (int ch = 0; ch < c; ++ch)
    for (int64_t p = 0; p < hw; ++p) m.data[p * c + ch] = chw[ch * hw + p];
  return m;
}

std::vector<float> to_chw(const FeatureMap& m) {
  const int64_t hw = m.pixels();
  std::vector<float> out(m.data.size());
  for (int64_t p = 0; p < hw; ++p)
    for (int ch = 0; ch < m.c; ++ch) out[ch * hw + p] = m.data[p * m.c + ch];
  return out;
}

}  // namespace gs::runtime::gemma3n::vision
