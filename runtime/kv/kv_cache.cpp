#include "runtime/kv/kv_cache.h"

#include <algorithm>
#include <cstring>

namespace gs::runtime {

SequenceKv::SequenceKv(const KvLayout& layout) : layout_(layout), layers_(static_cast<size_t>(layout.num_layers)) {
  for (int l = 0; l < layout_.num_layers; ++l)
    if (layout_.role[l] == 1) {
      const size_t n = static_cast<size_t>(layout_.window) * layout_.kv_dim;
      layers_[l].k.resize(n);
      layers_[l].v.resize(n);
    }
}

const float* SequenceKv::at(const std::vector<float>& buf, int layer, int pos) const {
  const int slot = layout_.role[layer] == 1 ? pos % layout_.window : pos;
  return buf.data() + static_cast<size_t>(slot) * layout_.kv_dim;
}

Status SequenceKv::reserve(int n) {
  if (length_ + n > layout_.max_context)
    return make_error(ErrorCode::kInvalidArgument, "context length " + std::to_string(length_ + n) +
                                                       " exceeds the maximum of " + std::to_string(layout_.max_context));
  const size_t need = static_cast<size_t>(length_ + n) * layout_.kv_dim;
  for (int l = 0; l < layout_.num_layers; ++l) {
    if (layout_.role[l] != 2 || layers_[l].k.size() >= need) continue;
    // Geometric growth, capped at the maximum context.
    const size_t cap = std::min(std::max(need, layers_[l].k.size() * 2),
                                static_cast<size_t>(layout_.max_context) * layout_.kv_dim);
    layers_[l].k.resize(cap);
    layers_[l].v.resize(cap);
  }
  return ok_status();
}

void SequenceKv::store(int layer, const float* k_rows, const float* v_rows, int n) {
  const int role = layout_.role[layer];
  if (role == 0) return;
  const size_t d = static_cast<size_t>(layout_.kv_dim);
  // A ring only needs the chunk's last `window` positions.
  const int first = role == 1 ? std::max(0, n - layout_.window) : 0;
  for (int i = first; i < n; ++i) {
    const int pos = length_ + i;
    const int slot = role == 1 ? pos % layout_.window : pos;
    std::memcpy(layers_[layer].k.data() + slot * d, k_rows + i * d, d * 4);
    std::memcpy(layers_[layer].v.data() + slot * d, v_rows + i * d, d * 4);
  }
}

size_t SequenceKv::bytes() const {
  size_t n = 0;
  for (const auto& l : layers_) n += (l.k.capacity() + l.v.capacity()) * sizeof(float);
  return n;
}

}  // namespace gs::runtime
