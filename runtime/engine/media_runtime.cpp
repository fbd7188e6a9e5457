#include "runtime/engine/media_runtime.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include "runtime/audio/decode.h"
#include "runtime/vision/image_decode.h"

namespace gs::runtime {

MediaRuntime::MediaRuntime(const WeightStore& store, const gemma3n::Gemma3nConfig& cfg, const std::string& model_dir,
                           const ComputeContext& ctx, const MediaOptions& opt)
    : store_(store), cfg_(cfg), opt_(opt) {
  const bool has_vision = store.bytes_with_prefix("model.vision_tower.") > 0;
  const bool has_audio = store.bytes_with_prefix("model.audio_tower.") > 0;
  opt_.allow_image = opt_.allow_image && has_vision;
  opt_.allow_audio = opt_.allow_audio && has_audio;
  if (auto p = vision::load_preprocess_config(model_dir); p.ok()) prep_ = *p;
  if (opt_.allow_image) vision_ = std::make_unique<gemma3n::LazyVisionModel>(store, cfg, ctx);
  if (opt_.allow_audio) audio_ = std::make_unique<gemma3n::AudioModelGroup>(store, cfg, ctx);
  if (opt_.allow_audio) audio::quiet_decoder_logs();
  spdlog::info("group vision: {} bytes mapped, {}", store.bytes_with_prefix("model.vision_tower."),
               !has_vision ? "absent" : !opt_.allow_image ? "disabled" : "loads on first use");
  spdlog::info("group audio: {} bytes mapped, {}", store.bytes_with_prefix("model.audio_tower."),
               !has_audio ? "absent" : !opt_.allow_audio ? "disabled" : "loads on first use");
  if (opt_.preload_image && vision_) (void)vision_->get();
  if (opt_.preload_audio && audio_) (void)audio_->get();
}

int MediaRuntime::tokens_per_item(MediaInput::Kind kind) const {
  return kind == MediaInput::Kind::kImage ? cfg_.vision_soft_tokens_per_image : cfg_.audio_soft_tokens_per_image;
}

int32_t MediaRuntime::placeholder_id(MediaInput::Kind kind) const {
  return kind == MediaInput::Kind::kImage ? cfg_.image_token_id : cfg_.audio_token_id;
}

Expected<MediaInput> MediaRuntime::prepare(MediaInput::Kind kind, std::span<const uint8_t> bytes) const {
  MediaInput m;
  m.kind = kind;
  if (kind == MediaInput::Kind::kImage) {
    if (!opt_.allow_image)
      return make_error(ErrorCode::kInvalidArgument, "image input is not enabled on this server (--modalities)");
    auto img = vision::decode_image(bytes);
    if (!img.ok()) return img.error();
    auto px = vision::preprocess_image(*img, prep_);
    if (!px.ok()) return px.error();
    m.data = std::move(px).value();
    m.height = prep_.height;
    m.width = prep_.width;
    return m;
  }
  if (!opt_.allow_audio)
    return make_error(ErrorCode::kInvalidArgument, "audio input is not enabled on this server (--modalities)");
  auto a = audio::decode_audio(bytes);
  if (!a.ok()) return a.error();
  if (a->samples.size() < 1024) return make_error(ErrorCode::kInvalidArgument, "the audio is too short (or empty)");
  m.data = std::move(a->samples);
  return m;
}

Expected<std::vector<float>> MediaRuntime::encode(const MediaInput& m) {
  const auto t0 = Clock::now();
  if (m.kind == MediaInput::Kind::kImage) {
    if (!vision_) return make_error(ErrorCode::kInvalidArgument, "image input is not enabled on this server");
    const bool was_loaded = vision_->loaded();
    {
      std::lock_guard<std::mutex> lk(mu_);
      ++vision_busy_;  // a lease: no idle unload while an encode runs
    }
    auto enc = vision_->encode(m.data.data(), m.height, m.width);
    std::lock_guard<std::mutex> lk(mu_);
    --vision_busy_;
    vision_used_ = Clock::now();
    if (!was_loaded) {
      vision_load_s_ = std::chrono::duration<double>(vision_used_ - t0).count();
      // The converted weights are resident now; the mapped file pages need not be.
      store_.drop_pages_with_prefix("model.vision_tower.");
    }
    if (!enc.ok()) return enc.error();
    if (enc->n_tokens != cfg_.vision_soft_tokens_per_image)
      return make_error(ErrorCode::kInternal, "vision encoder produced an unexpected number of tokens");
    return std::move(enc->soft_tokens);
  }
  if (!audio_) return make_error(ErrorCode::kInvalidArgument, "audio input is not enabled on this server");
  const bool was_loaded = audio_->loaded();
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++audio_busy_;
  }
  auto model = audio_->get();
  Expected<gemma3n::AudioEncoding> enc = model.ok() ? (*model)->encode(m.data) : Expected<gemma3n::AudioEncoding>(model.error());
  model = make_error(ErrorCode::kCancelled, "released");  // drop our reference before any unload
  std::lock_guard<std::mutex> lk(mu_);
  --audio_busy_;
  audio_used_ = Clock::now();
  if (!was_loaded) {
    audio_load_s_ = std::chrono::duration<double>(audio_used_ - t0).count();
    store_.drop_pages_with_prefix("model.audio_tower.");
  }
  if (!enc.ok()) return enc.error();
  return std::move(enc->soft_tokens);
}

