// Cumulative group norm of the SSCP conv blocks: one group of all F·C features per time step,
// statistics cumulative over time (causal), per-channel scale, no bias, no mask.
#pragma once
#include <cstdint>

namespace gs::runtime::gemma3n {

// x: [T, F, C] (channels last), normalised in place; gamma: [C].
void cumulative_group_norm(float* x, int64_t T, int64_t F, int64_t C, const float* gamma, float eps);

}  // namespace gs::runtime::gemma3n
