#include "runtime/tokenizer/piece_index.h"

#include <cstring>

namespace gs::runtime {

uint64_t PieceIndex::hash(std::string_view s) {
  // 8 bytes at a time with a multiply-xorshift mix; pieces are short, so this beats byte-wise FNV.
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);
  h ^= tail;
  h ^= h >> 33;  // murmur3 finaliser: every output bit depends on every input bit
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

void PieceIndex::build(const std::vector<std::string>& pieces, const std::vector<int32_t>& ids) {
  pieces_ = &pieces;
  size_t cap = 16;
  int bits = 4;
  while (cap * 7 < ids.size() * 10) {  // load factor <= 0.7
    cap <<= 1;
    ++bits;
  }
  slots_.assign(cap, Slot{-1, 0});
  hash_collisions_ = false;
  mask_ = cap - 1;
  shift_ = 64 - bits;
  for (const int32_t id : ids) {
    const std::string& p = pieces[static_cast<size_t>(id)];
    const uint64_t h = hash(p);
    for (size_t i = h >> shift_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.id < 0) {
        slot = Slot{id, h};
        break;
      }
      if (slot.hash == h) {
        if (pieces[static_cast<size_t>(slot.id)] == p) break;  // first listed wins
        hash_collisions_ = true;
      }
    }
  }
}

}  // namespace gs::runtime
