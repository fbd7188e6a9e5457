// Byte-pair merging over token ids: a merge-rank hash table and the merge loop.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace gs::runtime::bpe {

// (left id, right id) -> (rank, merged id), open addressing keyed by the packed id pair.
// std::unordered_map costs ~3x more per lookup here, and lookups are the inner loop of encode.
class MergeTable {
 public:
  void reserve(size_t n);
  // Keeps the first (lowest-rank) entry when a pair is listed twice, as the reference does.
  void insert(int32_t left, int32_t right, int32_t rank, int32_t merged);
  bool find(int32_t left, int32_t right, int32_t& rank, int32_t& merged) const {
    if (slots_.empty()) return false;
    const uint64_t key = pack(left, right);
    for (size_t i = hash(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        rank = s.rank;
        merged = s.merged;
        return true;
      }
      if (s.key == kEmpty) return false;
    }
  }
  size_t size() const { return size_; }
  void prefetch(int32_t left, int32_t right) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash(pack(left, right))]);
  }

 private:
  struct Slot {
    uint64_t key;
    int32_t rank;
    int32_t merged;
  };
  static constexpr uint64_t kEmpty = ~0ULL;
  static uint64_t pack(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  size_t hash(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_); }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Reusable buffers for merge(), so that encoding many words does not allocate per word.
struct Scratch {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    int32_t alive;
  };
  std::vector<Symbol> symbols;
  std::vector<uint64_t> heap;  // (rank << 32) | position of the left symbol, min-heap
};

// Applies merges to `ids` (one pre-token, already mapped to initial symbols) in the reference
// order: always the lowest-rank pair, and among equal ranks the leftmost. Appends the result.
void merge(const MergeTable& table, std::span<const int32_t> ids, Scratch& scratch,
           std::vector<int32_t>& out);

}  // namespace gs::runtime::bpe
