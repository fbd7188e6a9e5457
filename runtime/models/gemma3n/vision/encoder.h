// MobileNet-V5 encoder (timm mobilenetv5_300m_enc as used by Gemma 3n): stem, the block stages,
// MSFA. Built from a VisionArch, so the fixed 300m table and a config's block_args share one path.
#pragma once
#include <variant>
#include <vector>

#include "runtime/models/gemma3n/vision/attention_block.h"
#include "runtime/models/gemma3n/vision/msfa.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n::vision {

using Block = std::variant<EdgeResidual, UniversalInvertedResidual, MobileAttention>;

struct Encoder {
  DenseConv stem;                 // 3x3 s2 with bias
  std::vector<float> stem_norm;   // + GELU
  std::vector<std::vector<Block>> stages;
  Msfa msfa;
  float eps = 1e-6f;
  int64_t params = 0;
  size_t resident_bytes = 0;
};

// Loads model.vision_tower.timm_model.* (any stored float dtype); matrices are kept in `format`
// (kF32 or kBF16), everything else in float32.
Expected<Encoder> load_encoder(const WeightStore& store, const VisionArch& arch,
                               WeightFormat format = WeightFormat::kF32);

// pixels [H, W, 3] -> [R, R, hidden]. When `stages` is given it receives the stem output and every
// stage output (timm feature maps 0..S; the last two feed the MSFA).
Expected<FeatureMap> encode(const ComputeContext& ctx, const Encoder& e, const FeatureMap& pixels,
                            std::vector<FeatureMap>* stages = nullptr);

}  // namespace gs::runtime::gemma3n::vision
