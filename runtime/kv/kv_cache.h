// Per-sequence KV cache of the Gemma 3n text decoder. Only KV-producing layers store anything
// (KV-shared layers read their producer's cache); sliding-window layers keep a ring of `window`
// positions; full-attention layers grow with the context. Values: post-norm, post-RoPE K and
// post-norm V, [position][kv_heads * head_dim].
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime {

struct KvLayout {
  int num_layers = 0;           // original layer count (indexing by original layer index)
  int kv_dim = 0;               // kv_heads * head_dim
  int window = 0;               // sliding window
  int max_context = 32768;
  std::vector<int8_t> role;     // per layer: 0 = stores nothing, 1 = sliding ring, 2 = full
};

class SequenceKv {
 public:
  explicit SequenceKv(const KvLayout& layout);
  int length() const { return length_; }
  // K/V rows of a committed position (must still be held: full layers always, ring the last window).
  const float* k(int layer, int pos) const { return at(layers_[layer].k, layer, pos); }
  const float* v(int layer, int pos) const { return at(layers_[layer].v, layer, pos); }
  // Commits n new positions [length, length+n) for every storing layer (rows given per layer), then
  // advances length. Fails past max_context.
  Status reserve(int n);
  void store(int layer, const float* k_rows, const float* v_rows, int n);
  void advance(int n) { length_ += n; }
  size_t bytes() const;
  const KvLayout& layout() const { return layout_; }

 private:
  struct LayerKv {
    std::vector<float> k, v;
  };
  const float* at(const std::vector<float>& buf, int layer, int pos) const;
  KvLayout layout_;
  std::vector<LayerKv> layers_;
  int length_ = 0;
};

}  // namespace gs::runtime
