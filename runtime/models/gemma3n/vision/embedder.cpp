#include "runtime/models/gemma3n/vision/embedder.h"

#include "runtime/models/gemma3n/vision/norm_act.h"
#include "runtime/models/gemma3n/vision/tensor_loader.h"

namespace gs::runtime::gemma3n::vision {

Expected<MultimodalEmbedder> load_embedder(const WeightStore& store, const std::string& prefix, int vocab_offset,
                                           int vocab_size, int in_dim, int out_dim, float eps, WeightFormat format) {
  TensorLoader tl(store, prefix, format);
  MultimodalEmbedder e;
  e.vocab_offset = vocab_offset, e.vocab_size = vocab_size, e.in_dim = in_dim, e.out_dim = out_dim, e.eps = eps;
  GS_VLOAD(emb, tl.get("embedding.weight", {vocab_size, in_dim}));
  GS_VLOAD(hn, tl.get("hard_embedding_norm.weight", {in_dim}));
  GS_VLOAD(sn, tl.get("soft_embedding_norm.weight", {in_dim}));
  GS_VLOAD(pw, tl.get("embedding_projection.weight", {out_dim, in_dim}));
  e.embedding = std::move(emb);
  e.hard_norm = std::move(hn);
  e.soft_norm = std::move(sn);
  e.projection = tl.matrix(pw.data(), out_dim, in_dim);
  e.params = tl.params_loaded();
  e.resident_bytes = tl.resident_bytes();
  return e;
}

// Shapes: x [n, in] -> normed copy [n, in] -> projection [n, out] -> weight-free norm.
void embed_soft(const ComputeContext& ctx, const MultimodalEmbedder& e, const float* x, int64_t n, float* out) {
  std::vector<float> t(x, x + n * e.in_dim);
  rms_norm_rows(t.data(), n, e.in_dim, e.soft_norm.data(), e.eps);
  matmul(ctx, e.projection.view(), t.data(), n, out);
  rms_norm_rows(out, n, e.out_dim, nullptr, e.eps);
}

Status embed_hard(const ComputeContext& ctx, const MultimodalEmbedder& e, std::span<const int64_t> ids, float* out) {
  const int64_t n = static_cast<int64_t>(ids.size());
  std::vector<float> t(static_cast<size_t>(n * e.in_dim));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = ids[i] - e.vocab_offset;
    if (row < 0 || row >= e.vocab_size)
      return make_error(ErrorCode::kInvalidArgument, "vision embedder: token id " + std::to_string(ids[i]) +
                                                         " is outside the vision range");
    std::copy_n(e.embedding.data() + row * e.in_dim, e.in_dim, t.data() + i * e.in_dim);
  }
  rms_norm_rows(t.data(), n, e.in_dim, e.hard_norm.data(), e.eps);
  matmul(ctx, e.projection.view(), t.data(), n, out);
  rms_norm_rows(out, n, e.out_dim, nullptr, e.eps);
  return ok_status();
}

}  // namespace gs::runtime::gemma3n::vision
