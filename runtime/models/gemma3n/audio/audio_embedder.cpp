#include "runtime/models/gemma3n/audio/audio_embedder.h"

#include <algorithm>

#include "runtime/kernels/ops.h"

namespace gs::runtime::gemma3n {
namespace {

// x [n, D] already normalised → [n, text_hidden], then the weight-free post-projection norm.
std::vector<float> project(const ComputeContext& ctx, const AudioConfig& cfg, const AudioEmbedderWeights& w,
                           const float* x, int64_t n) {
  const int64_t H = w.projection.view().rows;
  std::vector<float> out(static_cast<size_t>(n * H));
  matmul(ctx, w.projection.view(), x, n, out.data());
  ops::rms_norm(out.data(), nullptr, n, H, cfg.rms_norm_eps, out.data());
  return out;
}

}  // namespace

std::vector<float> embed_audio_soft(const ComputeContext& ctx, const AudioConfig& cfg, const AudioEmbedderWeights& w,
                                    const float* enc, int64_t n) {
  const int64_t D = cfg.hidden_size;
  std::vector<float> h(static_cast<size_t>(n * D));
  ops::rms_norm(enc, w.soft_norm.data(), n, D, cfg.rms_norm_eps, h.data());
  return project(ctx, cfg, w, h.data(), n);
}

Expected<std::vector<float>> embed_audio_hard(const ComputeContext& ctx, const AudioConfig& cfg,
                                              const AudioEmbedderWeights& w, int64_t token_id) {
  const int64_t row = token_id - cfg.vocab_offset;
  if (row < 0 || row >= cfg.vocab_size)
    return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(token_id) +
                                                       " is not an audio hard token");
  const int64_t D = cfg.hidden_size;
  std::vector<float> h(static_cast<size_t>(D));
  ops::rms_norm(w.embedding.data() + row * D, w.hard_norm.data(), 1, D, cfg.rms_norm_eps, h.data());
  return project(ctx, cfg, w, h.data(), 1);
}

Expected<std::vector<float>> audio_padding_embedding(const ComputeContext& ctx, const AudioConfig& cfg,
                                                     const AudioEmbedderWeights& w, int64_t text_vocab_size) {
  return embed_audio_hard(ctx, cfg, w, text_vocab_size - 1);
}

Expected<std::vector<float>> pad_audio_soft_tokens(std::span<const float> soft, int64_t n,
                                                   std::span<const uint8_t> pad_mask, std::span<const float> pad_row,
                                                   int64_t n_slots) {
  const int64_t H = static_cast<int64_t>(pad_row.size());
  if (n < 0 || n > n_slots)
    return make_error(ErrorCode::kInvalidArgument, "audio gives " + std::to_string(n) + " tokens, more than the " +
                                                       std::to_string(n_slots) + " audio slots of the prompt");
  if (static_cast<int64_t>(soft.size()) != n * H || static_cast<int64_t>(pad_mask.size()) != n)
    return make_error(ErrorCode::kInvalidArgument, "soft tokens / mask do not match the token count");
  std::vector<float> out(static_cast<size_t>(n_slots * H));
  for (int64_t i = 0; i < n_slots; ++i) {
    const bool real = i < n && !pad_mask[i];
    const float* src = real ? soft.data() + i * H : pad_row.data();
    std::copy_n(src, H, out.data() + i * H);
  }
  return out;
}

}  // namespace gs::runtime::gemma3n
