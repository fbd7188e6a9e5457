// Piece string -> id lookup over the tokenizer's own piece storage: an open-addressing table of
// (id, 64-bit hash), so building it for 262k pieces allocates one array instead of 262k map
// nodes, and lookups by string_view need no temporary std::string (both on the load hot path).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gs::runtime {

class PieceIndex {
 public:
  // Indexes pieces[ids[k]] for the given ids in order; the first id listed for a string wins.
  // Keeps a pointer to `pieces`, which must outlive the index (it may grow, not shrink).
  void build(const std::vector<std::string>& pieces, const std::vector<int32_t>& ids);

  int32_t find(std::string_view s) const { return lookup(s, hash(s), true); }
  // For keys the caller knows are present (loading merges): when no two indexed pieces share a
  // 64-bit hash (checked by build), a hash match identifies the piece without comparing the
  // strings, which saves a cache miss per lookup on 1.5M lookups.
  int32_t find_present(std::string_view s, uint64_t h) const { return lookup(s, h, hash_collisions_); }
  // For batched lookups: hash first, prefetch the slot, look up later.
  static uint64_t hash(std::string_view s);
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h >> shift_]);
  }

 private:
  struct Slot {
    int32_t id;
    uint64_t hash;
  };
  int32_t lookup(std::string_view s, uint64_t h, bool compare) const {
    if (slots_.empty()) return -1;
    for (size_t i = h >> shift_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id < 0) return -1;
      if (slot.hash == h && (!compare || (*pieces_)[static_cast<size_t>(slot.id)] == s)) return slot.id;
    }
  }

  const std::vector<std::string>* pieces_ = nullptr;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  bool hash_collisions_ = false;
};

}  // namespace gs::runtime
