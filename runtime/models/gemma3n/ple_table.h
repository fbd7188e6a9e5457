// The per-layer-embedding table [vocab_per_layer, L*P] (about 2 G parameters in E2B). It stays
// memory-mapped: a token reads only its own row, through a bounded cache of hot rows (frequent
// tokens repeat). After a row is copied into the cache its pages are dropped from our mapping,
// so the table's resident bytes stay at the cache's size whatever the vocabulary seen.
// `resident` mode copies the whole table into RAM instead (for comparison benchmarks).
#pragma once
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n {

struct PleOptions {
  size_t cache_bytes = size_t{64} << 20;  // bound on cached rows
  bool resident = false;                  // copy the whole table into RAM
};

struct PleStats {
  int64_t hits = 0, misses = 0;
  size_t cached_bytes = 0, mapped_bytes = 0, resident_bytes = 0;
};

class PleTable {
 public:
  PleTable(const TensorRef& t, int num_layers, int dim, const PleOptions& opt = {});
  int64_t vocab() const { return vocab_; }
  // dst[L*P] = row(token) widened to float32; token must be < vocab(). Thread-safe.
  void read_row(int32_t token, float* dst);
  // dst[P] = row(token)[slot*P : (slot+1)*P] (tests, tools).
  void read(int32_t token, int slot, float* dst);
  // Asks the kernel to start reading the rows of upcoming tokens.
  void prefetch(std::span<const int32_t> tokens) const;
  PleStats stats() const;
  size_t mapped_bytes() const { return t_.nbytes; }
  // Bytes this table holds in our memory: the cached rows (or the whole table in resident mode).
  size_t resident_bytes() const;
  // Bytes of the mapped table present in the page cache (mincore; shared with other processes).
  size_t page_cache_bytes() const { return t_.resident_bytes(); }
  const TensorRef& tensor() const { return t_; }

 private:
  const uint8_t* cached_row(int32_t token);  // caller holds mu_
  TensorRef t_;
  int64_t vocab_ = 0;
  int num_layers_ = 0, dim_ = 0;
  size_t row_bytes_ = 0;
  PleOptions opt_;
  std::vector<uint8_t> all_;               // resident mode
  // CLOCK cache of rows.
  mutable std::mutex mu_;
  std::vector<uint8_t> slots_;             // [capacity, row_bytes]
  std::vector<int32_t> slot_token_;        // -1: free
  std::vector<uint8_t> referenced_;
  std::unordered_map<int32_t, int32_t> index_;
  size_t hand_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

}  // namespace gs::runtime::gemma3n
