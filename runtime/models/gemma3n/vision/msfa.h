// Multi-Scale Fusion Adapter: fuses the last two stage outputs into the [R, R, 2048] token grid.
#pragma once
#include "runtime/models/gemma3n/vision/conv_blocks.h"

namespace gs::runtime::gemma3n::vision {

struct Msfa {
  UniversalInvertedResidual ffn;  // pw_exp (GELU) + pw_proj, no skip / layer scale
  std::vector<float> norm;
  int output_resolution = 16;
};

// in_chs = channels of the two fused stages together; out_chs = vision hidden size (2048).
Expected<Msfa> load_msfa(TensorLoader& tl, int in_chs, int out_chs, int output_resolution);

// hi [H, W, c2] (stage 2), lo [h, w, c3] (stage 3) -> [R, R, out]. A grid that does not divide by R is
// an error (timm would switch to bilinear; not reachable with the processor's fixed input size).
Expected<FeatureMap> forward(const ComputeContext& ctx, const Msfa& m, const FeatureMap& hi, const FeatureMap& lo,
                             float eps);

// Nearest-neighbour resize (torch 'nearest': src = floor(dst * in / out)) of lo to h x w, appended
// after hi's channels.
FeatureMap concat_upsampled(const FeatureMap& hi, const FeatureMap& lo);
// Average pooling with kernel = stride = f, no padding.
FeatureMap avg_pool(const FeatureMap& x, int f);

}  // namespace gs::runtime::gemma3n::vision
