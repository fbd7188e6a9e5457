#include "runtime/models/gemma3n/ple_table.h"

#include <algorithm>
#include <cstring>

namespace gs::runtime::gemma3n {

PleTable::PleTable(const TensorRef& t, int num_layers, int dim, const PleOptions& opt)
    : t_(t), num_layers_(num_layers), dim_(dim), opt_(opt) {
  vocab_ = t.shape.empty() ? 0 : t.shape[0];
  row_bytes_ = vocab_ > 0 ? t.nbytes / static_cast<size_t>(vocab_) : 0;
  if (opt_.resident) {
    if (t.file) t.file->prefetch(t.file_offset, t.nbytes);
    all_.assign(t.data, t.data + t.nbytes);
    if (t.file) t.file->drop_pages(t.file_offset, t.nbytes);
    return;
  }
  const size_t capacity = row_bytes_ ? std::max<size_t>(1, opt_.cache_bytes / row_bytes_) : 0;
  slots_.resize(capacity * row_bytes_);
  slot_token_.assign(capacity, -1);
  referenced_.assign(capacity, 0);
  index_.reserve(capacity * 2);
}

const uint8_t* PleTable::cached_row(int32_t token) {
  if (auto it = index_.find(token); it != index_.end()) {
    ++hits_;
    referenced_[it->second] = 1;
    return slots_.data() + static_cast<size_t>(it->second) * row_bytes_;
  }
  ++misses_;
  // CLOCK: skip recently used slots once, evict the first cold one.
  while (slot_token_[hand_] >= 0 && referenced_[hand_]) {
    referenced_[hand_] = 0;
    hand_ = (hand_ + 1) % slot_token_.size();
  }
  const size_t s = hand_;
  hand_ = (hand_ + 1) % slot_token_.size();
  if (slot_token_[s] >= 0) index_.erase(slot_token_[s]);
  const size_t off = static_cast<size_t>(token) * row_bytes_;
  uint8_t* dst = slots_.data() + s * row_bytes_;
  std::memcpy(dst, t_.data + off, row_bytes_);
  // The copy is ours now: give the mapped pages back so the table never grows our RSS.
  if (t_.file) t_.file->drop_pages(t_.file_offset + off, row_bytes_);
  slot_token_[s] = token;
  referenced_[s] = 1;
  index_[token] = static_cast<int32_t>(s);
  return dst;
}

void PleTable::read_row(int32_t token, float* dst) {
  const size_t n = static_cast<size_t>(num_layers_) * dim_;
  if (!all_.empty()) {
    convert_to_f32(t_.dtype, all_.data() + static_cast<size_t>(token) * row_bytes_, n, dst);
    return;
  }
  std::lock_guard<std::mutex> lk(mu_);
  convert_to_f32(t_.dtype, cached_row(token), n, dst);
}

void PleTable::read(int32_t token, int slot, float* dst) {
  std::vector<float> row(static_cast<size_t>(num_layers_) * dim_);
  read_row(token, row.data());
  std::memcpy(dst, row.data() + static_cast<size_t>(slot) * dim_, static_cast<size_t>(dim_) * sizeof(float));
}

void PleTable::prefetch(std::span<const int32_t> tokens) const {
  if (!all_.empty() || !t_.file) return;
  for (int32_t tok : tokens)
    if (tok >= 0 && tok < vocab_) t_.file->prefetch(t_.file_offset + static_cast<size_t>(tok) * row_bytes_, row_bytes_);
}

size_t PleTable::resident_bytes() const {
  if (!all_.empty()) return all_.size();
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<size_t>(index_.size()) * row_bytes_;
}

PleStats PleTable::stats() const {
  PleStats s;
  s.mapped_bytes = t_.nbytes;
  s.resident_bytes = resident_bytes();
  std::lock_guard<std::mutex> lk(mu_);
  s.hits = hits_;
  s.misses = misses_;
  s.cached_bytes = index_.size() * row_bytes_;
  return s;
}

}  // namespace gs::runtime::gemma3n
