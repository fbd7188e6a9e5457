// Convolutional MobileNet-V5 blocks: EdgeResidual (FusedMBConv) and UniversalInvertedResidual.
// The MSFA's FFN is a UIR without depthwise convs, skip or layer scale, so it reuses this type.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/models/gemma3n/vision/conv_kernels.h"
#include "runtime/models/gemma3n/vision/tensor_loader.h"
#include "runtime/models/gemma3n/vision/vision_arch.h"

namespace gs::runtime::gemma3n::vision {

struct PointwiseNorm {  // 1x1 conv + RmsNorm2d (+ GELU)
  OwnedWeight w;
  std::vector<float> norm;
};

struct DepthwiseNorm {  // depthwise conv + RmsNorm2d (+ GELU)
  DepthwiseConv conv;
  std::vector<float> norm;
};

struct EdgeResidual {
  DenseConv conv_exp;        // k x k, stride, in -> mid
  std::vector<float> bn1;    // norm + GELU
  OwnedWeight conv_pwl;      // 1x1 mid -> out
  std::vector<float> bn2;    // norm, no act
  bool skip = false;
};

struct UniversalInvertedResidual {
  std::optional<DepthwiseNorm> dw_start;  // no act
  PointwiseNorm pw_exp;                   // GELU
  std::optional<DepthwiseNorm> dw_mid;    // GELU, carries the stride
  PointwiseNorm pw_proj;                  // no act
  std::vector<float> layer_scale;         // empty = none
  bool skip = false;
};

// Shared by the loaders: 1x1 conv weight [out, in, 1, 1] + its norm.
Expected<PointwiseNorm> load_pointwise_norm(TensorLoader& tl, const std::string& conv_name,
                                            const std::string& norm_name, int in, int out);
Expected<DepthwiseNorm> load_depthwise_norm(TensorLoader& tl, const std::string& p, int chs, int k, int stride);

// `p` is the block's name prefix ("blocks.S.B."); `in` its input channels.
Expected<EdgeResidual> load_edge_residual(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in);
Expected<UniversalInvertedResidual> load_uir(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in);

FeatureMap forward(const ComputeContext& ctx, const EdgeResidual& b, const FeatureMap& x, float eps);
FeatureMap forward(const ComputeContext& ctx, const UniversalInvertedResidual& b, const FeatureMap& x, float eps);

}  // namespace gs::runtime::gemma3n::vision
