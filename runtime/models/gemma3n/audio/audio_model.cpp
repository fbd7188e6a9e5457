#include "runtime/models/gemma3n/audio/audio_model.h"

#include <malloc.h>

#include <algorithm>

#include "runtime/models/gemma3n/audio/audio_embedder.h"

namespace gs::runtime::gemma3n {
namespace {

int64_t count_params(const WeightStore& store, const std::string& prefix) {
  int64_t n = 0;
  for (auto it = store.tensors().lower_bound(prefix); it != store.tensors().end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    n += it->second.numel();
  }
  return n;
}

}  // namespace

Expected<std::unique_ptr<AudioModel>> AudioModel::load(const WeightStore& store, const Gemma3nConfig& config,
                                                       const ComputeContext& ctx, WeightFormat format) {
  auto cfg = parse_audio_config(config.audio_config_json);
  if (!cfg) return cfg.error();
  auto fe = FeatureExtractor::create();
  if (!fe) return fe.error();
  if (cfg->input_feat_size != fe->config().n_mels)
    return make_error(ErrorCode::kUnsupported, "audio_config.input_feat_size must be 128 (the feature extractor)");
  std::unique_ptr<AudioModel> m(new AudioModel(ctx, std::move(fe.value())));
  m->cfg_ = cfg.value();
  m->slots_ = config.audio_soft_tokens_per_image;
  m->text_hidden_ = config.text.hidden_size;
  auto tower = load_audio_tower_weights(store, m->cfg_, format);
  if (!tower) return tower.error();
  m->tower_ = std::move(tower.value());
  auto emb = load_audio_embedder_weights(store, m->cfg_, m->text_hidden_, format);
  if (!emb) return emb.error();
  m->embedder_ = std::move(emb.value());
  auto pad = audio_padding_embedding(ctx, m->cfg_, m->embedder_, config.text.vocab_size);
  if (!pad) return make_error(ErrorCode::kCorruptFile, "audio padding token: " + pad.error().message);
  m->pad_row_ = std::move(pad.value());
  m->params_ = count_params(store, kAudioTowerPrefix) + count_params(store, kEmbedAudioPrefix);
  m->resident_bytes_ = gemma3n::resident_bytes(m->tower_) + gemma3n::resident_bytes(m->embedder_);
  return m;
}

AudioTowerOutput AudioModel::tower(const AudioFeatures& f, AudioTowerTrace* trace) const {
  return audio_tower_forward(ctx_, cfg_, tower_, f.data.data(), f.frames, f.mask.data(), trace);
}

std::vector<float> AudioModel::soft_tokens(const AudioTowerOutput& t) const {
  return embed_audio_soft(ctx_, cfg_, embedder_, t.encodings.data(), t.tokens);
}

Expected<std::vector<float>> AudioModel::hard_token(int64_t token_id) const {
  return embed_audio_hard(ctx_, cfg_, embedder_, token_id);
}

Expected<AudioEncoding> AudioModel::encode_features(const AudioFeatures& f) const {
  const AudioTowerOutput t = tower(f);
  const std::vector<float> soft = soft_tokens(t);
  auto padded = pad_audio_soft_tokens(soft, t.tokens, t.pad_mask, pad_row_, slots_);
  if (!padded) return padded.error();
  AudioEncoding e;
  e.soft_tokens = std::move(padded.value());
  e.n_tokens = slots_;
  e.text_hidden = text_hidden_;
  for (int64_t i = 0; i < t.tokens; ++i) e.n_audio_tokens += t.pad_mask[i] ? 0 : 1;
  return e;
}

Expected<AudioEncoding> AudioModel::encode(std::span<const float> wav16k) const {
  const std::span<const float> clips[1] = {wav16k};
  auto batch = encode_batch(clips);
  if (!batch) return batch.error();
  return std::move(batch.value()[0]);
}

Expected<std::vector<AudioEncoding>> AudioModel::encode_batch(std::span<const std::span<const float>> clips) const {
  const std::vector<AudioFeatures> feats = features_.extract_batch(clips);
  std::vector<AudioEncoding> out;
  for (const AudioFeatures& f : feats) {
    if (f.frames == 0 || std::find(f.mask.begin(), f.mask.end(), 1) == f.mask.end())
      return make_error(ErrorCode::kInvalidArgument,
                        "audio clip too short or empty: at least 513 samples (32 ms at 16 kHz) are needed");
    auto e = encode_features(f);
    if (!e) return e.error();
    out.push_back(std::move(e.value()));
  }
  return out;
}

AudioModelGroup::AudioModelGroup(const WeightStore& store, Gemma3nConfig config, const ComputeContext& ctx,
                                 WeightFormat format)
    : store_(store), config_(std::move(config)), ctx_(ctx), format_(format) {}

Expected<std::shared_ptr<const AudioModel>> AudioModelGroup::get() {
  // Loading under the lock: a concurrent first caller waits for the one load instead of
  // converting the same 2.7 GB twice.
  std::lock_guard<std::mutex> lock(mu_);
  if (model_) return model_;
  auto m = AudioModel::load(store_, config_, ctx_, format_);
  if (!m) return m.error();
  // The converted copies are what we use; the mapped checkpoint pages can go.
  store_.drop_pages_with_prefix(kAudioTowerPrefix);
  store_.drop_pages_with_prefix(kEmbedAudioPrefix);
  // When the last holder lets go (unload() or a request still running after it), hand the freed
  // heap back to the OS: the weights are many mid-size blocks that glibc would otherwise keep.
  model_ = std::shared_ptr<const AudioModel>(m.value().release(), [](const AudioModel* p) {
    delete p;
    malloc_trim(0);
  });
  ++load_count_;
  return model_;
}

void AudioModelGroup::unload() {
  std::shared_ptr<const AudioModel> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old.swap(model_);
  }
  // `old` is released here, outside the lock (freeing gigabytes takes a while).
}

bool AudioModelGroup::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_ != nullptr;
}

int AudioModelGroup::load_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_count_;
}

int64_t AudioModelGroup::params() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_ ? model_->params() : 0;
}

size_t AudioModelGroup::resident_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_ ? model_->resident_bytes() : 0;
}

}  // namespace gs::runtime::gemma3n
