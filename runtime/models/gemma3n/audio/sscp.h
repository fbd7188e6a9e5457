// Sub-sample conv projection: log-mel [T, n_mels] → [T2, D] (two strided conv blocks, each
// conv → cumulative group norm → ReLU, then a linear projection of the flattened (f, c) features).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"

namespace gs::runtime::gemma3n {

// Output time length of one SSCP conv for T input frames ("reverse causal" time padding).
int64_t sscp_conv_out_time(int64_t T, int kernel_t, int stride_t);

// features: [T, cfg.input_feat_size]; returns [T2, cfg.hidden_size] and sets *t2.
std::vector<float> sscp_forward(const ComputeContext& ctx, const AudioConfig& cfg, const SscpWeights& w,
                                const float* features, int64_t T, int64_t* t2);

}  // namespace gs::runtime::gemma3n
