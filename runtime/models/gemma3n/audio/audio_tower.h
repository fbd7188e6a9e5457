// The Gemma 3n audio encoder (USM conformer): log-mel features of ONE clip → encodings at
// 1/(4·reduction) of the frame rate. A batch is encoded clip by clip: every operation of the tower
// is per batch element, so a padded batch row gives the same result as the clip with its mask.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"

namespace gs::runtime::gemma3n {

struct AudioTowerOutput {
  std::vector<float> encodings;   // [tokens, D]; zero at padded tokens
  std::vector<uint8_t> pad_mask;  // [tokens]; 1 = PADDING (upstream's inverted convention)
  int64_t tokens = 0;
};

// Intermediate activations for parity tests (before the final time reduction).
struct AudioTowerTrace {
  std::vector<float> sscp;                 // [T2, D]
  std::vector<std::vector<float>> blocks;  // per conformer block, [T2, D]
};

// features: [T, input_feat_size]; valid: [T], nonzero = real frame (the feature extractor's mask).
// T == 0 gives an empty output.
AudioTowerOutput audio_tower_forward(const ComputeContext& ctx, const AudioConfig& cfg, const AudioTowerWeights& w,
                                     const float* features, int64_t T, const uint8_t* valid,
                                     AudioTowerTrace* trace = nullptr);

// Token count for T feature frames (sub-sampling then reduction).
int64_t audio_tower_tokens(const AudioConfig& cfg, int64_t T);

}  // namespace gs::runtime::gemma3n
