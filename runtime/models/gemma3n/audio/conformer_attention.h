// Conformer attention module: chunked local self-attention with relative-position logits and a
// tanh logit cap, wrapped as x += post_norm(clip(post(Attn(pre_attn_norm(clip(x)))))).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"

namespace gs::runtime::gemma3n {

// Sinusoid table of the relative positions P, P-1, …, -R (row f ↔ distance P - f):
// [P+R+1, D] with all sines first, then all cosines.
std::vector<float> relative_position_signal(const AudioConfig& cfg);

// x: [T, D] updated in place; valid: [T], nonzero = real frame (padded keys are never attended).
void attention_residual(const ComputeContext& ctx, const AudioConfig& cfg, const AttentionWeights& w,
                        const std::vector<float>& pos_signal, float* x, int64_t T, const uint8_t* valid);

}  // namespace gs::runtime::gemma3n
