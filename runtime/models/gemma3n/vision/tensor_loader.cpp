#include "runtime/models/gemma3n/vision/tensor_loader.h"

namespace gs::runtime::gemma3n::vision {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

Expected<std::vector<float>> TensorLoader::get(const std::string& name, const std::vector<int64_t>& shape) {
  const TensorRef* t = store_.find(prefix_ + name);
  if (!t) return make_error(ErrorCode::kNotFound, "vision weights: missing tensor " + prefix_ + name);
  if (t->shape != shape)
    return make_error(ErrorCode::kCorruptFile, "vision weights: " + prefix_ + name + " has shape " +
                                                   shape_str(t->shape) + ", expected " + shape_str(shape));
  params_ += t->numel();
  return t->to_f32();
}

OwnedWeight TensorLoader::matrix(const float* data, int64_t rows, int64_t cols) {
  OwnedWeight w = OwnedWeight::from_f32(data, rows, cols, format_);
  note_matrix(w);
  return w;
}

std::vector<int64_t> TensorLoader::shape_of(const std::string& name) const {
  const TensorRef* t = store_.find(prefix_ + name);
  return t ? t->shape : std::vector<int64_t>{};
}

}  // namespace gs::runtime::gemma3n::vision
