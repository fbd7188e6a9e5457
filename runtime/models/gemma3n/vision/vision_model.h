// The Gemma 3n vision path as one object: MobileNet-V5 encoder + embed_vision, and a lazily loaded,
// droppable holder for it (the vision weights are their own group: nothing under
// model.vision_tower.* / model.embed_vision.* is read until the first image arrives).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "runtime/models/gemma3n/config.h"
#include "runtime/models/gemma3n/vision/embedder.h"
#include "runtime/models/gemma3n/vision/encoder.h"

namespace gs::runtime::gemma3n {

struct VisionEncoding {
  std::vector<float> tower;        // [hidden, grid, grid] NCHW, the MSFA output
  std::vector<float> soft_tokens;  // [n_tokens, text_hidden]; token = grid * row + col
  int n_tokens = 0, grid = 0, hidden = 0, text_hidden = 0;
  // Debug (keep_stages): stem and every stage output, NCHW, with their [c, h, w].
  std::vector<std::vector<float>> stages;
  std::vector<std::array<int, 3>> stage_shapes;
};

class VisionModel {
 public:
  // Converts model.vision_tower.timm_model.* and model.embed_vision.* to float32.
  // `format`: storage of the large matrices, kF32 (parity) or kBF16 (half the memory).
  static Expected<std::unique_ptr<VisionModel>> load(const WeightStore& store, const Gemma3nConfig& cfg,
                                                     const ComputeContext& ctx,
                                                     WeightFormat format = WeightFormat::kF32);
  // pixels [3, h, w] (preprocessed, RGB in [0, 1]).
  Expected<VisionEncoding> encode(const float* pixels, int h, int w, bool keep_stages = false) const;
  // embed_vision hard path for ids in [vocab_offset, vocab_offset + vocab_size): out [ids, text_hidden].
  Status embed_hard_tokens(std::span<const int64_t> ids, float* out) const;

  int64_t parameter_count() const { return encoder_.params + embedder_.params; }
  size_t resident_bytes() const;  // converted weights held by this object
  const vision::VisionArch& arch() const { return arch_; }
  int text_hidden() const { return embedder_.out_dim; }

 private:
  VisionModel(const ComputeContext& ctx) : ctx_(ctx) {}
  const ComputeContext& ctx_;
  vision::VisionArch arch_;
  vision::Encoder encoder_;
  vision::MultimodalEmbedder embedder_;
};

// Loads the VisionModel on first use; concurrent first callers wait for one load. drop() frees the
// weights (encodes in flight keep their reference); the next use loads again.
class LazyVisionModel {
 public:
  LazyVisionModel(const WeightStore& store, const Gemma3nConfig& cfg, const ComputeContext& ctx,
                  WeightFormat format = WeightFormat::kF32)
      : store_(store), cfg_(cfg), ctx_(ctx), format_(format) {}

  Expected<std::shared_ptr<const VisionModel>> get();
  Expected<VisionEncoding> encode(const float* pixels, int h, int w, bool keep_stages = false);
  bool loaded() const;
  void drop();
  int load_count() const;
  // Parameters of the vision group as stored (no loading needed).
  int64_t parameter_count() const;
  // Bytes of converted weights held now (0 when not loaded).
  size_t resident_bytes() const;

 private:
  const WeightStore& store_;  // must outlive this object (as must ctx)
  const Gemma3nConfig cfg_;
  const ComputeContext& ctx_;
  const WeightFormat format_;
  mutable std::mutex mu_;
  std::shared_ptr<const VisionModel> model_;
  int load_count_ = 0;
};

}  // namespace gs::runtime::gemma3n