int MediaRuntime::unload_idle() {
  if (opt_.idle_unload_s <= 0) return 0;
  return unload_if(std::chrono::duration<double>(opt_.idle_unload_s), "idle");
}

int MediaRuntime::unload_for_memory() { return unload_if(std::chrono::duration<double>(0), "memory pressure"); }

// Drops every group with no encode in flight that has been unused for longer than `idle`.
int MediaRuntime::unload_if(std::chrono::duration<double> idle, const char* why) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lk(mu_);
  int n = 0;
  if (vision_ && vision_busy_ == 0 && vision_->loaded() && now - vision_used_ >= idle) {
    vision_->drop();
    ++vision_unloads_, ++n;
    spdlog::info("group vision: unloaded ({})", why);
  }
  if (audio_ && audio_busy_ == 0 && audio_->loaded() && now - audio_used_ >= idle) {
    audio_->unload();
    ++audio_unloads_, ++n;
    spdlog::info("group audio: unloaded ({})", why);
  }
  // The towers' buffers went back to malloc; hand the pages back to the system as well.
  if (n > 0) ::malloc_trim(0);
  return n;
}

int64_t MediaRuntime::resident_bytes() const {
  int64_t total = 0;
  for (const auto& g : states()) total += g.loaded ? g.resident_bytes : 0;
  return total;
}

std::vector<MediaGroupState> MediaRuntime::states() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<MediaGroupState> out;
  MediaGroupState v{"vision", opt_.allow_image};
  v.mapped_bytes = static_cast<int64_t>(store_.bytes_with_prefix("model.vision_tower."));
  if (vision_) {
    v.loaded = vision_->loaded();
    v.loads = vision_->load_count();
    v.params = vision_->parameter_count();
    v.resident_bytes = static_cast<int64_t>(vision_->resident_bytes());
  }
  v.unloads = vision_unloads_;
  v.last_load_s = vision_load_s_;
  out.push_back(v);
  MediaGroupState a{"audio", opt_.allow_audio};
  a.mapped_bytes = static_cast<int64_t>(store_.bytes_with_prefix("model.audio_tower."));
  if (audio_) {
    a.loaded = audio_->loaded();
    a.loads = audio_->load_count();
    a.params = audio_->params();
    a.resident_bytes = static_cast<int64_t>(audio_->resident_bytes());
  }
  a.unloads = audio_unloads_;
  a.last_load_s = audio_load_s_;
  out.push_back(a);
  return out;
}

}  // namespace gs::runtime
