// Gemma3nMultimodalEmbedder (the embed_vision instance): maps vision soft features or vision hard
// token ids into the text embedding space. soft: RMSNorm_1(P · RMSNorm_soft(x));
// hard: RMSNorm_1(P · RMSNorm_hard(E[id - offset])). No sqrt(hidden) scaling of the outputs.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/core/threading.h"
#include "runtime/kernels/matmul.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n::vision {

struct MultimodalEmbedder {
  std::vector<float> embedding;  // [vocab_size, in_dim]
  std::vector<float> hard_norm, soft_norm;
  OwnedWeight projection;        // [out_dim, in_dim]
  int vocab_offset = 0, vocab_size = 0, in_dim = 0, out_dim = 0;
  float eps = 1e-6f;
  int64_t params = 0;
  size_t resident_bytes = 0;
};

// prefix "model.embed_vision."; out_dim = text hidden size.
Expected<MultimodalEmbedder> load_embedder(const WeightStore& store, const std::string& prefix, int vocab_offset,
                                           int vocab_size, int in_dim, int out_dim, float eps,
                                           WeightFormat format = WeightFormat::kF32);

// x [n, in_dim] -> out [n, out_dim]
void embed_soft(const ComputeContext& ctx, const MultimodalEmbedder& e, const float* x, int64_t n, float* out);

// ids in [vocab_offset, vocab_offset + vocab_size) -> out [ids.size(), out_dim]; other ids are an error.
Status embed_hard(const ComputeContext& ctx, const MultimodalEmbedder& e, std::span<const int64_t> ids, float* out);

}  // namespace gs::runtime::gemma3n::vision
