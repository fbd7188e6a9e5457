#include "runtime/tokenizer/bpe.h"

#include <algorithm>
#include <functional>

namespace gs::runtime::bpe {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  int bits = 4;
  while (cap * 7 < n * 10) {  // load factor <= 0.7
    cap <<= 1;
    ++bits;
  }
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{kEmpty, 0, 0});
  mask_ = cap - 1;
  shift_ = 64 - bits;
  size_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty)
      insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.rank,
             s.merged);
}

void MergeTable::grow() { reserve(std::max<size_t>(16, size_ * 2 + 2)); }

void MergeTable::insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  if (slots_.empty() || (size_ + 1) * 10 > slots_.size() * 7) grow();
  const uint64_t key = pack(left, right);
  for (size_t i = hash(key);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return;
    if (s.key == kEmpty) {
      s = Slot{key, rank, merged};
      ++size_;
      return;
    }
  }
}

void merge(const MergeTable& table, std::span<const int32_t> ids, Scratch& scratch,
           std::vector<int32_t>& out) {
  const auto n = static_cast<int32_t>(ids.size());
  if (n <= 1) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  auto& sym = scratch.symbols;
  auto& heap = scratch.heap;
  sym.resize(ids.size());
  heap.clear();
  const std::greater<uint64_t> cmp;  // min-heap
  int32_t rank, merged;
  for (int32_t i = 0; i < n; ++i) {
    sym[i] = {ids[i], i - 1, i + 1 < n ? i + 1 : -1, 1};
    if (i + 1 < n && table.find(ids[i], ids[i + 1], rank, merged))
      heap.push_back((static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(i));
  }
  std::make_heap(heap.begin(), heap.end(), cmp);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto pos = static_cast<int32_t>(top & 0xFFFFFFFFu);
    const auto want_rank = static_cast<int32_t>(top >> 32);
    auto& left = sym[pos];
    // Stale entries: the left symbol was absorbed, lost its right neighbour, or either side
    // changed since the entry was pushed (then the pair's rank differs or it is no merge).
    if (!left.alive || left.next < 0) continue;
    auto& right = sym[left.next];
    if (!table.find(left.id, right.id, rank, merged) || rank != want_rank) continue;
    left.id = merged;
    right.alive = 0;
    left.next = right.next;
    if (left.next >= 0) sym[left.next].prev = pos;
    if (left.prev >= 0 && table.find(sym[left.prev].id, left.id, rank, merged)) {
      heap.push_back((static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(left.prev));
      std::push_heap(heap.begin(), heap.end(), cmp);
    }
    if (left.next >= 0 && table.find(left.id, sym[left.next].id, rank, merged)) {
      heap.push_back((static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(pos));
      std::push_heap(heap.begin(), heap.end(), cmp);
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace gs::runtime::bpe
