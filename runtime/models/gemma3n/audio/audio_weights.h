// Converted weights of the audio tower (`model.audio_tower.*`) and of `model.embed_audio.*`.
// Linear and convolution kernels become OwnedWeight ([out, in·kT·kF] for convs, so im2col + matmul
// applies); norm scales and small vectors are plain float32 vectors. Shapes are checked against
// the AudioConfig on load; a mismatch is an error naming the tensor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/kernels/matmul.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n {

struct SscpWeights {
  OwnedWeight conv0, conv1;            // [C_out, C_in·kT·kF]
  std::vector<float> norm0, norm1;     // [C_out] cumulative group norm scales
  OwnedWeight input_proj;              // [D, F2·C1]
};

struct FfwWeights {
  std::vector<float> pre_norm, post_norm;  // [D]
  OwnedWeight w1, w2;                      // [4D, D], [D, 4D]
};

struct AttentionWeights {
  std::vector<float> pre_norm, post_norm;  // [D]
  std::vector<float> per_dim_scale;        // [head_dim]
  OwnedWeight q, k, v, pos_proj, post;     // [D, D]
};

struct LightConvWeights {
  std::vector<float> pre_norm, conv_norm;  // [D]
  OwnedWeight linear_start;                // [2D, D]
  std::vector<float> depthwise;            // [D, K]
  OwnedWeight linear_end;                  // [D, D]
};

struct ConformerWeights {
  FfwWeights ffw_start;
  AttentionWeights attn;
  LightConvWeights lconv;
  FfwWeights ffw_end;
  std::vector<float> norm;  // [D]
};

struct AudioTowerWeights {
  SscpWeights sscp;
  std::vector<ConformerWeights> blocks;
};

struct AudioEmbedderWeights {
  std::vector<float> embedding;            // [vocab_size, D] hard-token table
  std::vector<float> hard_norm, soft_norm; // [D]
  OwnedWeight projection;                  // [text_hidden, D]
};

// Tensor-name prefixes of the two groups (the text model never reads them).
inline constexpr const char* kAudioTowerPrefix = "model.audio_tower.";
inline constexpr const char* kEmbedAudioPrefix = "model.embed_audio.";

Expected<AudioTowerWeights> load_audio_tower_weights(const WeightStore& store, const AudioConfig& cfg,
                                                     WeightFormat format);
Expected<AudioEmbedderWeights> load_audio_embedder_weights(const WeightStore& store, const AudioConfig& cfg,
                                                           int text_hidden, WeightFormat format);

// Bytes held by converted weights (what loading adds to the resident set).
size_t resident_bytes(const AudioTowerWeights& w);
size_t resident_bytes(const AudioEmbedderWeights& w);

}  // namespace gs::runtime::gemma3n
