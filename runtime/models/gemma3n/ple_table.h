// The per-layer-embedding table [vocab_per_layer, L*P], left memory-mapped: each token reads only
// its own row, widened to float32 on demand. Never copied whole into RAM.
#pragma once
#include <cstdint>
#include <span>

#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n {

class PleTable {
 public:
  PleTable(const TensorRef& t, int num_layers, int dim);
  int64_t vocab() const { return vocab_; }
  // dst[P] = row(token)[slot*P : (slot+1)*P]; token must be < vocab().
  void read(int32_t token, int slot, float* dst) const;
  size_t mapped_bytes() const { return t_.nbytes; }
  size_t resident_bytes() const { return t_.resident_bytes(); }
  const TensorRef& tensor() const { return t_; }

 private:
  TensorRef t_;
  int64_t vocab_ = 0;
  int num_layers_ = 0, dim_ = 0;
};

}  // namespace gs::runtime::gemma3n
