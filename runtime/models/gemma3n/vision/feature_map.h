// A single image's activation map in channels-last order: data[(y * w + x) * c + ch].
// Channels-last makes every 1x1 convolution one matmul (pixels x in_chs times Wᵀ) and keeps the
// per-pixel channel RMSNorm and the depthwise kernels on contiguous memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gs::runtime::gemma3n::vision {

struct FeatureMap {
  int c = 0, h = 0, w = 0;
  std::vector<float> data;  // [h * w, c]

  FeatureMap() = default;
  FeatureMap(int channels, int height, int width)
      : c(channels), h(height), w(width), data(static_cast<size_t>(channels) * height * width) {}
  int64_t pixels() const { return static_cast<int64_t>(h) * w; }
  float* px(int64_t p) { return data.data() + p * c; }
  const float* px(int64_t p) const { return data.data() + p * c; }
};

// NCHW [c, h, w] (PyTorch order) <-> channels-last.
FeatureMap from_chw(const float* chw, int c, int h, int w);
std::vector<float> to_chw(const FeatureMap& m);

}  // namespace gs::runtime::gemma3n::vision
