// The MobileNet-V5 block list as plain data: either the fixed mobilenetv5_300m_enc table (released
// checkpoints have `model_args: null`) or the decoded timm block dicts of
// vision_config.model_args.block_args (the tiny fixture). One builder consumes both.
#pragma once
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime::gemma3n::vision {

enum class BlockKind { kEdgeResidual, kUniversalInvertedResidual, kMultiQueryAttention };

struct BlockSpec {
  BlockKind kind = BlockKind::kUniversalInvertedResidual;
  int out_chs = 0;
  int stride = 1;
  double exp_ratio = 1.0;
  bool noskip = false;
  // ER: full conv kernel; UIR: depthwise kernels (0 = absent).
  int exp_kernel = 3;
  int force_in_chs = 0;
  int dw_start = 0, dw_mid = 0, dw_end = 0;
  // MQA
  int num_heads = 0, key_dim = 0, value_dim = 0, kv_stride = 1, kv_kernel = 3;
};

struct VisionArch {
  int stem_size = 64;
  std::vector<std::vector<BlockSpec>> stages;
  int msfa_output_resolution = 16;
  int hidden_size = 2048;       // MSFA output channels
  double rms_norm_eps = 1e-6;
  int vocab_offset = 262144;    // embed_vision hard tokens
  int vocab_size = 128;
};

// timm's make_divisible(v, 8): channel counts are rounded this way everywhere.
int make_divisible(double v, int divisor = 8);

// The fixed mobilenetv5_300m_enc block table (spec section 3.3).
std::vector<std::vector<BlockSpec>> mobilenetv5_300m_stages();

// Parses the raw vision_config JSON text (Gemma3nConfig::vision_config_json). An empty text gives
// the released defaults.
Expected<VisionArch> parse_vision_arch(const std::string& vision_config_json);

}  // namespace gs::runtime::gemma3n::vision
