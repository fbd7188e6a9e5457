// Convolutions of the MobileNet-V5 encoder on channels-last maps, all with timm's TF-style "same"
// padding: out = ceil(n / s), total pad p = max((out - 1) * s + k - n, 0), p / 2 before and the
// rest after (symmetric k / 2 for stride 1, (0, 1) / (1, 2) for 3x3 / 5x5 at stride 2 on even sizes).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/kernels/matmul.h"
#include "runtime/models/gemma3n/vision/feature_map.h"

namespace gs::runtime::gemma3n::vision {

struct SamePad {
  int out = 0, before = 0;
};
SamePad same_pad(int n, int k, int s);

// A dense k x k convolution (groups = 1) lowered to im2col + matmul. The weight is stored
// re-ordered to [out, kh, kw, in] so that a patch row copies whole channel runs.
struct DenseConv {
  int in_chs = 0, out_chs = 0, k = 1, stride = 1;
  OwnedWeight w;               // [out, k * k * in]
  std::vector<float> bias;     // empty = none
};
// From an OIHW float32 tensor; the reordered matrix is stored in `format`.
DenseConv make_dense_conv(const std::vector<float>& oihw, int out, int in, int k, int stride,
                          std::vector<float> bias = {}, WeightFormat format = WeightFormat::kF32);
FeatureMap dense_conv(const ComputeContext& ctx, const DenseConv& conv, const FeatureMap& x);

// Depthwise k x k convolution (groups = channels), weights re-ordered to [kh, kw, c].
struct DepthwiseConv {
  int chs = 0, k = 1, stride = 1;
  std::vector<float> w;  // [k * k, c]
};
DepthwiseConv make_depthwise_conv(const std::vector<float>& c1hw, int chs, int k, int stride);
FeatureMap depthwise_conv(const ComputeContext& ctx, const DepthwiseConv& conv, const FeatureMap& x);

// 1x1 convolution: y[p, :] = W x[p, :] (W [out, in]).
FeatureMap pointwise_conv(const ComputeContext& ctx, const OwnedWeight& w, const FeatureMap& x);

}  // namespace gs::runtime::gemma3n::vision
