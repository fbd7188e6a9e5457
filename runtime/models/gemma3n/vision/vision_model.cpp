#include "runtime/models/gemma3n/vision/vision_model.h"

#include <cmath>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gs::runtime::gemma3n {

using vision::FeatureMap;

Expected<std::unique_ptr<VisionModel>> VisionModel::load(const WeightStore& store, const Gemma3nConfig& cfg,
                                                         const ComputeContext& ctx, WeightFormat format) {
  if (format != WeightFormat::kF32 && format != WeightFormat::kBF16)
    return make_error(ErrorCode::kUnsupported, std::string("vision: weight format ") + weight_format_name(format) +
                                                   " is not supported (f32 or bf16)");
  auto arch = vision::parse_vision_arch(cfg.vision_config_json);
  if (!arch) return arch.error();
  std::unique_ptr<VisionModel> m(new VisionModel(ctx));
  m->arch_ = std::move(*arch);
  auto enc = vision::load_encoder(store, m->arch_, format);
  if (!enc) return enc.error();
  m->encoder_ = std::move(*enc);
  auto emb = vision::load_embedder(store, "model.embed_vision.", m->arch_.vocab_offset, m->arch_.vocab_size,
                                   m->arch_.hidden_size, cfg.text.hidden_size,
                                   static_cast<float>(m->arch_.rms_norm_eps), format);
  if (!emb) return emb.error();
  m->embedder_ = std::move(*emb);
  return m;
}

size_t VisionModel::resident_bytes() const { return encoder_.resident_bytes + embedder_.resident_bytes; }

// Shapes: pixels [3, h, w] -> tower [g, g, hidden] (channels-last) -> tokens [g*g, hidden] * sqrt(hidden)
// -> soft tokens [g*g, text_hidden].
Expected<VisionEncoding> VisionModel::encode(const float* pixels, int h, int w, bool keep_stages) const {
  if (!pixels || h < 1 || w < 1 || h > 4096 || w > 4096)
    return make_error(ErrorCode::kInvalidArgument, "vision: bad pixel tensor size");
  std::vector<FeatureMap> stages;
  auto tower = vision::encode(ctx_, encoder_, vision::from_chw(pixels, 3, h, w), keep_stages ? &stages : nullptr);
  if (!tower) return tower.error();
  VisionEncoding out;
  out.grid = tower->h;
  out.hidden = tower->c;
  out.n_tokens = static_cast<int>(tower->pixels());
  out.text_hidden = embedder_.out_dim;
  out.tower = vision::to_chw(*tower);
  std::vector<float> tokens = std::move(tower->data);
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(arch_.hidden_size)));
  for (float& v : tokens) v *= scale;
  out.soft_tokens.resize(static_cast<size_t>(out.n_tokens) * out.text_hidden);
  vision::embed_soft(ctx_, embedder_, tokens.data(), out.n_tokens, out.soft_tokens.data());
  for (const FeatureMap& s : stages) {
    out.stages.push_back(vision::to_chw(s));
    out.stage_shapes.push_back({s.c, s.h, s.w});
  }
  return out;
}

Status VisionModel::embed_hard_tokens(std::span<const int64_t> ids, float* out) const {
  return vision::embed_hard(ctx_, embedder_, ids, out);
}

Expected<std::shared_ptr<const VisionModel>> LazyVisionModel::get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (model_) return model_;
  auto m = VisionModel::load(store_, cfg_, ctx_, format_);
  if (!m) return m.error();
  // The ~1.2 GB of converted weights are many heap blocks below glibc's (adaptive) mmap threshold;
  // without a trim, free() keeps them in the arenas and dropping the model would not lower the RSS.
  model_ = std::shared_ptr<const VisionModel>(m->release(), [](const VisionModel* p) {
    delete p;
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  });
  ++load_count_;
  return model_;
}

Expected<VisionEncoding> LazyVisionModel::encode(const float* pixels, int h, int w, bool keep_stages) {
  auto m = get();
  if (!m) return m.error();
  return (*m)->encode(pixels, h, w, keep_stages);
}

bool LazyVisionModel::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_ != nullptr;
}

void LazyVisionModel::drop() {
  std::shared_ptr<const VisionModel> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old.swap(model_);
  }
}

int LazyVisionModel::load_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_count_;
}

int64_t LazyVisionModel::parameter_count() const {
  int64_t n = 0;
  for (const char* prefix : {"model.vision_tower.", "model.embed_vision."}) {
    const std::string p = prefix;
    for (auto it = store_.tensors().lower_bound(p); it != store_.tensors().end() && it->first.rfind(p, 0) == 0; ++it)
      n += it->second.numel();
  }
  return n;
}

size_t LazyVisionModel::resident_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_ ? model_->resident_bytes() : 0;
}

}  // namespace gs::runtime::gemma3n
