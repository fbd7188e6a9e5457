// Conformer macaron feed-forward half: x += residual_weight · post_norm(clip(W2 · SiLU(W1 · pre_norm(clip(x))))).
#pragma once
#include <cstdint>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"

namespace gs::runtime::gemma3n {

// x: [T, D], updated in place.
void ffw_residual(const ComputeContext& ctx, const AudioConfig& cfg, const FfwWeights& w, float* x, int64_t T);

}  // namespace gs::runtime::gemma3n
