// Gemma3nAudioConfig (the `audio_config` object of config.json): the shape of the USM conformer
// encoder and of its embedder. Parsed from Gemma3nConfig::audio_config_json; missing keys take the
// transformers class defaults (the released E2B/E4B values).
#pragma once
#include <array>
#include <string>

#include "runtime/core/status.h"

namespace gs::runtime::gemma3n {

struct AudioConfig {
  int input_feat_size = 128;  // mel bins
  int hidden_size = 1536;
  int num_layers = 12;
  int num_heads = 8;
  int chunk_size = 12;
  int context_left = 13;      // includes the current frame
  int context_right = 0;
  float logit_cap = 50.0f;
  int conv_kernel_size = 5;
  int reduction_factor = 4;
  float residual_weight = 0.5f;
  float gradient_clipping = 1e10f;
  float rms_norm_eps = 1e-6f;
  std::array<int, 2> sscp_channels = {128, 32};
  std::array<std::array<int, 2>, 2> sscp_kernel = {{{3, 3}, {3, 3}}};  // (time, freq)
  std::array<std::array<int, 2>, 2> sscp_stride = {{{2, 2}, {2, 2}}};
  float sscp_group_norm_eps = 1e-3f;
  int vocab_offset = 262272;
  int vocab_size = 128;

  int head_dim() const { return hidden_size / num_heads; }
  int max_past() const { return context_left - 1; }
  int max_future() const { return context_right; }
  int time_stride_product() const { return sscp_stride[0][0] * sscp_stride[1][0]; }
};

// Parses the audio_config JSON object text ("" gives the defaults). Errors name the bad key.
Expected<AudioConfig> parse_audio_config(const std::string& json_text);

}  // namespace gs::runtime::gemma3n
