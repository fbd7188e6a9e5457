// MobileAttention with MultiQueryAttention2d: many query heads, one shared key/value head,
// optionally computed from a stride-2 depthwise down-sampled map (stage 2 of the 300m encoder).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "runtime/models/gemma3n/vision/conv_blocks.h"

namespace gs::runtime::gemma3n::vision {

struct KvPath {
  std::optional<DepthwiseNorm> down;  // depthwise stride-kv conv + norm (no act)
  OwnedWeight proj;                   // [dim, C]
};

struct MobileAttention {
  std::vector<float> norm;   // pre-norm, no act
  OwnedWeight query;         // [heads * kd, C]
  KvPath key, value;
  OwnedWeight output;        // [C, heads * vd]
  std::vector<float> layer_scale;
  int heads = 0, key_dim = 0, value_dim = 0;
};

Expected<MobileAttention> load_mobile_attention(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in);
FeatureMap forward(const ComputeContext& ctx, const MobileAttention& b, const FeatureMap& x, float eps);

// softmax(q kᵀ * scale) v for rows of q sharing one k / v: q [n, kd], k [m, kd], v [m, vd] -> out [n, vd].
void shared_kv_attention(const ComputeContext& ctx, const float* q, int64_t n, const float* k, const float* v,
                         int64_t m, int kd, int vd, float scale, float* out);

}  // namespace gs::runtime::gemma3n::vision
