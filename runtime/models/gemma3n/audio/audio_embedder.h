// `embed_audio` (Gemma3nMultimodalEmbedder, audio instance): encoder outputs or audio hard-token ids
// → rows in the text model's embedding space, and the padding of a clip's soft tokens to the fixed
// number of prompt slots (audio_soft_tokens_per_image).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"

namespace gs::runtime::gemma3n {

// Soft path: out[n, text_hidden] = RMSNorm_1(proj · RMSNorm_soft(enc[n, D])). No sqrt(D) scaling.
std::vector<float> embed_audio_soft(const ComputeContext& ctx, const AudioConfig& cfg, const AudioEmbedderWeights& w,
                                    const float* enc, int64_t n);

// Hard path for an absolute token id in [vocab_offset, vocab_offset + vocab_size): [text_hidden].
Expected<std::vector<float>> embed_audio_hard(const ComputeContext& ctx, const AudioConfig& cfg,
                                              const AudioEmbedderWeights& w, int64_t token_id);

// The row that fills missing / padded audio slots: the hard embedding of text id
// text_vocab_size - 1 (upstream's choice; the last audio hard token for the real vocabulary).
Expected<std::vector<float>> audio_padding_embedding(const ComputeContext& ctx, const AudioConfig& cfg,
                                                     const AudioEmbedderWeights& w, int64_t text_vocab_size);

// Exactly n_slots rows [n_slots, H]: soft[i] where pad_mask[i] == 0, pad_row at padded tokens and for
// the slots past n. An error when n > n_slots (the clip was not truncated to the model's maximum).
Expected<std::vector<float>> pad_audio_soft_tokens(std::span<const float> soft, int64_t n,
                                                   std::span<const uint8_t> pad_mask, std::span<const float> pad_row,
                                                   int64_t n_slots);

}  // namespace gs::runtime::gemma3n
