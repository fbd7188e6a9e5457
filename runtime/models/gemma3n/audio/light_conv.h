// Conformer light-conv module: x += linear_end(SiLU(conv_norm(clip(causal_depthwise(GLU(linear_start(pre_norm(x)))))))).
#pragma once
#include <cstdint>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"

namespace gs::runtime::gemma3n {

// x: [T, D] (already zeroed at padded frames by the caller), updated in place.
void light_conv_residual(const ComputeContext& ctx, const AudioConfig& cfg, const LightConvWeights& w, float* x,
                         int64_t T);

}  // namespace gs::runtime::gemma3n
