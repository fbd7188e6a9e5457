#include "runtime/models/gemma3n/ple_table.h"

namespace gs::runtime::gemma3n {

PleTable::PleTable(const TensorRef& t, int num_layers, int dim) : t_(t), num_layers_(num_layers), dim_(dim) {
  vocab_ = t.shape.empty() ? 0 : t.shape[0];
  if (t.file) t.file->advise_random(t.file_offset, t.nbytes);
}

void PleTable::read(int32_t token, int slot, float* dst) const {
  t_.rows_to_f32(token, 1, static_cast<int64_t>(slot) * dim_, dim_, dst);
}

}  // namespace gs::runtime::gemma3n
