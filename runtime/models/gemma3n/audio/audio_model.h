// The audio path of Gemma 3n in one object: 16 kHz waveform → log-mel → conformer encoder →
// embed_audio → exactly audio_soft_tokens_per_image rows in text space, ready to be scattered into
// a prompt's <audio_soft_token> slots. AudioModelGroup loads it lazily (a separate weight group).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/core/threading.h"
#include "runtime/kernels/matmul.h"
#include "runtime/models/gemma3n/audio/audio_config.h"
#include "runtime/models/gemma3n/audio/audio_tower.h"
#include "runtime/models/gemma3n/audio/audio_weights.h"
#include "runtime/models/gemma3n/audio/features.h"
#include "runtime/models/gemma3n/config.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n {

struct AudioEncoding {
  std::vector<float> soft_tokens;  // [n_tokens, text_hidden]: encoder tokens, then padding rows
  int n_tokens = 0;                // == audio_soft_tokens_per_image
  int n_audio_tokens = 0;          // how many leading rows come from the audio (the rest is padding)
  int text_hidden = 0;
};

class AudioModel {
 public:
  // Converts the model.audio_tower.* and model.embed_audio.* tensors (nothing else is touched).
  static Expected<std::unique_ptr<AudioModel>> load(const WeightStore& store, const Gemma3nConfig& config,
                                                    const ComputeContext& ctx,
                                                    WeightFormat format = WeightFormat::kF32);

  // Mono float32 16 kHz samples in [-1, 1]; longer clips are truncated to 30 s (as upstream).
  // Too short for one feature frame (< 513 samples after padding) → kInvalidArgument.
  Expected<AudioEncoding> encode(std::span<const float> wav16k) const;
  // Several clips of one prompt the way the upstream processor batches them: all padded to the
  // longest clip, so a shorter clip's last tokens see the same zero padding as in the reference
  // (encode() of each clip alone can differ slightly in its last one or two tokens).
  Expected<std::vector<AudioEncoding>> encode_batch(std::span<const std::span<const float>> clips) const;

  // The stages, for tests and tools.
  AudioFeatures features(std::span<const float> wav16k) const { return features_.extract(wav16k); }
  AudioTowerOutput tower(const AudioFeatures& f, AudioTowerTrace* trace = nullptr) const;
  std::vector<float> soft_tokens(const AudioTowerOutput& t) const;  // [t.tokens, text_hidden]
  Expected<std::vector<float>> hard_token(int64_t token_id) const;
  const std::vector<float>& padding_embedding() const { return pad_row_; }

  const AudioConfig& config() const { return cfg_; }
  const FeatureExtractor& feature_extractor() const { return features_; }
  int64_t params() const { return params_; }
  size_t resident_bytes() const { return resident_bytes_; }

 private:
  AudioModel(const ComputeContext& ctx, FeatureExtractor fe) : ctx_(ctx), features_(std::move(fe)) {}
  Expected<AudioEncoding> encode_features(const AudioFeatures& f) const;

  const ComputeContext& ctx_;
  AudioConfig cfg_;
  FeatureExtractor features_;
  AudioTowerWeights tower_;
  AudioEmbedderWeights embedder_;
  std::vector<float> pad_row_;  // embedding of text id vocab_size - 1
  int slots_ = 0;
  int text_hidden_ = 0;
  int64_t params_ = 0;
  size_t resident_bytes_ = 0;
};

// The audio weights as a lazily loaded group: nothing is read until the first get(); concurrent
// first calls load once; unload() drops the converted weights (in-flight users keep theirs alive
// through the shared_ptr) and a later get() loads again. The WeightStore and ComputeContext must
// outlive the group.
class AudioModelGroup {
 public:
  AudioModelGroup(const WeightStore& store, Gemma3nConfig config, const ComputeContext& ctx,
                  WeightFormat format = WeightFormat::kF32);

  Expected<std::shared_ptr<const AudioModel>> get();
  void unload();
  bool loaded() const;
  int load_count() const;          // successful loads so far
  int64_t params() const;          // 0 while unloaded
  size_t resident_bytes() const;   // converted bytes held now

 private:
  const WeightStore& store_;
  Gemma3nConfig config_;
  const ComputeContext& ctx_;
  WeightFormat format_;
  mutable std::mutex mu_;
  std::shared_ptr<const AudioModel> model_;
  int load_count_ = 0;
};

}  // namespace gs::runtime::gemma3n
